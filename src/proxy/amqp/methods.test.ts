import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AmqpDecodeError,
  decodeContentHeader,
  decodeFieldTable,
  decodeMethod,
  encodeContentHeader,
  encodeFieldTable,
  encodeMethod,
  joinContentHeader,
  splitContentHeader,
  str,
} from './methods.js';
import type { BasicProperties, FieldTable, FieldValue, Method } from './methods.js';

const name = fc.string({ maxLength: 20 }).filter((s) => Buffer.byteLength(s) <= 255);
const shortstr = name;

const fieldValue: fc.Memo<FieldValue> = fc.memo((n) => {
  const leaf = fc.oneof(
    fc.boolean().map((value): FieldValue => ({ type: 't', value })),
    fc.integer({ min: -128, max: 127 }).map((value): FieldValue => ({ type: 'b', value })),
    fc.integer({ min: 0, max: 255 }).map((value): FieldValue => ({ type: 'B', value })),
    fc.integer({ min: -32768, max: 32767 }).map((value): FieldValue => ({ type: 's', value })),
    fc.integer({ min: 0, max: 65535 }).map((value): FieldValue => ({ type: 'u', value })),
    fc.integer().map((value): FieldValue => ({ type: 'I', value })),
    fc.integer({ min: 0, max: 0xffffffff }).map((value): FieldValue => ({ type: 'i', value })),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((value): FieldValue => ({ type: 'l', value })),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((value): FieldValue => ({ type: 'T', value })),
    fc.float({ noNaN: true }).map((value): FieldValue => ({ type: 'f', value })),
    fc.double({ noNaN: true }).map((value): FieldValue => ({ type: 'd', value })),
    fc.record({ scale: fc.integer({ min: 0, max: 255 }), value: fc.integer({ min: 0, max: 0xffffffff }) }).map((v): FieldValue => ({ type: 'D', scale: v.scale, value: v.value })),
    fc.uint8Array({ maxLength: 40 }).map((b): FieldValue => ({ type: 'S', value: Buffer.from(b) })),
    fc.uint8Array({ maxLength: 40 }).map((b): FieldValue => ({ type: 'x', value: Buffer.from(b) })),
    fc.constant<FieldValue>({ type: 'V' }),
  );
  if (n <= 1) return leaf;
  return fc.oneof(
    { weight: 4, arbitrary: leaf },
    { weight: 1, arbitrary: fc.array(fieldValue(n - 1), { maxLength: 4 }).map((value): FieldValue => ({ type: 'A', value })) },
    { weight: 1, arbitrary: fieldTable(n - 1).map((value): FieldValue => ({ type: 'F', value })) },
  );
});
// fast-check records have a null prototype; spread them into plain objects for deepEqual.
const fieldTable = (depth: number): fc.Arbitrary<FieldTable> => fc.array(fc.record({ name, value: fieldValue(depth) }).map((e) => ({ ...e })), { maxLength: 5 });

describe('AMQP field tables', () => {
  test('decode(encode(t)) = t and encode(decode(bytes)) = bytes, nested tables and arrays included', () => {
    fc.assert(
      fc.property(fieldTable(4), (t) => {
        const bytes = encodeFieldTable(t);
        const back = decodeFieldTable(bytes);
        assert.deepEqual(back, t);
        assert.deepEqual(encodeFieldTable(back), bytes);
      }),
    );
  });

  test('known bytes: what amqplib sends for {a: "b", n: 1, nested: {x: [true]}}', () => {
    const t: FieldTable = [
      { name: 'a', value: str('b') },
      { name: 'n', value: { type: 'b', value: 1 } },
      { name: 'nested', value: { type: 'F', value: [{ name: 'x', value: { type: 'A', value: [{ type: 't', value: true }] } }] } },
    ];
    const bytes = encodeFieldTable(t);
    const hex = bytes.toString('hex');
    assert.equal(bytes.readUInt32BE(0), bytes.length - 4);
    assert.ok(hex.includes(Buffer.from('\x01aS\x00\x00\x00\x01b', 'latin1').toString('hex')));
    assert.deepEqual(decodeFieldTable(bytes), t);
  });

  test('malformed tables are AmqpDecodeErrors: unknown type, truncation, runaway nesting', () => {
    assert.throws(() => decodeFieldTable(Buffer.from([0, 0, 0, 3, 1, 0x61, 0x7a])), /unknown field type "z"/);
    assert.throws(() => decodeFieldTable(Buffer.from([0, 0, 0, 9, 1, 0x61])), AmqpDecodeError);
    let deep: FieldValue = { type: 'V' };
    for (let i = 0; i < 100; i++) deep = { type: 'A', value: [deep] };
    assert.throws(() => decodeFieldTable(encodeFieldTable([{ name: 'd', value: deep }])), /nested deeper/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
        try {
          decodeFieldTable(Buffer.from(b));
        } catch (err) {
          assert.ok(err instanceof AmqpDecodeError, String(err));
        }
      }),
    );
  });
});

describe('AMQP methods', () => {
  const samples: Exclude<Method, { kind: 'other' }>[] = [
    { kind: 'connection.tune', args: { channelMax: 2047, frameMax: 131072, heartbeat: 60 } },
    { kind: 'connection.tune-ok', args: { channelMax: 2047, frameMax: 4096, heartbeat: 0 } },
    { kind: 'channel.open' },
    { kind: 'channel.close', args: { replyCode: 406, replyText: 'PRECONDITION_FAILED', classId: 50, methodId: 10 } },
    { kind: 'channel.close-ok' },
    {
      kind: 'queue.declare',
      args: { queue: 'work', passive: false, durable: true, exclusive: false, autoDelete: true, noWait: false, arguments: [{ name: 'x-max-priority', value: { type: 'I', value: 10 } }] },
    },
    { kind: 'basic.publish', args: { exchange: '', routingKey: 'work', mandatory: true, immediate: false } },
    { kind: 'basic.deliver', args: { consumerTag: 'amq.ctag-1', deliveryTag: 42n, redelivered: true, exchange: 'ex', routingKey: 'rk' } },
  ];
  for (const m of samples) {
    test(`${m.kind} round trip`, () => {
      assert.deepEqual(decodeMethod(encodeMethod(m)), m);
    });
  }

  test('publish / declare flags round trip', () => {
    fc.assert(
      fc.property(shortstr, shortstr, fc.boolean(), fc.boolean(), (exchange, routingKey, mandatory, immediate) => {
        const m: Method = { kind: 'basic.publish', args: { exchange, routingKey, mandatory, immediate } };
        assert.deepEqual(decodeMethod(encodeMethod(m)), m);
      }),
    );
  });

  test('other methods decode as other; truncated known ones throw AmqpDecodeError', () => {
    assert.deepEqual(decodeMethod(Buffer.from([0, 60, 0, 80, 1, 2])), { kind: 'other', classId: 60, methodId: 80 });
    assert.throws(() => decodeMethod(Buffer.from([0, 10, 0, 31, 0])), AmqpDecodeError);
    assert.throws(() => decodeMethod(Buffer.from([0])), AmqpDecodeError);
  });
});

describe('AMQP content headers', () => {
  const props: fc.Arbitrary<BasicProperties> = fc.record(
    {
      contentType: shortstr,
      contentEncoding: shortstr,
      headers: fieldTable(3),
      deliveryMode: fc.integer({ min: 0, max: 255 }),
      priority: fc.integer({ min: 0, max: 255 }),
      correlationId: shortstr,
      replyTo: shortstr,
      expiration: shortstr,
      messageId: shortstr,
      timestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      type: shortstr,
      userId: shortstr,
      appId: shortstr,
      clusterId: shortstr,
    },
    { requiredKeys: [] },
  ).map((p) => ({ ...p }));

  test('decode(encode(h)) = h for any subset of properties; split/join keeps the bytes', () => {
    fc.assert(
      fc.property(props, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (properties, bodySize) => {
        const h = { classId: 60, weight: 0, bodySize, properties };
        const bytes = encodeContentHeader(h);
        assert.deepEqual(decodeContentHeader(bytes), h);
        assert.deepEqual(joinContentHeader(splitContentHeader(bytes)), bytes);
      }),
    );
  });

  test('flag bits follow the spec order (priority is bit 11, headers bit 13)', () => {
    const b = encodeContentHeader({ classId: 60, weight: 0, bodySize: 5n, properties: { priority: 7 } });
    assert.equal(b.readUInt16BE(12), 1 << 11);
    assert.equal(b[14], 7);
    const h = encodeContentHeader({ classId: 60, weight: 0, bodySize: 5n, properties: { headers: [] } });
    assert.equal(h.readUInt16BE(12), 1 << 13);
  });

  test('malformed headers are AmqpDecodeErrors', () => {
    const ok = encodeContentHeader({ classId: 60, weight: 0, bodySize: 1n, properties: { contentType: 'text/plain' } });
    assert.throws(() => splitContentHeader(ok.subarray(0, ok.length - 2)), AmqpDecodeError);
    assert.throws(() => splitContentHeader(Buffer.concat([ok, Buffer.from([0])])), /trailing/);
    const wrongClass = Buffer.from(ok);
    wrongClass.writeUInt16BE(50, 0);
    assert.throws(() => splitContentHeader(wrongClass), /class 50/);
    const continuation = Buffer.from(ok);
    continuation.writeUInt16BE(continuation.readUInt16BE(12) | 1, 12);
    assert.throws(() => splitContentHeader(continuation), /continuation/);
  });
});
