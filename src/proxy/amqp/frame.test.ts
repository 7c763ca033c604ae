import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AmqpFrameError, FRAME_BODY, FRAME_HEARTBEAT, FRAME_METHOD, FrameReader, PROTOCOL_HEADER, writeFrame } from './frame.js';
import type { FrameEvent } from './frame.js';

const frames = (evs: FrameEvent[]) => evs.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));

describe('AMQP frame reader', () => {
  test('protocol header, then frames; raw bytes are the frame as sent', () => {
    const a = writeFrame(FRAME_METHOD, 0, Buffer.from([0, 10, 0, 11]));
    const b = writeFrame(FRAME_BODY, 3, Buffer.from('hello'));
    const r = new FrameReader({ expectProtocolHeader: true });
    const evs = r.push(Buffer.concat([PROTOCOL_HEADER, a, b]));
    assert.equal(evs[0]?.kind, 'protocol-header');
    const fs = frames(evs);
    assert.equal(fs.length, 2);
    assert.deepEqual(fs[0]?.raw, a);
    assert.equal(fs[1]?.channel, 3);
    assert.equal(fs[1]?.type, FRAME_BODY);
    assert.equal(fs[1]?.payload.toString(), 'hello');
    assert.equal(r.buffered, 0);
  });

  test('any split across chunks gives the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ type: fc.constantFrom(1, 2, 3, 8), channel: fc.integer({ min: 0, max: 65535 }), payload: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 }),
        (spec, cuts) => {
          const wire = Buffer.concat([PROTOCOL_HEADER, ...spec.map((f) => writeFrame(f.type, f.channel, Buffer.from(f.payload)))]);
          const r = new FrameReader({ expectProtocolHeader: true });
          const got: FrameEvent[] = [];
          let off = 0;
          let i = 0;
          while (off < wire.length) {
            const n = cuts[i++ % cuts.length] ?? 1;
            got.push(...r.push(wire.subarray(off, off + n)));
            off += n;
          }
          const fs = frames(got);
          assert.equal(fs.length, spec.length);
          fs.forEach((f, k) => {
            assert.equal(f.type, spec[k]?.type);
            assert.equal(f.channel, spec[k]?.channel);
            assert.deepEqual([...f.payload], [...(spec[k]?.payload ?? [])]);
          });
          assert.deepEqual(Buffer.concat(got.map((e) => (e.kind === 'frame' ? e.frame.raw : e.raw))), wire);
        },
      ),
    );
  });

  test('rejects a wrong protocol header, a bad frame-end, an unknown type, an oversized frame', () => {
    assert.throws(() => new FrameReader({ expectProtocolHeader: true }).push(Buffer.from('GET / HTTP/1.1\r\n')), AmqpFrameError);
    // A prefix of the header is not an error yet.
    assert.deepEqual(new FrameReader({ expectProtocolHeader: true }).push(Buffer.from('AMQ')), []);
    assert.throws(() => new FrameReader({ expectProtocolHeader: true }).push(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 0])), /protocol header/);
    const bad = writeFrame(FRAME_BODY, 1, Buffer.from('x'));
    bad[bad.length - 1] = 0;
    assert.throws(() => new FrameReader({ expectProtocolHeader: false }).push(bad), /frame-end/);
    assert.throws(() => new FrameReader({ expectProtocolHeader: false }).push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0xce])), /unknown frame type 9/);
    const r = new FrameReader({ expectProtocolHeader: false, frameMax: 4096 });
    assert.throws(() => r.push(Buffer.from([FRAME_BODY, 0, 1, 0, 0, 0x10, 0])), /exceeds frame_max 4096/);
  });

  test('frame_max from tune-ok applies to later frames; 0 means the large cap', () => {
    const r = new FrameReader({ expectProtocolHeader: false });
    const big = writeFrame(FRAME_BODY, 1, Buffer.alloc(200_000));
    assert.throws(() => r.push(big), /frame_max/);
    const r2 = new FrameReader({ expectProtocolHeader: false });
    r2.setFrameMax(0);
    assert.equal(frames(r2.push(big)).length, 1);
    const r3 = new FrameReader({ expectProtocolHeader: false });
    r3.setFrameMax(1 << 20);
    assert.equal(frames(r3.push(big)).length, 1);
    assert.equal(frames(r3.push(writeFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(0)))).length, 1);
  });

  test('random bytes: frames or an AmqpFrameError, nothing else', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), (hdr, chunks) => {
        const r = new FrameReader({ expectProtocolHeader: hdr });
        try {
          for (const c of chunks) r.push(Buffer.from(c));
        } catch (err) {
          assert.ok(err instanceof AmqpFrameError, String(err));
        }
      }),
    );
  });
});
