import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_BODY, FRAME_HEADER, FRAME_METHOD, FrameReader, PROTOCOL_HEADER, writeFrame } from './frame.js';
import { decodeContentHeader, decodeMethod, encodeContentHeader, encodeMethod, fieldString, str, tableGet } from './methods.js';
import type { BasicProperties, ContentHeader, FieldTable, Method } from './methods.js';
import { ClientStream, rewritePublishHeader, rewriteQueueDeclare } from './rewrite.js';
import type { AmqpPriorityPolicy } from './rewrite.js';

const policy: AmqpPriorityPolicy = {
  priorities: { 'latency-sensitive': 9, default: 4, bulk: 0 },
  maxPriorityQueues: { pattern: /^prio\./, maxPriority: 10 },
};

const header = (properties: BasicProperties, bodySize = 3n): Buffer => encodeContentHeader({ classId: 60, weight: 0, bodySize, properties });
const publish = (channel: number): Buffer =>
  writeFrame(FRAME_METHOD, channel, encodeMethod({ kind: 'basic.publish', args: { exchange: '', routingKey: 'q', mandatory: false, immediate: false } }));
const declare = (queue: string, args: FieldTable = []): Buffer =>
  writeFrame(FRAME_METHOD, 1, encodeMethod({ kind: 'queue.declare', args: { queue, passive: false, durable: true, exclusive: false, autoDelete: false, noWait: false, arguments: args } }));

/** Parse what the stream sent upstream. */
function sent(out: Buffer[]): { type: number; channel: number; payload: Buffer }[] {
  const r = new FrameReader({ expectProtocolHeader: true });
  return r.push(Buffer.concat(out)).flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
}

function run(stream: ClientStream, ...chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    const r = stream.push(c);
    if (!r.ok) throw new Error(r.error);
    out.push(...r.out);
  }
  return out;
}

describe('publish content header rewrite', () => {
  test('class from the caller: priority set, x-strata-priority added after the app’s own headers', () => {
    const app: FieldTable = [{ name: 'trace', value: str('abc') }, { name: 'n', value: { type: 'l', value: 7n } }];
    const before = header({ contentType: 'text/plain', headers: app, messageId: 'm1' });
    const r = rewritePublishHeader(before, policy, 'latency-sensitive');
    assert.equal(r.cls, 'latency-sensitive');
    assert.equal(r.priority, 9);
    const h = decodeContentHeader(r.payload);
    assert.equal(h.properties.priority, 9);
    assert.equal(h.properties.contentType, 'text/plain');
    assert.equal(h.properties.messageId, 'm1');
    assert.deepEqual(h.properties.headers, [...app, { name: 'x-strata-priority', value: str('latency-sensitive') }]);
    assert.equal(h.bodySize, 3n);
  });

  test('x-strata-priority set by the app is the class, and is left as it is', () => {
    const before = header({ headers: [{ name: 'x-strata-priority', value: str('bulk') }], priority: 8 });
    const r = rewritePublishHeader(before, policy, 'latency-sensitive');
    assert.equal(r.cls, 'bulk');
    const h = decodeContentHeader(r.payload);
    assert.equal(h.properties.priority, 0);
    assert.deepEqual(h.properties.headers, [{ name: 'x-strata-priority', value: str('bulk') }]);
  });

  test('no headers at all: a headers table is created; unknown class → default priority', () => {
    const r = rewritePublishHeader(header({}), policy, 'mystery');
    const h = decodeContentHeader(r.payload);
    assert.equal(h.properties.priority, 4);
    assert.equal(fieldString(tableGet(h.properties.headers, 'x-strata-priority')), 'mystery');
  });
});

describe('queue.declare rewrite', () => {
  const args = (b: Buffer): FieldTable => {
    const m = decodeMethod(b.subarray(7, b.length - 1));
    assert.equal(m.kind, 'queue.declare');
    return m.kind === 'queue.declare' ? m.args.arguments : [];
  };
  test('matching queues get x-max-priority; others, and queues with their own, are untouched', () => {
    const payload = declare('prio.work', [{ name: 'x-queue-type', value: str('classic') }]).subarray(7, -1);
    const next = rewriteQueueDeclare(payload, policy);
    assert.ok(next);
    assert.deepEqual(args(writeFrame(FRAME_METHOD, 1, next)), [
      { name: 'x-queue-type', value: str('classic') },
      { name: 'x-max-priority', value: { type: 'I', value: 10 } },
    ]);
    assert.equal(rewriteQueueDeclare(declare('plain').subarray(7, -1), policy), undefined);
    assert.equal(rewriteQueueDeclare(declare('prio.own', [{ name: 'x-max-priority', value: { type: 'b', value: 3 } }]).subarray(7, -1), policy), undefined);
    assert.equal(rewriteQueueDeclare(declare('prio.x').subarray(7, -1), { priorities: {} }), undefined);
  });
});

describe('ClientStream', () => {
  test('passes everything through, rewrites only publish headers and matching declares; body frames byte-identical', () => {
    let cls: string | undefined = 'latency-sensitive';
    const s = new ClientStream({ policy: () => policy, currentClass: () => cls });
    const tuneOk = writeFrame(FRAME_METHOD, 0, encodeMethod({ kind: 'connection.tune-ok', args: { channelMax: 10, frameMax: 131072, heartbeat: 0 } }));
    const body = writeFrame(FRAME_BODY, 1, Buffer.from('abc'));
    const wire = Buffer.concat([PROTOCOL_HEADER, tuneOk, declare('prio.q'), declare('other'), publish(1), writeFrame(FRAME_HEADER, 1, header({})), body]);
    // Byte by byte: the stream handles any chunking.
    const out = run(s, ...[...wire].map((b) => Buffer.from([b])));
    assert.deepEqual(Buffer.concat(out).subarray(0, 8), PROTOCOL_HEADER);
    const fs = sent(out);
    assert.equal(fs.length, 6);
    assert.deepEqual(fs[0]?.payload, tuneOk.subarray(7, -1));
    const d = decodeMethod(fs[1]?.payload ?? Buffer.alloc(0));
    assert.ok(d.kind === 'queue.declare' && tableGet(d.args.arguments, 'x-max-priority'));
    assert.deepEqual(fs[2]?.payload, declare('other').subarray(7, -1));
    const h = decodeContentHeader(fs[4]?.payload ?? Buffer.alloc(0));
    assert.equal(h.properties.priority, 9);
    assert.deepEqual(Buffer.concat(out).subarray(-body.length), body);
    assert.equal(s.publishes, 1);
    assert.equal(s.declares, 1);
    // The class is taken when the publish is seen; nothing known → default.
    cls = undefined;
    const out2 = run(s, publish(2), writeFrame(FRAME_HEADER, 2, header({})));
    assert.equal(decodeContentHeader(sent([PROTOCOL_HEADER, ...out2])[1]?.payload ?? Buffer.alloc(0)).properties.priority, 4);
  });

  test('publishes on interleaved channels each get their own class', () => {
    const s = new ClientStream({ policy: () => policy, currentClass: () => 'bulk' });
    const out = run(
      s,
      PROTOCOL_HEADER,
      publish(1),
      publish(2),
      writeFrame(FRAME_HEADER, 2, header({ headers: [{ name: 'x-strata-priority', value: str('latency-sensitive') }] })),
      writeFrame(FRAME_HEADER, 1, header({})),
    );
    const fs = sent(out);
    const prio = (i: number): number | undefined => decodeContentHeader(fs[i]?.payload ?? Buffer.alloc(0)).properties.priority;
    assert.equal(prio(2), 9);
    assert.equal(prio(3), 0);
  });

  test('a method where a publish’s content header belongs closes the connection; later pushes keep failing', () => {
    const s = new ClientStream({ policy: () => policy, currentClass: () => undefined });
    const r = s.push(Buffer.concat([PROTOCOL_HEADER, publish(1), publish(1)]));
    assert.equal(r.ok, false);
    assert.equal(s.push(Buffer.alloc(0)).ok, false);
  });

  test('a header that would outgrow frame_max is forwarded unchanged', () => {
    const warnings: string[] = [];
    const s = new ClientStream({ policy: () => policy, currentClass: () => undefined, onWarning: (m) => warnings.push(m) });
    const tuneOk = writeFrame(FRAME_METHOD, 0, encodeMethod({ kind: 'connection.tune-ok', args: { channelMax: 10, frameMax: 4096, heartbeat: 0 } }));
    const big = header({ headers: [{ name: 'pad', value: str('x'.repeat(4096 - 8 - 40)) }] });
    const frame = writeFrame(FRAME_HEADER, 1, big);
    const out = run(s, PROTOCOL_HEADER, tuneOk, publish(1), frame);
    assert.deepEqual(out.at(-1), frame);
    assert.equal(warnings.length, 1);
  });

  test('fuzz: random bytes after a valid start never throw, and a failure is sticky', () => {
    const method = fc.constantFrom<Exclude<Method, { kind: 'other' }>>(
      { kind: 'basic.publish', args: { exchange: '', routingKey: 'q', mandatory: false, immediate: false } },
      { kind: 'channel.open' },
      { kind: 'queue.declare', args: { queue: 'prio.a', passive: false, durable: false, exclusive: false, autoDelete: false, noWait: false, arguments: [] } },
    );
    const frame = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 3 }), method).map(([ch, m]) => writeFrame(FRAME_METHOD, ch, encodeMethod(m))),
      fc.integer({ min: 0, max: 3 }).map((ch) => writeFrame(FRAME_HEADER, ch, encodeContentHeader({ classId: 60, weight: 0, bodySize: 1n, properties: {} } as ContentHeader))),
      fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 8 }), fc.uint8Array({ maxLength: 40 })).map(([ch, t, p]) => writeFrame(t, ch, Buffer.from(p))),
      fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(frame, { maxLength: 12 }), fc.integer({ min: 1, max: 64 }), (withHeader, parts, cut) => {
        const s = new ClientStream({ policy: () => policy, currentClass: () => 'bulk' });
        const wire = Buffer.concat([withHeader ? PROTOCOL_HEADER : Buffer.alloc(0), ...parts]);
        let failed = false;
        for (let off = 0; off < wire.length; off += cut) {
          const r = s.push(wire.subarray(off, off + cut));
          if (failed) assert.equal(r.ok, false);
          if (!r.ok) failed = true;
        }
      }),
    );
  });
});
