import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { forwardRequestHeaders, forwardResponseHeaders, hostOnly, splitAbsoluteForm } from './headers.js';

test('hop-by-hop and Connection-named headers are dropped; te: trailers survives', () => {
  const out = forwardRequestHeaders({
    host: 'a',
    connection: 'keep-alive, x-private',
    'keep-alive': 'timeout=5',
    'x-private': 'secret',
    'proxy-connection': 'keep-alive',
    'transfer-encoding': 'chunked',
    upgrade: 'h2c',
    te: 'trailers, deflate',
    'x-kept': 'yes',
    ':path': '/p',
  });
  assert.deepEqual(out, { 'x-kept': 'yes', te: 'trailers' });
});

test('the usual Connection values need no parsing and drop nothing else', () => {
  for (const c of ['keep-alive', 'close', 'Keep-Alive', 'upgrade']) {
    assert.deepEqual(forwardRequestHeaders({ connection: c, 'x-a': '1' }), { 'x-a': '1' });
  }
});

test('response headers lose :status and hop-by-hop ones', () => {
  assert.deepEqual(forwardResponseHeaders({ ':status': '200', 'content-type': 't', connection: 'close', 'transfer-encoding': 'chunked' }), { 'content-type': 't' });
});

test('hostOnly and absolute-form parsing', () => {
  assert.equal(hostOnly('Web.Example:8080'), 'web.example');
  assert.equal(hostOnly('[::1]:80'), '[::1]');
  assert.deepEqual(splitAbsoluteForm('http://svc:80/a?b'), { authority: 'svc:80', path: '/a?b' });
  assert.deepEqual(splitAbsoluteForm('http://svc'), { authority: 'svc', path: '/' });
  assert.deepEqual(splitAbsoluteForm('http://svc?q=1'), { authority: 'svc', path: '/?q=1' });
  assert.equal(splitAbsoluteForm('ftp://svc/'), undefined);
});

test('header copying never throws on arbitrary header maps', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.array(fc.string()))), (h) => {
      forwardRequestHeaders(h);
      forwardResponseHeaders(h);
    }),
  );
});
