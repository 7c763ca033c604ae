import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD, FrameReader, PROTOCOL_HEADER, writeFrame } from './frame.js';
import { decodeContentHeader, encodeContentHeader, encodeMethod, fieldString, tableGet } from './methods.js';
import { AmqpListener, policyOf } from './listener.js';

/** A fake broker: records what each connection sent and echoes a fixed reply back. */
async function fakeBroker(reply: Buffer): Promise<{ port: number; received: Buffer[]; server: net.Server }> {
  const received: Buffer[] = [];
  const server = net.createServer((s) => {
    const i = received.push(Buffer.alloc(0)) - 1;
    s.on('data', (c: Buffer) => {
      received[i] = Buffer.concat([received[i] ?? Buffer.alloc(0), c]);
      if (reply.length > 0) s.write(reply);
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, received, server };
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

const closed = (s: net.Socket): Promise<void> => new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('AmqpListener (fake broker)', () => {
  const deliver = writeFrame(FRAME_BODY, 1, Buffer.from('from-broker'));
  let broker: Awaited<ReturnType<typeof fakeBroker>>;
  let listener: AmqpListener;

  before(async () => {
    broker = await fakeBroker(deliver);
    listener = new AmqpListener({
      name: 'amqp-test',
      address: '127.0.0.1',
      port: 0,
      upstream: { address: '127.0.0.1', port: broker.port },
      policy: () => policyOf({ port: 0, address: '', upstream: { address: '', port: 0 }, priorities: { 'latency-sensitive': 9, default: 4, bulk: 0 } }),
      currentClass: () => 'bulk',
    });
    await listener.listen();
  });
  after(() => {
    listener.destroy();
    broker.server.close();
  });

  test('publish headers are rewritten on the way up; broker bytes come back unchanged', async () => {
    const s = await connect(listener.port());
    const back: Buffer[] = [];
    s.on('data', (c: Buffer) => back.push(c));
    const publish = writeFrame(FRAME_METHOD, 1, encodeMethod({ kind: 'basic.publish', args: { exchange: '', routingKey: 'q', mandatory: false, immediate: false } }));
    const header = writeFrame(FRAME_HEADER, 1, encodeContentHeader({ classId: 60, weight: 0, bodySize: 2n, properties: {} }));
    const body = writeFrame(FRAME_BODY, 1, Buffer.from('hi'));
    s.write(Buffer.concat([PROTOCOL_HEADER, publish, header.subarray(0, 5)]));
    s.write(Buffer.concat([header.subarray(5), body]));
    const idx = broker.received.length;
    await waitUntil(() => Buffer.concat(back).length >= deliver.length && (broker.received.at(-1)?.length ?? 0) >= 8 + publish.length + body.length + header.length);
    const up = new FrameReader({ expectProtocolHeader: true }).push(broker.received[Math.max(0, idx - 1)] ?? Buffer.alloc(0));
    const fs = up.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
    assert.equal(fs.length, 3);
    const h = decodeContentHeader(fs[1]?.payload ?? Buffer.alloc(0));
    assert.equal(h.properties.priority, 0);
    assert.equal(fieldString(tableGet(h.properties.headers, 'x-strata-priority')), 'bulk');
    assert.deepEqual(fs[2]?.raw, body);
    assert.deepEqual(Buffer.concat(back).subarray(0, deliver.length), deliver);
    s.destroy();
  });

  test('garbage closes that connection only; the listener keeps serving', async () => {
    const good = await connect(listener.port());
    good.write(PROTOCOL_HEADER);
    const bad = await connect(listener.port());
    bad.on('error', () => undefined);
    bad.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed(bad);
    assert.equal(good.destroyed, false);
    const got: Buffer[] = [];
    good.on('data', (c: Buffer) => got.push(c));
    good.write(writeFrame(8, 0, Buffer.alloc(0)));
    await waitUntil(() => got.length > 0);
    good.destroy();
  });

  test('fuzz: random bytes on many connections never take the listener down', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 200 }), async (hdr, bytes) => {
        const s = await connect(listener.port());
        s.on('error', () => undefined);
        s.end(Buffer.concat([hdr ? PROTOCOL_HEADER : Buffer.alloc(0), Buffer.from(bytes)]));
        s.resume();
        await closed(s);
      }),
      { numRuns: 40 },
    );
    const s = await connect(listener.port());
    s.write(PROTOCOL_HEADER);
    await waitUntil(() => broker.received.at(-1)?.equals(PROTOCOL_HEADER) === true);
    s.destroy();
  });
});

async function waitUntil(fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
