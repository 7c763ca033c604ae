import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FilterCallbacks, HttpFilter, RequestHead, ResponseHead } from './filter.js';
import { runFilterConformance } from './conformance.js';
import { registerBuiltinFilters } from './index.js';
import type { HeaderMutationConfig } from './header-mutation.js';
import { headerMutationFilter } from './header-mutation.js';

registerBuiltinFilters();

runFilterConformance(
  'header-mutation',
  {
    request: { set: { 'x-api-version': '2' }, add: { 'x-tag': 'a' }, remove: ['x-debug'] },
    response: { add: { 'x-served-by': 'strata' }, set: { 'cache-control': 'no-store' }, remove: ['server'] },
  },
  [
    { config: { request: 'x' }, path: 'request' },
    { config: { response: { set: [] } }, path: 'response.set' },
    { config: { request: { bogus: {} } }, path: 'request.bogus' },
    { config: { request: { set: { 'bad name': 'v' } } }, path: 'request.set["bad name"]' },
    { config: { request: { set: { ':path': '/x' } } }, path: 'request.set[":path"]' },
    { config: { request: { set: { host: 'evil' } } }, path: 'request.set.host' },
    { config: { response: { add: { 'Transfer-Encoding': 'chunked' } } }, path: 'response.add.Transfer-Encoding' },
    { config: { request: { set: { 'x-a': 'one\r\nx-b: two' } } }, path: 'request.set.x-a' },
    { config: { request: { add: { 'x-a': 2 } } }, path: 'request.add.x-a' },
    { config: { request: { remove: 'x-a' } }, path: 'request.remove' },
    { config: { request: { remove: ['x-a', 7] } }, path: 'request.remove[1]' },
    { config: { request: { set: { 'x-a': '1' }, remove: ['X-A'] } }, path: 'request.remove[0]' },
    { config: { request: { set: { 'X-A': '1', 'x-a': '2' } } }, path: 'request.set' },
  ],
);

function decode(raw: unknown): HeaderMutationConfig {
  const r = headerMutationFilter.decode(raw, 'f');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  return r.value;
}

function errorsOf(raw: unknown): { path: string; message: string }[] {
  const r = headerMutationFilter.decode(raw, 'f');
  assert.ok(!r.ok, 'expected a decode error');
  return r.errors;
}

function filterFor(raw: unknown): HttpFilter {
  return headerMutationFilter.build(decode(raw))();
}

const cb: FilterCallbacks = {
  respond: () => assert.fail('header-mutation never replies locally'),
  resume: () => assert.fail('header-mutation never pauses'),
  now: () => 0,
  routeName: 'r',
  serviceName: 's',
};

function request(headers: RequestHead['headers']): RequestHead {
  return { method: 'GET', authority: 'svc', path: '/', headers };
}

function response(headers: ResponseHead['headers']): ResponseHead {
  return { status: 200, headers };
}

test('request side: set replaces, add appends, remove deletes', () => {
  const f = filterFor({
    request: { set: { 'X-Api-Version': '2' }, add: { 'x-tag': 'b', 'x-new': 'n' }, remove: ['X-Debug'] },
  });
  const req = request({ 'x-api-version': '1', 'x-tag': 'a', 'x-debug': 'on', accept: '*/*' });
  assert.equal(f.onRequestHeaders?.(req, cb), 'continue');
  assert.deepEqual(req.headers, { 'x-api-version': '2', 'x-tag': ['a', 'b'], 'x-new': 'n', accept: '*/*' });
  assert.equal(f.onResponseHeaders, undefined, 'no response operations, no response hook');
});

test('response side: set replaces, add appends to arrays, remove deletes', () => {
  const f = filterFor({
    response: { set: { 'cache-control': 'no-store' }, add: { 'set-cookie': 'c=3' }, remove: ['server'] },
  });
  const res = response({ 'cache-control': 'max-age=60', 'set-cookie': ['a=1', 'b=2'], server: 'nginx' });
  f.onResponseHeaders?.(res, request({}));
  assert.deepEqual(res.headers, { 'cache-control': 'no-store', 'set-cookie': ['a=1', 'b=2', 'c=3'] });
  assert.equal(f.onRequestHeaders, undefined, 'no request operations, no request hook');
});

test('set and add of the same name yield both values, set first', () => {
  const f = filterFor({ request: { set: { 'x-a': '1' }, add: { 'x-a': '2' } } });
  const req = request({ 'x-a': '0' });
  f.onRequestHeaders?.(req, cb);
  assert.deepEqual(req.headers['x-a'], ['1', '2']);
});

test('operations on an absent header: set creates, add creates, remove is a no-op', () => {
  const f = filterFor({ request: { set: { 'x-s': 's' }, add: { 'x-a': 'a' }, remove: ['x-r'] } });
  const req = request({});
  f.onRequestHeaders?.(req, cb);
  assert.deepEqual(req.headers, { 'x-s': 's', 'x-a': 'a' });
});

test('names are lower-cased when decoded', () => {
  const config = decode({ request: { set: { 'X-Upper': 'v' }, remove: ['X-Gone'] }, response: { add: { 'X-Resp': 'r' } } });
  assert.deepEqual(config.request.set, [['x-upper', 'v']]);
  assert.deepEqual(config.request.remove, ['x-gone']);
  assert.deepEqual(config.response.add, [['x-resp', 'r']]);
});

test('streams share one instance; an empty config has no hooks', () => {
  const newStream = headerMutationFilter.build(decode({ request: { set: { 'x-a': '1' } } }));
  assert.equal(newStream(), newStream());
  assert.deepEqual(Object.keys(headerMutationFilter.build(decode({}))()), []);
});

test('refuses pseudo, hop-by-hop, content-length and request host headers on every operation', () => {
  for (const name of [':authority', 'connection', 'Keep-Alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'content-length']) {
    for (const side of ['request', 'response']) {
      for (const op of ['set', 'add']) {
        const errors = errorsOf({ [side]: { [op]: { [name]: 'v' } } });
        assert.equal(errors.length, 1, `${side}.${op} ${name}`);
      }
      assert.equal(errorsOf({ [side]: { remove: [name] } })[0]?.path, `f.${side}.remove[0]`);
    }
  }
  assert.match(errorsOf({ request: { set: { Host: 'x' } } })[0]?.message ?? '', /hostRewrite/);
  assert.ok(headerMutationFilter.decode({ response: { set: { host: 'x' } } }, 'f').ok, 'host is only refused on the request side');
});

test('rejects values with CR, LF, NUL or other bytes Node refuses', () => {
  for (const value of ['a\rb', 'a\nb', 'a\0b', 'a\x01b', 'euro €']) {
    const errors = errorsOf({ response: { set: { 'x-v': value } } });
    assert.equal(errors[0]?.path, 'f.response.set.x-v', JSON.stringify(value));
  }
  assert.ok(headerMutationFilter.decode({ response: { set: { 'x-v': 'tab\there, latin-1 é' } } }, 'f').ok);
});

test('reports every error in one pass', () => {
  const errors = errorsOf({
    request: { set: { 'bad name': 'v', 'x-ok': 1 }, remove: [3] },
    response: { add: { connection: 'close' } },
    extra: true,
  });
  assert.deepEqual(errors.map((e) => e.path).sort(), [
    'f.extra',
    'f.request.remove[0]',
    'f.request.set.x-ok',
    'f.request.set["bad name"]',
    'f.response.add.connection',
  ]);
});

test('a name listed twice in remove is an error, compared case-insensitively', () => {
  const errors = errorsOf({ request: { remove: ['x-a', 'X-A'] } });
  assert.deepEqual(errors.map((e) => e.path), ['f.request.remove[1]']);
});
