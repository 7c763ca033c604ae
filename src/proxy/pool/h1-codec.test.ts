import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { FRAMING_CHUNKED, FRAMING_LENGTH, FRAMING_NONE, encodeRequestHead } from './h1-codec.js';
import type { EncodedHead } from './h1-codec.js';
import type { UpstreamRequest } from './upstream.js';

function encode(over: Partial<UpstreamRequest> & { headers?: OutgoingHttpHeaders }): EncodedHead {
  return encodeRequestHead({ method: 'GET', path: '/', authority: 'svc.local', headers: {}, endStream: true, ...over });
}

function ok(e: EncodedHead): { head: string; framing: number; length: number } {
  if (!e.ok) throw e.error;
  return e;
}

test('request line, host from the authority, headers in order; bodyless GET has no content-length', () => {
  const e = ok(encode({ path: '/a?b=c', headers: { 'x-one': '1', 'x-num': 42, 'x-list': ['a', 'b'], 'x-skip': undefined } }));
  assert.equal(e.head, 'GET /a?b=c HTTP/1.1\r\nhost: svc.local\r\nx-one: 1\r\nx-num: 42\r\nx-list: a\r\nx-list: b\r\n\r\n');
  assert.equal(e.framing, FRAMING_NONE);
});

test('host, connection and transfer-encoding from the caller are replaced by the pool', () => {
  const e = ok(encode({ headers: { host: 'other', Connection: 'close', 'transfer-encoding': 'chunked', 'x-a': 'b' } }));
  assert.equal(e.head, 'GET / HTTP/1.1\r\nhost: svc.local\r\nx-a: b\r\n\r\n');
});

test('bodyless methods that usually carry a body get content-length: 0 (as node:http)', () => {
  assert.match(ok(encode({ method: 'POST' })).head, /\r\ncontent-length: 0\r\n\r\n$/);
  assert.match(ok(encode({ method: 'PUT', headers: { 'content-length': '0' } })).head, /^PUT \/ HTTP\/1.1\r\nhost: svc.local\r\ncontent-length: 0\r\n\r\n$/);
  for (const method of ['GET', 'HEAD', 'DELETE', 'OPTIONS']) assert.doesNotMatch(ok(encode({ method })).head, /content-length/);
});

test('a body with a declared length is sent raw; otherwise chunked', () => {
  const cl = ok(encode({ method: 'POST', endStream: false, headers: { 'content-length': '11' } }));
  assert.equal(cl.framing, FRAMING_LENGTH);
  assert.equal(cl.length, 11);
  assert.doesNotMatch(cl.head, /transfer-encoding/);
  const numeric = ok(encode({ method: 'POST', endStream: false, headers: { 'content-length': 7 } }));
  assert.equal(numeric.length, 7);
  const chunked = ok(encode({ method: 'POST', endStream: false }));
  assert.equal(chunked.framing, FRAMING_CHUNKED);
  assert.match(chunked.head, /\r\ntransfer-encoding: chunked\r\n\r\n$/);
});

test('expect: 100-continue is written once when asked for', () => {
  const e = ok(encode({ method: 'POST', endStream: false, expectContinue: true, headers: { expect: '100-continue', 'content-length': '3' } }));
  assert.equal(e.head.match(/expect: 100-continue/g)?.length, 1);
  // Without expectContinue a caller's Expect header passes as any other.
  assert.match(ok(encode({ headers: { expect: 'something' } })).head, /\r\nexpect: something\r\n/);
});

test('anything that could split the message is refused', () => {
  const cases: [Partial<UpstreamRequest>, RegExp][] = [
    [{ method: 'GE T' }, /method/],
    [{ method: 'GET\r\n' }, /method/],
    [{ method: '' }, /method/],
    [{ path: '/a b' }, /request target/],
    [{ path: '/a\r\nx-injected: 1' }, /request target/],
    [{ path: '/a\x00' }, /request target/],
    [{ path: '' }, /request target/],
    [{ authority: 'a\r\nb' }, /host/],
    [{ headers: { 'x-a': 'v\r\nx-injected: 1' } }, /value of header x-a/],
    [{ headers: { 'x-a': 'v\nx' } }, /value of header x-a/],
    [{ headers: { 'x-a': 'v\x00' } }, /value of header x-a/],
    [{ headers: { 'x-a': ['ok', 'bad\r'] } }, /value of header x-a/],
    [{ headers: { 'x-a': 'caf\u00e9 \u2603' } }, /value of header x-a/],
    [{ headers: { 'x a': 'v' } }, /header name/],
    [{ headers: { 'x-a\r\n': 'v' } }, /header name/],
    [{ headers: { '': 'v' } }, /header name/],
    [{ headers: { 'content-length': '1e3' }, endStream: false }, /content-length/],
    [{ headers: { 'content-length': ['1', '2'] } as unknown as OutgoingHttpHeaders, endStream: false }, /content-length/],
  ];
  for (const [over, why] of cases) {
    const e = encode(over);
    assert.equal(e.ok, false, JSON.stringify(over));
    if (!e.ok) {
      assert.equal(e.error.code, 'STRATA_H1_INVALID_REQUEST');
      assert.match(e.error.message, why, JSON.stringify(over));
    }
  }
});

test('obs-text (latin1) in values is allowed, as node:http allows it', () => {
  assert.match(ok(encode({ headers: { 'x-a': 'caf\u00e9' } })).head, /x-a: caf\u00e9\r\n/);
});
