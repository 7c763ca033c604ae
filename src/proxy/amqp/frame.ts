/**
 * @module proxy/amqp/frame
 * AMQP 0-9-1 framing: the 8-byte protocol header a client opens with, then frames of
 * `type(1) channel(2) size(4) payload(size) 0xCE`. The reader is streaming (a frame may
 * arrive split across any number of TCP chunks, or many frames in one chunk), bounded by
 * the frame_max negotiated with connection.tune / tune-ok, and rejects anything malformed
 * with an {@link AmqpFrameError} instead of guessing.
 */

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;
/** type + channel + size. */
export const FRAME_HEADER_SIZE = 7;
/** Header plus the frame-end octet: what a frame costs beyond its payload. */
export const FRAME_OVERHEAD = FRAME_HEADER_SIZE + 1;
/** "AMQP" 0 0 9 1. */
export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** Frames before tune-ok may be this large (RabbitMQ's default frame_max, 128 KiB). */
export const DEFAULT_FRAME_MAX = 131_072;
/** frame_max 0 means "no limit"; the reader still refuses frames above this. */
export const UNLIMITED_FRAME_CAP = 64 * 1024 * 1024;

/** A malformed byte stream; the connection it came from must be closed. */
export class AmqpFrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AmqpFrameError';
  }
}

export interface Frame {
  type: number;
  channel: number;
  /** The payload (a view into `raw`). */
  payload: Buffer;
  /** The whole frame as received, header and frame-end included. */
  raw: Buffer;
}

export type FrameEvent = { kind: 'protocol-header'; raw: Buffer } | { kind: 'frame'; frame: Frame };

export interface FrameReaderOptions {
  /** The client side of a connection starts with the 8-byte protocol header. */
  expectProtocolHeader: boolean;
  /** Largest whole frame accepted (header and frame-end included); default {@link DEFAULT_FRAME_MAX}. */
  frameMax?: number;
}

/** Map a negotiated frame_max (0 = no limit) to the largest frame the reader accepts. */
export function frameLimit(frameMax: number): number {
  return frameMax === 0 ? UNLIMITED_FRAME_CAP : frameMax;
}

export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private needHeader: boolean;
  private limit: number;

  constructor(opts: FrameReaderOptions) {
    this.needHeader = opts.expectProtocolHeader;
    this.limit = frameLimit(opts.frameMax ?? DEFAULT_FRAME_MAX);
  }

  /** Apply the frame_max both peers agreed on (connection.tune-ok). */
  setFrameMax(frameMax: number): void {
    this.limit = frameLimit(frameMax);
  }

  get frameMax(): number {
    return this.limit;
  }

  /** Bytes received but not yet part of a complete frame. */
  get buffered(): number {
    return this.buf.length;
  }

  /**
   * Feed one chunk; returns every complete unit it finished, in order. Throws
   * {@link AmqpFrameError} on a malformed stream (the reader is then unusable).
   */
  push(chunk: Buffer): FrameEvent[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: FrameEvent[] = [];
    let off = 0;
    const buf = this.buf;
    if (this.needHeader) {
      const have = Math.min(buf.length, PROTOCOL_HEADER.length);
      if (!buf.subarray(0, have).equals(PROTOCOL_HEADER.subarray(0, have))) {
        throw new AmqpFrameError(`not an AMQP 0-9-1 protocol header: ${JSON.stringify(buf.subarray(0, have).toString('latin1'))}`);
      }
      if (have < PROTOCOL_HEADER.length) return out;
      out.push({ kind: 'protocol-header', raw: buf.subarray(0, PROTOCOL_HEADER.length) });
      off = PROTOCOL_HEADER.length;
      this.needHeader = false;
    }
    while (buf.length - off >= FRAME_HEADER_SIZE) {
      const type = buf.readUInt8(off);
      if (type !== FRAME_METHOD && type !== FRAME_HEADER && type !== FRAME_BODY && type !== FRAME_HEARTBEAT) {
        throw new AmqpFrameError(`unknown frame type ${type}`);
      }
      const channel = buf.readUInt16BE(off + 1);
      const size = buf.readUInt32BE(off + 3);
      if (size + FRAME_OVERHEAD > this.limit) {
        throw new AmqpFrameError(`frame of ${size + FRAME_OVERHEAD} bytes exceeds frame_max ${this.limit}`);
      }
      const end = off + FRAME_HEADER_SIZE + size;
      if (buf.length <= end) break;
      if (buf[end] !== FRAME_END) throw new AmqpFrameError(`bad frame-end octet 0x${(buf[end] ?? 0).toString(16)} (expected 0xce)`);
      out.push({
        kind: 'frame',
        frame: { type, channel, payload: buf.subarray(off + FRAME_HEADER_SIZE, end), raw: buf.subarray(off, end + 1) },
      });
      off = end + 1;
    }
    // Keep the unfinished tail; copy it so the finished frames' chunk can be released.
    this.buf = off === 0 ? buf : off === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
    return out;
  }
}

/** Encode one frame. */
export function writeFrame(type: number, channel: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(payload.length + FRAME_OVERHEAD);
  out.writeUInt8(type, 0);
  out.writeUInt16BE(channel, 1);
  out.writeUInt32BE(payload.length, 3);
  payload.copy(out, FRAME_HEADER_SIZE);
  out.writeUInt8(FRAME_END, FRAME_HEADER_SIZE + payload.length);
  return out;
}
