import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAGGAGE_MAX_BYTES, parseBaggage } from './baggage.js';
import { classFromHeaders, contextStorage, currentContext, extractContext, headerGetter, isValidTraceparent, outboundHeaders } from './context.js';
import type { PropagationContext } from './context.js';

const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const TP2 = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';

const app = (h: Record<string, string>) => headerGetter(h);
const plan = (ctx: PropagationContext, h: Record<string, string> = {}) => Object.fromEntries(outboundHeaders(ctx, app(h)));

test('classFromHeaders: x-strata-priority first, then baggage strata.priority; invalid names ignored', () => {
  assert.equal(classFromHeaders({ 'x-strata-priority': 'high', baggage: 'strata.priority=low' }), 'high');
  assert.equal(classFromHeaders({ baggage: 'user=a, strata.priority=low;p' }), 'low');
  assert.equal(classFromHeaders({ 'X-Strata-Priority': 'Bad Name!', baggage: 'strata.priority=low' }), 'low');
  assert.equal(classFromHeaders({ 'x-strata-priority': ' High ' }), 'high', 'lower-cased as the sidecar reads it');
  assert.equal(classFromHeaders({ baggage: ['a=1', 'strata.priority=batch'] }), 'batch');
  assert.equal(classFromHeaders(new Headers({ baggage: 'strata.priority=web' })), 'web');
  assert.equal(classFromHeaders({ 'x-strata-priority': 'x'.repeat(64) }), undefined);
  assert.equal(classFromHeaders({}), undefined);
});

test('traceparent validation follows W3C Trace Context', () => {
  assert.ok(isValidTraceparent(TP));
  assert.ok(isValidTraceparent('01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra'));
  assert.ok(!isValidTraceparent(TP + '-extra'), 'version 00 has exactly four fields');
  assert.ok(!isValidTraceparent(TP.toUpperCase()));
  assert.ok(!isValidTraceparent('ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'));
  assert.ok(!isValidTraceparent('00-00000000000000000000000000000000-b7ad6b7169203331-01'));
  assert.ok(!isValidTraceparent('00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01'));
  assert.ok(!isValidTraceparent(`${TP}, ${TP2}`), 'two traceparent headers joined are invalid');
});

test('extract: valid values of the propagated headers; tracestate only with a valid traceparent; baggage deduplicated', () => {
  const ctx = extractContext({ 'x-strata-priority': 'high', traceparent: TP, tracestate: 'a=b', baggage: 'u=1, u=2,,v=3', other: 'x' });
  assert.deepEqual(ctx, { priority: 'high', headers: { 'x-strata-priority': 'high', traceparent: TP, tracestate: 'a=b', baggage: 'u=1,v=3' } });
  assert.deepEqual(extractContext({ traceparent: 'garbage', tracestate: 'a=b' }), { headers: {} });
  assert.deepEqual(extractContext({ baggage: 'strata.priority=low' }), { priority: 'low', headers: { 'x-strata-priority': 'low', baggage: 'strata.priority=low' } });
  assert.deepEqual(extractContext({ 'x-strata-priority': 'NOT VALID' }), { headers: {} });
});

test('outbound: nothing set by the app → the inbound headers exactly, the class in both forms', () => {
  const inbound = { 'x-strata-priority': 'high', traceparent: TP, tracestate: 'a=b', baggage: 'u=1,strata.priority=high,v=2' };
  assert.deepEqual(plan(extractContext(inbound)), inbound);
  assert.deepEqual(plan(extractContext({ 'x-strata-priority': 'high' })), { 'x-strata-priority': 'high', baggage: 'strata.priority=high' });
  assert.deepEqual(plan(extractContext({ baggage: 'strata.priority=low,u=1' })), { 'x-strata-priority': 'low', baggage: 'strata.priority=low,u=1' });
  assert.deepEqual(plan(extractContext({ 'x-strata-priority': 'high', baggage: 'u=1,strata.priority=low' })), {
    'x-strata-priority': 'high',
    baggage: 'u=1,strata.priority=high',
  }, 'the header wins and the baggage agrees with it');
  assert.deepEqual(plan(extractContext({})), {});
});

test('outbound: the app’s own values are kept; baggage merged with the inbound members it lacks', () => {
  const ctx = extractContext({ 'x-strata-priority': 'high', traceparent: TP, tracestate: 'a=b', baggage: 'strata.priority=high,u=1,tenant=t' });
  assert.deepEqual(plan(ctx, { baggage: 'mine=1,u=9' }), {
    'x-strata-priority': 'high',
    traceparent: TP,
    tracestate: 'a=b',
    baggage: 'mine=1,u=9,strata.priority=high,tenant=t',
  });
  assert.deepEqual(plan(ctx, { 'X-Strata-Priority': 'low', Baggage: 'mine=1' }), {
    traceparent: TP,
    tracestate: 'a=b',
    baggage: 'mine=1,strata.priority=low,u=1,tenant=t',
  }, 'the app’s explicit class goes into the baggage too');
  assert.deepEqual(plan(ctx, { baggage: 'strata.priority=batch' }), {
    'x-strata-priority': 'batch',
    traceparent: TP,
    tracestate: 'a=b',
    baggage: 'strata.priority=batch,u=1,tenant=t',
  }, 'a class set only in the app’s baggage is the class of the request');
  assert.deepEqual(plan(ctx, { traceparent: TP2 }), { 'x-strata-priority': 'high', baggage: 'strata.priority=high,u=1,tenant=t' }, 'another trace: neither traceparent nor tracestate of ours');
  const childSpan = TP.replace('b7ad6b7169203331', '00f067aa0ba902b7');
  assert.deepEqual(plan(ctx, { traceparent: childSpan }), { 'x-strata-priority': 'high', tracestate: 'a=b', baggage: 'strata.priority=high,u=1,tenant=t' }, 'the same trace: its tracestate');
  assert.deepEqual(plan(ctx, { tracestate: 'mine=1' }), { 'x-strata-priority': 'high', traceparent: TP, baggage: 'strata.priority=high,u=1,tenant=t' });
  assert.deepEqual(plan(ctx, { 'x-strata-priority': 'high', traceparent: TP, tracestate: 'a=b', baggage: 'strata.priority=high,u=1,tenant=t' }), {}, 'an app that forwards by hand gets nothing added');
});

test('outbound: over the W3C baggage limits ours are dropped, the class kept first if anything fits', () => {
  const ctx = extractContext({ 'x-strata-priority': 'high', baggage: `big=${'x'.repeat(4000)},strata.priority=high` });
  const out = plan(ctx, { baggage: `app=${'y'.repeat(BAGGAGE_MAX_BYTES - 3000)}` });
  const members = parseBaggage(out.baggage);
  assert.deepEqual(members.map((m) => m.key), ['app', 'strata.priority']);
  assert.ok(Buffer.byteLength(out.baggage ?? '') <= BAGGAGE_MAX_BYTES);
  // Room for big or for the class, not both: the class is taken first.
  const tight = plan(ctx, { baggage: `app=${'y'.repeat(4176)}` });
  assert.deepEqual(parseBaggage(tight.baggage).map((m) => m.key), ['app', 'strata.priority']);
});

test('the storage holds a context per async chain', async () => {
  const a = extractContext({ 'x-strata-priority': 'a' });
  const b = extractContext({ 'x-strata-priority': 'b' });
  const seen = await Promise.all([
    contextStorage.run(a, async () => {
      await new Promise((r) => setTimeout(r, 10));
      return currentContext()?.priority;
    }),
    contextStorage.run(b, async () => {
      await new Promise((r) => setImmediate(r));
      return currentContext()?.priority;
    }),
  ]);
  assert.deepEqual(seen, ['a', 'b']);
  assert.equal(currentContext(), undefined);
});
