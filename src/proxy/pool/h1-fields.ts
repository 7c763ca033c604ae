/**
 * @module proxy/pool/h1-fields
 * What both HTTP/1.1 parsers share (the upstream response parser and the downstream request
 * parser): the strict chunk-size line scanner, the strict scan of one `name: value CRLF`
 * field line, how fields become a headers object the way node:http builds it, and the
 * finding of a head (or trailer) block in one read or across several (HeadBlock).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { TOKEN } from './h1-codec.js';

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x41 + c] = HEX[0x61 + c] = 10 + c;

/** Header names node:http keeps only the first value of. */
const FIRST_WINS = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'referer',
  'host',
  'authorization',
  'proxy-authorization',
  'if-modified-since',
  'if-unmodified-since',
  'from',
  'location',
  'max-forwards',
  'retry-after',
  'etag',
  'last-modified',
  'server',
  'age',
  'expires',
]);

export interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

/** Headers object without Object.prototype in its chain (a `constructor` header is just a header). */
function NullProtoHeaders(): void {}
NullProtoHeaders.prototype = Object.create(null) as object;
export const HeadersBag = NullProtoHeaders as unknown as new () => IncomingHttpHeaders;

/** Add one field the way node:http does: set-cookie as an array, cookie joined with '; ', others with ', '. */
export function addField(h: IncomingHttpHeaders, name: string, value: string): void {
  const prev = h[name];
  if (prev === undefined) {
    h[name] = name === 'set-cookie' ? [value] : value;
  } else if (name === 'set-cookie') {
    (prev as string[]).push(value);
  } else if (!FIRST_WINS.has(name)) {
    h[name] = `${prev as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
}

/** One scanned field line; reused by a parser for every line (no allocation per field). */
export interface FieldLine {
  /** Lower-cased name. */
  name: string;
  /** Value without leading/trailing whitespace. */
  value: string;
  /** Why the line was refused (when scanField returned -1). */
  error: string;
}

export function quote(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/**
 * Scan the field line of `s` starting at `i`, strictly: the name is a token directly
 * followed by ':' (no obs-fold, no whitespace before the colon), the value has no control
 * characters, the line ends in CRLF. Returns the index after the line, or -1 with
 * `out.error` set.
 */
export function scanField(s: string, i: number, out: FieldLine): number {
  const start = i;
  let upper = false;
  let c = s.charCodeAt(i);
  while (TOKEN[c] === 1) {
    if (c <= 90 && c >= 65) upper = true;
    c = s.charCodeAt(++i);
  }
  if (c !== 58 /* : */ || i === start) {
    if (i === start && (c === 32 || c === 9)) out.error = 'obsolete line folding in header section';
    else if (c === 32 || c === 9) out.error = `invalid header name: whitespace between header name and colon ${quote(s.slice(start, i + 1))}`;
    else out.error = `invalid header name ${quote(s.slice(start, Math.min(i + 1, start + 40)))}`;
    return -1;
  }
  const nameEnd = i;
  c = s.charCodeAt(++i);
  while (c === 32 || c === 9) c = s.charCodeAt(++i);
  const vStart = i;
  let vEnd = i;
  while (c !== 13) {
    if (c === 9 || c === 32) {
      c = s.charCodeAt(++i);
    } else if (c > 32 && c !== 127) {
      vEnd = ++i;
      c = s.charCodeAt(i);
    } else {
      out.error = `invalid character in value of header ${quote(s.slice(start, nameEnd))}`;
      return -1;
    }
  }
  if (s.charCodeAt(i + 1) !== 10) {
    out.error = `bare CR in value of header ${quote(s.slice(start, nameEnd))}`;
    return -1;
  }
  const name = s.slice(start, nameEnd);
  out.name = upper ? name.toLowerCase() : name;
  out.value = s.slice(vStart, vEnd);
  return i + 2;
}

const CS_HEX = 0;
const CS_BWS = 1;
const CS_EXT = 2;
const CS_LF = 3;
const MAX_CHUNK_DIGITS = 16;
/** Chunk sizes up to 2^48 - 1: integers stay exact. */
const MAX_CHUNK_SIZE = 2 ** 48 - 1;
const MAX_CHUNK_EXT_BYTES = 16 * 1024;

/**
 * A chunk-size line (`hex-size [BWS] [; extensions] CRLF`), fed byte ranges as they arrive.
 * One per parser, reset() before each line.
 */
export class ChunkSizeLine {
  /** The size, once feed() reported the line complete. */
  size = 0;
  /** True once the CRLF ending the line was consumed. */
  done = false;
  /** Why the line was refused (when feed returned -1). */
  error = '';
  private cs = CS_HEX;
  private digits = 0;
  private ext = 0;

  reset(): void {
    this.size = 0;
    this.done = false;
    this.cs = CS_HEX;
    this.digits = 0;
    this.ext = 0;
  }

  /** Consume bytes of `buf` from `off`; returns the offset after what was used, or -1. */
  feed(buf: Buffer, off: number): number {
    const len = buf.length;
    while (off < len) {
      const c = buf[off++] as number;
      switch (this.cs) {
        case CS_HEX: {
          const d = HEX[c] as number;
          if (d >= 0) {
            const size = this.size * 16 + d;
            if (++this.digits > MAX_CHUNK_DIGITS || size > MAX_CHUNK_SIZE) return this.refuse('chunk size too large');
            this.size = size;
          } else if (this.digits === 0) {
            return this.refuse('invalid chunk size');
          } else if (c === 13) {
            this.cs = CS_LF;
          } else if (c === 59 /* ; */) {
            this.cs = CS_EXT;
          } else if (c === 32 || c === 9) {
            this.cs = CS_BWS;
          } else {
            return this.refuse('invalid chunk size');
          }
          break;
        }
        case CS_BWS:
          if (c === 59) this.cs = CS_EXT;
          else if (c !== 32 && c !== 9) return this.refuse('invalid chunk size line');
          break;
        case CS_EXT:
          if (c === 13) this.cs = CS_LF;
          else if (c === 9 || (c >= 32 && c !== 127)) {
            if (++this.ext > MAX_CHUNK_EXT_BYTES) return this.refuse(`chunk extensions longer than ${MAX_CHUNK_EXT_BYTES} bytes`);
          } else return this.refuse('invalid character in chunk extension');
          break;
        default: // CS_LF
          if (c !== 10) return this.refuse('bare CR in chunk size line');
          this.done = true;
          return off;
      }
    }
    return off;
  }

  private refuse(why: string): number {
    this.error = why;
    return -1;
  }
}

const TERMINATOR = Buffer.from('\r\n\r\n', 'latin1');

/** HeadBlock.take(): the block is incomplete; everything given was kept. */
export const BLOCK_MORE = -1;
/** HeadBlock.take(): the block exceeds the limit. */
export const BLOCK_TOO_LARGE = -2;
/** HeadBlock.take(): an empty section began with CR not followed by LF. */
export const BLOCK_BARE_CR = -3;

/**
 * A head or trailer section of an HTTP/1.1 message, up to its empty line: found in place
 * when one read holds it whole (no copy), else accumulated across reads in a buffer that
 * grows up to the limit and is reused by the next message.
 */
export class HeadBlock {
  /** Bytes kept of an incomplete block: [0, accLen). */
  acc: Buffer | undefined;
  accLen = 0;
  /** The block found: [start, end) of `buf` — its lines with their CRLFs, without the empty line. */
  buf: Buffer = TERMINATOR;
  start = 0;
  end = 0;

  /**
   * Look for the end of a block starting at `off` of `buf` (an empty section when `allowEmpty`
   * and it starts with CRLF), at most `max` bytes. Returns the offset in `buf` just after the
   * block, or BLOCK_MORE / BLOCK_TOO_LARGE / BLOCK_BARE_CR.
   */
  take(buf: Buffer, off: number, allowEmpty: boolean, max: number): number {
    if (this.accLen === 0) {
      if (allowEmpty && buf[off] === 13 && off + 1 < buf.length) {
        if (buf[off + 1] !== 10) return BLOCK_BARE_CR;
        this.buf = buf;
        this.start = this.end = off;
        return off + 2;
      }
      const i = buf.indexOf(TERMINATOR, off);
      if (i >= 0) {
        if (i + 4 - off > max) return BLOCK_TOO_LARGE;
        this.buf = buf;
        this.start = off;
        this.end = i + 2;
        return i + 4;
      }
      if (buf.length - off >= max) return BLOCK_TOO_LARGE;
      this.append(buf, off, buf.length, max);
      return BLOCK_MORE;
    }
    const before = this.accLen;
    const take = Math.min(buf.length - off, max + 4 - before);
    this.append(buf, off, off + take, max);
    const acc = this.acc as Buffer;
    if (allowEmpty && acc[0] === 13) {
      if (this.accLen < 2) return BLOCK_MORE;
      if (acc[1] !== 10) return BLOCK_BARE_CR;
      this.accLen = 0;
      this.buf = acc;
      this.start = this.end = 0;
      return off + 2 - before;
    }
    const i = acc.subarray(0, this.accLen).indexOf(TERMINATOR, Math.max(0, before - 3));
    if (i < 0) return this.accLen >= max ? BLOCK_TOO_LARGE : BLOCK_MORE;
    if (i + 4 > max) return BLOCK_TOO_LARGE;
    this.accLen = 0;
    this.buf = acc;
    this.start = 0;
    this.end = i + 2;
    return off + (i + 4 - before);
  }

  /** The block as latin1 text. */
  text(): string {
    return (this.buf as FastBuffer).latin1Slice(this.start, this.end);
  }

  /** The message is over: a large accumulation buffer is not kept for the next one. */
  trim(): void {
    if (this.acc !== undefined && this.acc.length > 4096) this.acc = undefined;
  }

  /** Forget everything (the parser stops). */
  drop(): void {
    this.acc = undefined;
    this.accLen = 0;
  }

  private append(buf: Buffer, from: number, to: number, max: number): void {
    const need = this.accLen + (to - from);
    let acc = this.acc;
    if (acc === undefined || acc.length < need) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(1024, need * 2), max + 4));
      if (acc !== undefined && this.accLen > 0) acc.copy(grown, 0, 0, this.accLen);
      this.acc = acc = grown;
    }
    buf.copy(acc, this.accLen, from, to);
    this.accLen = need;
  }
}
