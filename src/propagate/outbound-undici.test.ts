import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contextStorage, extractContext } from './context.js';
import { addContextHeaders } from './outbound-undici.js';

const ctx = extractContext({ 'x-strata-priority': 'high', baggage: 'strata.priority=high' });

test('undici ≥ 6 header arrays: added, the app’s kept, baggage merged in place of the app’s', () => {
  const req = { headers: ['accept', '*/*', 'baggage', 'mine=1'] as unknown[] };
  contextStorage.run(ctx, () => addContextHeaders(req));
  assert.deepEqual(req.headers, ['accept', '*/*', 'x-strata-priority', 'high', 'baggage', 'mine=1,strata.priority=high']);
});

test('undici 5 header strings', () => {
  const req = { headers: 'x-strata-priority: low\r\n' as unknown };
  contextStorage.run(ctx, () => addContextHeaders(req));
  assert.equal(req.headers, 'x-strata-priority: low\r\nbaggage: strata.priority=low\r\n');
});

test('outside a request context nothing changes', () => {
  const req = { headers: ['accept', '*/*'] as unknown[] };
  addContextHeaders(req);
  assert.deepEqual(req.headers, ['accept', '*/*']);
});
