import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractContext } from './context.js';
import { argsWithContext, withHeaders } from './outbound-http.js';

const ctx = extractContext({ 'x-strata-priority': 'high', baggage: 'strata.priority=high,u=1' });
const OURS = { 'x-strata-priority': 'high', baggage: 'strata.priority=high,u=1' };
const cb = (): void => undefined;

test('every call form gets the headers in its options; the app’s objects are not touched', () => {
  const url = new URL('http://example.test/x');
  assert.deepEqual(argsWithContext(['http://example.test/x'], ctx), ['http://example.test/x', { headers: OURS }]);
  assert.deepEqual(argsWithContext([url, cb], ctx), [url, { headers: OURS }, cb]);
  const opts = { host: 'h', headers: { Accept: 'x' } };
  const out = argsWithContext([opts, cb], ctx);
  assert.deepEqual(out, [{ host: 'h', headers: { Accept: 'x', ...OURS } }, cb]);
  assert.deepEqual(opts, { host: 'h', headers: { Accept: 'x' } });
  assert.deepEqual(argsWithContext(['http://example.test/x', { method: 'POST' }, cb], ctx), ['http://example.test/x', { method: 'POST', headers: OURS }, cb]);
});

test('the app’s explicit headers win; baggage is merged under the app’s own name', () => {
  const out = argsWithContext([{ headers: { 'X-Strata-Priority': 'low', Baggage: 'mine=1' } }], ctx);
  assert.deepEqual(out, [{ headers: { 'X-Strata-Priority': 'low', baggage: 'mine=1,strata.priority=low,u=1' } }]);
});

test('raw header arrays are extended, not replaced', () => {
  assert.deepEqual(withHeaders(['Host', 'h', 'baggage', 'a=1'], new Map([['baggage', 'a=1,b=2'], ['x-strata-priority', 'high']])), [
    'Host',
    'h',
    'baggage',
    'a=1,b=2',
    'x-strata-priority',
    'high',
  ]);
});

test('nothing to add → the same arguments', () => {
  const args = [{ headers: { ...OURS } }];
  assert.equal(argsWithContext(args, ctx), args);
  const odd = [42];
  assert.equal(argsWithContext(odd, ctx), odd);
});
