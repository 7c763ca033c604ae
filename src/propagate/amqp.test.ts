import assert from 'node:assert/strict';
import { test } from 'node:test';
import { amqpHeaderGetter, patchAmqplibChannel, publishHeaders } from './amqp.js';
import { contextStorage, currentContext, extractContext } from './context.js';

/** A stand-in for amqplib's BaseChannel: records what would go on the wire, delivers by hand. */
class FakeChannel {
  sent: { headers?: Record<string, unknown> }[] = [];
  consumers = new Map<string, (msg: unknown) => unknown>();
  sendMessage(_fields: unknown, properties: { headers?: Record<string, unknown> } | undefined, _content: unknown): boolean {
    this.sent.push({ ...(properties?.headers && { headers: properties.headers }) });
    return true;
  }
  registerConsumer(tag: string, callback: (msg: unknown) => unknown): void {
    this.consumers.set(tag, callback);
  }
}

const ctx = extractContext({
  'x-strata-priority': 'latency-sensitive',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  baggage: 'user=42',
});

test('publishes carry the current request context; the app’s headers win; none outside a request', () => {
  assert.equal(patchAmqplibChannel(FakeChannel as never), true);
  assert.equal(patchAmqplibChannel(FakeChannel as never), false, 'patched once');
  const ch = new FakeChannel();
  ch.sendMessage({}, { headers: { app: 'x' } }, Buffer.from('outside'));
  assert.deepEqual(ch.sent[0], { headers: { app: 'x' } });
  contextStorage.run(ctx, () => {
    ch.sendMessage({}, {}, Buffer.from('a'));
    ch.sendMessage({}, { headers: { 'X-Strata-Priority': 'bulk', baggage: 'tenant=7' } }, Buffer.from('b'));
  });
  const [, a, b] = ch.sent;
  assert.equal(a?.headers?.['x-strata-priority'], 'latency-sensitive');
  assert.equal(a?.headers?.['traceparent'], '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
  assert.match(String(a?.headers?.['baggage']), /strata\.priority=latency-sensitive/);
  assert.equal(b?.headers?.['X-Strata-Priority'], 'bulk', 'an explicit class is kept');
  assert.equal(b?.headers?.['x-strata-priority'], undefined);
  assert.match(String(b?.headers?.['baggage']), /^tenant=7,/, 'the app’s baggage first, ours merged');
  assert.match(String(b?.headers?.['baggage']), /strata\.priority=bulk/);
});

test('a consumer callback runs in the context of the message it was given', async () => {
  patchAmqplibChannel(FakeChannel as never);
  const ch = new FakeChannel();
  const seen: (string | undefined)[] = [];
  ch.registerConsumer('t1', () => {
    seen.push(currentContext()?.priority);
    return new Promise<void>((resolve) => setTimeout(() => (seen.push(currentContext()?.priority), resolve()), 5));
  });
  const deliver = ch.consumers.get('t1')!;
  await Promise.all([
    deliver({ properties: { headers: { 'x-strata-priority': Buffer.from('bulk') } } }),
    deliver({ properties: { headers: { baggage: 'strata.priority=latency-sensitive' } } }),
    deliver({ properties: {} }),
  ]);
  assert.deepEqual(seen.slice(0, 3), ['bulk', 'latency-sensitive', undefined]);
  assert.deepEqual(seen.slice(3).sort(), ['bulk', 'latency-sensitive', undefined].sort());
  const got: unknown[] = [];
  ch.registerConsumer('t2', (msg) => got.push(msg));
  ch.consumers.get('t2')!(null);
  assert.deepEqual(got, [null], 'a cancelled consumer gets null as before');
});

test('AMQP header values of every shape are read; publishHeaders leaves headers alone without a context', () => {
  const get = amqpHeaderGetter({ A: 'x', b: Buffer.from('y'), c: 3, d: { type: 'longstr', value: 'z' }, e: null, f: [1] });
  assert.deepEqual(['a', 'b', 'c', 'd', 'e', 'f'].map(get), ['x', 'y', '3', 'z', undefined, undefined]);
  const h = { k: 'v' };
  assert.equal(publishHeaders(h), h);
  assert.equal(publishHeaders(undefined), undefined);
});

test('publishes through amqplib keep the app’s headers (amqplib passes them as the prototype of what it sends)', () => {
  patchAmqplibChannel(FakeChannel as never);
  const ch = new FakeChannel();
  // What amqplib's Args.publish builds: Object.create(options.headers) plus own CC/BCC entries.
  const built = (appHeaders: Record<string, unknown>): Record<string, unknown> => Object.assign(Object.create(appHeaders) as Record<string, unknown>, { CC: ['a'] });
  contextStorage.run(ctx, () => {
    ch.sendMessage({}, { headers: built({ kind: 'index', 'x-strata-priority': 'bulk' }) }, Buffer.from('a'));
    ch.sendMessage({}, { headers: built({ kind: 'lookup' }) }, Buffer.from('b'));
  });
  const [a, b] = ch.sent;
  assert.equal(a?.headers?.['kind'], 'index');
  assert.deepEqual(a?.headers?.['CC'], ['a']);
  assert.equal(a?.headers?.['x-strata-priority'], 'bulk', 'the app’s inherited class is seen and kept');
  assert.equal(b?.headers?.['kind'], 'lookup');
  assert.equal(b?.headers?.['x-strata-priority'], 'latency-sensitive');
  assert.equal(amqpHeaderGetter(built({ Traceparent: 'x' }))('traceparent'), 'x');
});
