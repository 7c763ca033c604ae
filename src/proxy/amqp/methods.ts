/**
 * @module proxy/amqp/methods
 * AMQP 0-9-1 method and content-header codecs — only what the priority listener needs:
 * connection.tune / tune-ok (frame_max), channel.open / close / close-ok, basic.publish,
 * basic.deliver, queue.declare (its arguments table), and content headers with the basic
 * properties. Field tables use the type tags RabbitMQ speaks (its errata of the 0-9-1 spec:
 * `s` is a signed 16-bit integer, `l` a signed 64-bit one, `x` a byte array…), and keep each
 * value's tag so that decode → encode gives the same bytes back.
 *
 * Every decoder is bounds-checked and throws {@link AmqpDecodeError} on malformed input; the
 * listener turns that into "close this connection".
 */

export class AmqpDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AmqpDecodeError';
  }
}

// ── primitive reader / writer ─────────────────────────────────────────────────

/** A bounds-checked cursor over one payload. */
export class Reader {
  constructor(
    private readonly buf: Buffer,
    public off = 0,
  ) {}

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(n: number, what: string): number {
    if (n < 0 || this.off + n > this.buf.length) {
      throw new AmqpDecodeError(`truncated ${what}: need ${n} bytes at offset ${this.off}, have ${this.buf.length - this.off}`);
    }
    const at = this.off;
    this.off += n;
    return at;
  }

  u8(what = 'octet'): number {
    return this.buf.readUInt8(this.need(1, what));
  }
  i8(): number {
    return this.buf.readInt8(this.need(1, 'signed octet'));
  }
  u16(what = 'short'): number {
    return this.buf.readUInt16BE(this.need(2, what));
  }
  i16(): number {
    return this.buf.readInt16BE(this.need(2, 'signed short'));
  }
  u32(what = 'long'): number {
    return this.buf.readUInt32BE(this.need(4, what));
  }
  i32(): number {
    return this.buf.readInt32BE(this.need(4, 'signed long'));
  }
  u64(what = 'longlong'): bigint {
    return this.buf.readBigUInt64BE(this.need(8, what));
  }
  i64(): bigint {
    return this.buf.readBigInt64BE(this.need(8, 'signed longlong'));
  }
  f32(): number {
    return this.buf.readFloatBE(this.need(4, 'float'));
  }
  f64(): number {
    return this.buf.readDoubleBE(this.need(8, 'double'));
  }
  bytes(n: number, what = 'bytes'): Buffer {
    const at = this.need(n, what);
    return this.buf.subarray(at, at + n);
  }
  shortstr(what = 'short string'): string {
    return this.bytes(this.u8(what), what).toString('utf8');
  }
  longstr(what = 'long string'): Buffer {
    return this.bytes(this.u32(what), what);
  }
}

/** A growable output buffer. */
export class Writer {
  private buf: Buffer;
  private off = 0;

  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Reserve `n` bytes; returns their offset. Call it before reading `this.buf`: it may grow. */
  private room(n: number): number {
    if (this.off + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
      this.buf.copy(next, 0, 0, this.off);
      this.buf = next;
    }
    const at = this.off;
    this.off += n;
    return at;
  }

  get length(): number {
    return this.off;
  }

  u8(v: number): this {
    const at = this.room(1);
    this.buf.writeUInt8(v, at);
    return this;
  }
  i8(v: number): this {
    const at = this.room(1);
    this.buf.writeInt8(v, at);
    return this;
  }
  u16(v: number): this {
    const at = this.room(2);
    this.buf.writeUInt16BE(v, at);
    return this;
  }
  i16(v: number): this {
    const at = this.room(2);
    this.buf.writeInt16BE(v, at);
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.buf.writeUInt32BE(v, at);
    return this;
  }
  i32(v: number): this {
    const at = this.room(4);
    this.buf.writeInt32BE(v, at);
    return this;
  }
  u64(v: bigint): this {
    const at = this.room(8);
    this.buf.writeBigUInt64BE(v, at);
    return this;
  }
  i64(v: bigint): this {
    const at = this.room(8);
    this.buf.writeBigInt64BE(v, at);
    return this;
  }
  f32(v: number): this {
    const at = this.room(4);
    this.buf.writeFloatBE(v, at);
    return this;
  }
  f64(v: number): this {
    const at = this.room(8);
    this.buf.writeDoubleBE(v, at);
    return this;
  }
  bytes(b: Buffer): this {
    const at = this.room(b.length);
    b.copy(this.buf, at);
    return this;
  }
  shortstr(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 255) throw new AmqpDecodeError(`short string of ${b.length} bytes (max 255)`);
    return this.u8(b.length).bytes(b);
  }
  longstr(b: Buffer): this {
    return this.u32(b.length).bytes(b);
  }
  /** Reserve a 32-bit length, write with `fn`, then fill the length in. */
  sized(fn: (w: this) => void): this {
    const at = this.room(4);
    const start = this.off;
    fn(this);
    this.buf.writeUInt32BE(this.off - start, at);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.off));
  }
}

// ── field tables ──────────────────────────────────────────────────────────────

/** One field value with the type tag it travels with (RabbitMQ's tags). */
export type FieldValue =
  | { type: 't'; value: boolean }
  | { type: 'b' | 'B' | 's' | 'u' | 'I' | 'i'; value: number }
  | { type: 'l' | 'T'; value: bigint }
  | { type: 'f' | 'd'; value: number }
  | { type: 'D'; scale: number; value: number }
  | { type: 'S' | 'x'; value: Buffer }
  | { type: 'A'; value: FieldValue[] }
  | { type: 'F'; value: FieldTable }
  | { type: 'V' };

/** A field table in wire order (duplicates kept, as received). */
export type FieldTable = { name: string; value: FieldValue }[];

/** Nesting deeper than this is refused (a hostile table must not exhaust the stack). */
const MAX_NESTING = 64;

function readValue(r: Reader, depth: number): FieldValue {
  const tag = String.fromCharCode(r.u8('field type'));
  switch (tag) {
    case 't':
      return { type: 't', value: r.u8('boolean') !== 0 };
    case 'b':
      return { type: 'b', value: r.i8() };
    case 'B':
      return { type: 'B', value: r.u8() };
    case 's':
      return { type: 's', value: r.i16() };
    case 'u':
      return { type: 'u', value: r.u16() };
    case 'I':
      return { type: 'I', value: r.i32() };
    case 'i':
      return { type: 'i', value: r.u32() };
    case 'l':
      return { type: 'l', value: r.i64() };
    case 'T':
      return { type: 'T', value: r.u64('timestamp') };
    case 'f':
      return { type: 'f', value: r.f32() };
    case 'd':
      return { type: 'd', value: r.f64() };
    case 'D': {
      const scale = r.u8('decimal scale');
      return { type: 'D', scale, value: r.u32('decimal value') };
    }
    case 'S':
      return { type: 'S', value: r.longstr() };
    case 'x':
      return { type: 'x', value: r.longstr('byte array') };
    case 'A':
      return { type: 'A', value: readArray(new Reader(r.longstr('array')), depth + 1) };
    case 'F':
      return { type: 'F', value: readTableBody(new Reader(r.longstr('table')), depth + 1) };
    case 'V':
      return { type: 'V' };
    default:
      throw new AmqpDecodeError(`unknown field type ${JSON.stringify(tag)}`);
  }
}

function readArray(r: Reader, depth: number): FieldValue[] {
  if (depth > MAX_NESTING) throw new AmqpDecodeError(`field tables nested deeper than ${MAX_NESTING}`);
  const out: FieldValue[] = [];
  while (r.remaining > 0) out.push(readValue(r, depth));
  return out;
}

function readTableBody(r: Reader, depth: number): FieldTable {
  if (depth > MAX_NESTING) throw new AmqpDecodeError(`field tables nested deeper than ${MAX_NESTING}`);
  const out: FieldTable = [];
  while (r.remaining > 0) {
    const name = r.shortstr('field name');
    out.push({ name, value: readValue(r, depth) });
  }
  return out;
}

/** Read a field table (32-bit byte length, then name/value pairs). */
export function readTable(r: Reader): FieldTable {
  return readTableBody(new Reader(r.longstr('table')), 0);
}

/** Decode a whole buffer holding one table (length prefix included). */
export function decodeFieldTable(buf: Buffer): FieldTable {
  const r = new Reader(buf);
  const t = readTable(r);
  if (r.remaining !== 0) throw new AmqpDecodeError(`${r.remaining} trailing bytes after a field table`);
  return t;
}

function writeValue(w: Writer, v: FieldValue): void {
  w.u8(v.type.charCodeAt(0));
  switch (v.type) {
    case 't':
      w.u8(v.value ? 1 : 0);
      return;
    case 'b':
      w.i8(v.value);
      return;
    case 'B':
      w.u8(v.value);
      return;
    case 's':
      w.i16(v.value);
      return;
    case 'u':
      w.u16(v.value);
      return;
    case 'I':
      w.i32(v.value);
      return;
    case 'i':
      w.u32(v.value);
      return;
    case 'l':
      w.i64(v.value);
      return;
    case 'T':
      w.u64(v.value);
      return;
    case 'f':
      w.f32(v.value);
      return;
    case 'd':
      w.f64(v.value);
      return;
    case 'D':
      w.u8(v.scale).u32(v.value);
      return;
    case 'S':
    case 'x':
      w.longstr(v.value);
      return;
    case 'A':
      w.sized(() => {
        for (const item of v.value) writeValue(w, item);
      });
      return;
    case 'F':
      writeTable(w, v.value);
      return;
    case 'V':
      return;
  }
}

/** Write the entries of a table without the length prefix. */
export function writeTableEntries(w: Writer, t: FieldTable): void {
  for (const e of t) {
    w.shortstr(e.name);
    writeValue(w, e.value);
  }
}

export function writeTable(w: Writer, t: FieldTable): void {
  w.sized(() => writeTableEntries(w, t));
}

export function encodeFieldTable(t: FieldTable): Buffer {
  const w = new Writer();
  writeTable(w, t);
  return w.toBuffer();
}

/** The first entry named `name`, if any. */
export function tableGet(t: FieldTable | undefined, name: string): FieldValue | undefined {
  return t?.find((e) => e.name === name)?.value;
}

/** A string-like value (long string or byte array) as UTF-8; undefined for other types. */
export function fieldString(v: FieldValue | undefined): string | undefined {
  return v && (v.type === 'S' || v.type === 'x') ? v.value.toString('utf8') : undefined;
}

/** A long-string value. */
export const str = (s: string): FieldValue => ({ type: 'S', value: Buffer.from(s, 'utf8') });

// ── methods ───────────────────────────────────────────────────────────────────

export const CLASS_CONNECTION = 10;
export const CLASS_CHANNEL = 20;
export const CLASS_QUEUE = 50;
export const CLASS_BASIC = 60;

export const CONNECTION_TUNE = 30;
export const CONNECTION_TUNE_OK = 31;
export const CHANNEL_OPEN = 10;
export const CHANNEL_CLOSE = 40;
export const CHANNEL_CLOSE_OK = 41;
export const QUEUE_DECLARE = 10;
export const BASIC_PUBLISH = 40;
export const BASIC_DELIVER = 60;

export interface Tune {
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}
export interface ChannelClose {
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}
export interface BasicPublish {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
}
export interface BasicDeliver {
  consumerTag: string;
  deliveryTag: bigint;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
}
export interface QueueDeclare {
  queue: string;
  passive: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  noWait: boolean;
  arguments: FieldTable;
}

/** The methods this module knows; anything else is `other` (and passes through untouched). */
export type Method =
  | { kind: 'connection.tune'; args: Tune }
  | { kind: 'connection.tune-ok'; args: Tune }
  | { kind: 'channel.open' }
  | { kind: 'channel.close'; args: ChannelClose }
  | { kind: 'channel.close-ok' }
  | { kind: 'queue.declare'; args: QueueDeclare }
  | { kind: 'basic.publish'; args: BasicPublish }
  | { kind: 'basic.deliver'; args: BasicDeliver }
  | { kind: 'other'; classId: number; methodId: number };

function readTune(r: Reader): Tune {
  return { channelMax: r.u16('channel-max'), frameMax: r.u32('frame-max'), heartbeat: r.u16('heartbeat') };
}

/** Decode a method frame's payload. */
export function decodeMethod(payload: Buffer): Method {
  const r = new Reader(payload);
  const classId = r.u16('class id');
  const methodId = r.u16('method id');
  const key = classId * 65536 + methodId;
  switch (key) {
    case CLASS_CONNECTION * 65536 + CONNECTION_TUNE:
      return { kind: 'connection.tune', args: readTune(r) };
    case CLASS_CONNECTION * 65536 + CONNECTION_TUNE_OK:
      return { kind: 'connection.tune-ok', args: readTune(r) };
    case CLASS_CHANNEL * 65536 + CHANNEL_OPEN:
      return { kind: 'channel.open' };
    case CLASS_CHANNEL * 65536 + CHANNEL_CLOSE:
      return {
        kind: 'channel.close',
        args: { replyCode: r.u16('reply-code'), replyText: r.shortstr('reply-text'), classId: r.u16('class-id'), methodId: r.u16('method-id') },
      };
    case CLASS_CHANNEL * 65536 + CHANNEL_CLOSE_OK:
      return { kind: 'channel.close-ok' };
    case CLASS_QUEUE * 65536 + QUEUE_DECLARE: {
      r.u16('reserved-1');
      const queue = r.shortstr('queue');
      const bits = r.u8('flags');
      return {
        kind: 'queue.declare',
        args: {
          queue,
          passive: (bits & 1) !== 0,
          durable: (bits & 2) !== 0,
          exclusive: (bits & 4) !== 0,
          autoDelete: (bits & 8) !== 0,
          noWait: (bits & 16) !== 0,
          arguments: readTable(r),
        },
      };
    }
    case CLASS_BASIC * 65536 + BASIC_PUBLISH: {
      r.u16('reserved-1');
      const exchange = r.shortstr('exchange');
      const routingKey = r.shortstr('routing-key');
      const bits = r.u8('flags');
      return { kind: 'basic.publish', args: { exchange, routingKey, mandatory: (bits & 1) !== 0, immediate: (bits & 2) !== 0 } };
    }
    case CLASS_BASIC * 65536 + BASIC_DELIVER: {
      const consumerTag = r.shortstr('consumer-tag');
      const deliveryTag = r.u64('delivery-tag');
      const redelivered = (r.u8('flags') & 1) !== 0;
      return { kind: 'basic.deliver', args: { consumerTag, deliveryTag, redelivered, exchange: r.shortstr('exchange'), routingKey: r.shortstr('routing-key') } };
    }
    default:
      return { kind: 'other', classId, methodId };
  }
}

/** Encode a method frame's payload (the known methods; `other` cannot be encoded). */
export function encodeMethod(m: Exclude<Method, { kind: 'other' }>): Buffer {
  const w = new Writer();
  switch (m.kind) {
    case 'connection.tune':
    case 'connection.tune-ok':
      w.u16(CLASS_CONNECTION).u16(m.kind === 'connection.tune' ? CONNECTION_TUNE : CONNECTION_TUNE_OK);
      w.u16(m.args.channelMax).u32(m.args.frameMax).u16(m.args.heartbeat);
      break;
    case 'channel.open':
      w.u16(CLASS_CHANNEL).u16(CHANNEL_OPEN).shortstr('');
      break;
    case 'channel.close':
      w.u16(CLASS_CHANNEL).u16(CHANNEL_CLOSE).u16(m.args.replyCode).shortstr(m.args.replyText).u16(m.args.classId).u16(m.args.methodId);
      break;
    case 'channel.close-ok':
      w.u16(CLASS_CHANNEL).u16(CHANNEL_CLOSE_OK);
      break;
    case 'queue.declare': {
      const a = m.args;
      const bits = (a.passive ? 1 : 0) | (a.durable ? 2 : 0) | (a.exclusive ? 4 : 0) | (a.autoDelete ? 8 : 0) | (a.noWait ? 16 : 0);
      w.u16(CLASS_QUEUE).u16(QUEUE_DECLARE).u16(0).shortstr(a.queue).u8(bits);
      writeTable(w, a.arguments);
      break;
    }
    case 'basic.publish': {
      const a = m.args;
      w.u16(CLASS_BASIC).u16(BASIC_PUBLISH).u16(0).shortstr(a.exchange).shortstr(a.routingKey).u8((a.mandatory ? 1 : 0) | (a.immediate ? 2 : 0));
      break;
    }
    case 'basic.deliver': {
      const a = m.args;
      w.u16(CLASS_BASIC).u16(BASIC_DELIVER).shortstr(a.consumerTag).u64(a.deliveryTag).u8(a.redelivered ? 1 : 0).shortstr(a.exchange).shortstr(a.routingKey);
      break;
    }
  }
  return w.toBuffer();
}

// ── content headers (basic properties) ────────────────────────────────────────

/** Basic-class properties, in the order of their flag bits (bit 15 first). */
export interface BasicProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: FieldTable;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: bigint;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
}

type PropKind = 'shortstr' | 'table' | 'octet' | 'timestamp';
/** Property name, kind and flag bit, in wire order. */
export const BASIC_PROPERTIES: readonly { name: keyof BasicProperties; kind: PropKind; bit: number }[] = [
  { name: 'contentType', kind: 'shortstr', bit: 15 },
  { name: 'contentEncoding', kind: 'shortstr', bit: 14 },
  { name: 'headers', kind: 'table', bit: 13 },
  { name: 'deliveryMode', kind: 'octet', bit: 12 },
  { name: 'priority', kind: 'octet', bit: 11 },
  { name: 'correlationId', kind: 'shortstr', bit: 10 },
  { name: 'replyTo', kind: 'shortstr', bit: 9 },
  { name: 'expiration', kind: 'shortstr', bit: 8 },
  { name: 'messageId', kind: 'shortstr', bit: 7 },
  { name: 'timestamp', kind: 'timestamp', bit: 6 },
  { name: 'type', kind: 'shortstr', bit: 5 },
  { name: 'userId', kind: 'shortstr', bit: 4 },
  { name: 'appId', kind: 'shortstr', bit: 3 },
  { name: 'clusterId', kind: 'shortstr', bit: 2 },
];
export const HEADERS_BIT = 13;
export const PRIORITY_BIT = 11;

export interface ContentHeader {
  classId: number;
  weight: number;
  bodySize: bigint;
  properties: BasicProperties;
}

/**
 * The raw layout of a content header: fixed part, the property flags and each present
 * property's bytes. Rewriting works on this, so untouched properties keep their exact bytes.
 */
export interface RawContentHeader {
  classId: number;
  weight: number;
  bodySize: bigint;
  /** Property flag bits (the first flags word, continuation bit cleared). */
  flags: number;
  /** Bytes of each present property, keyed by flag bit. */
  props: Map<number, Buffer>;
}

/** Split a content header payload into its properties (bytes as received). */
export function splitContentHeader(payload: Buffer): RawContentHeader {
  const r = new Reader(payload);
  const classId = r.u16('class id');
  const weight = r.u16('weight');
  const bodySize = r.u64('body size');
  const flags = r.u16('property flags');
  if (classId !== CLASS_BASIC) throw new AmqpDecodeError(`content header for class ${classId} (only basic, 60, is understood)`);
  // Basic has 14 properties: the first flags word holds them all; bits 1 and 0 must be clear.
  if ((flags & 0b11) !== 0) throw new AmqpDecodeError(`unexpected property flags 0x${flags.toString(16)} (continuation or reserved bit set)`);
  const props = new Map<number, Buffer>();
  for (const p of BASIC_PROPERTIES) {
    if ((flags & (1 << p.bit)) === 0) continue;
    const start = r.off;
    switch (p.kind) {
      case 'shortstr':
        r.bytes(r.u8(p.name), p.name);
        break;
      case 'table':
        r.longstr(p.name);
        break;
      case 'octet':
        r.u8(p.name);
        break;
      case 'timestamp':
        r.u64(p.name);
        break;
    }
    props.set(p.bit, payload.subarray(start, r.off));
  }
  if (r.remaining !== 0) throw new AmqpDecodeError(`${r.remaining} trailing bytes after the content header properties`);
  return { classId, weight, bodySize, flags, props };
}

/** Join a split content header back into a payload. */
export function joinContentHeader(h: RawContentHeader): Buffer {
  const w = new Writer(64);
  let flags = 0;
  for (const p of BASIC_PROPERTIES) if (h.props.has(p.bit)) flags |= 1 << p.bit;
  w.u16(h.classId).u16(h.weight).u64(h.bodySize).u16(flags);
  for (const p of BASIC_PROPERTIES) {
    const b = h.props.get(p.bit);
    if (b) w.bytes(b);
  }
  return w.toBuffer();
}

/** Decode a content header with typed basic properties. */
export function decodeContentHeader(payload: Buffer): ContentHeader {
  const raw = splitContentHeader(payload);
  const properties: BasicProperties = {};
  const target = properties as Record<string, unknown>;
  for (const p of BASIC_PROPERTIES) {
    const b = raw.props.get(p.bit);
    if (!b) continue;
    const r = new Reader(b);
    switch (p.kind) {
      case 'shortstr':
        target[p.name] = r.shortstr(p.name);
        break;
      case 'table':
        target[p.name] = readTable(r);
        break;
      case 'octet':
        target[p.name] = r.u8(p.name);
        break;
      case 'timestamp':
        target[p.name] = r.u64(p.name);
        break;
    }
  }
  return { classId: raw.classId, weight: raw.weight, bodySize: raw.bodySize, properties };
}

/** Encode one property's bytes. */
export function encodeProperty(kind: PropKind, value: unknown): Buffer {
  const w = new Writer(32);
  switch (kind) {
    case 'shortstr':
      w.shortstr(value as string);
      break;
    case 'table':
      writeTable(w, value as FieldTable);
      break;
    case 'octet':
      w.u8(value as number);
      break;
    case 'timestamp':
      w.u64(value as bigint);
      break;
  }
  return w.toBuffer();
}

/** Encode a content header with typed basic properties. */
export function encodeContentHeader(h: ContentHeader): Buffer {
  const props = new Map<number, Buffer>();
  const source = h.properties as Record<string, unknown>;
  for (const p of BASIC_PROPERTIES) {
    const v = source[p.name];
    if (v !== undefined) props.set(p.bit, encodeProperty(p.kind, v));
  }
  return joinContentHeader({ classId: h.classId, weight: h.weight, bodySize: h.bodySize, flags: 0, props });
}
