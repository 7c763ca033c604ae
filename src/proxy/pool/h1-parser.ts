/**
 * @module proxy/pool/h1-parser
 * Streaming, strict HTTP/1.1 response parser for the upstream pool. Fed raw socket chunks,
 * it reports interim (1xx) responses, the final head, body chunks (zero-copy slices of the
 * input), trailers and completion to a sink; anything that could desynchronise a reused
 * connection (obs-fold, bare CR/LF, control characters, duplicate or conflicting framing
 * headers, oversized heads) is an error, reported once through the sink, never thrown.
 *
 * The head is located with `indexOf` on the Buffer and decoded with one latin1 slice; only
 * a head split across socket reads is copied (into a per-connection accumulator).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { H1ProtocolError, MAX_HEAD_BYTES } from './h1-codec.js';
import { BLOCK_MORE, BLOCK_TOO_LARGE, ChunkSizeLine, HeadBlock, HeadersBag, addField, scanField } from './h1-fields.js';
import type { FieldLine } from './h1-fields.js';
import type { H1ErrorCode } from './h1-codec.js';

export interface ResponseSink {
  /** A 1xx interim response (never 101). */
  onInterim(status: number): void;
  /** The final response head. */
  onHead(status: number, headers: IncomingHttpHeaders): void;
  /** A piece of the body (a slice of the parser's input). */
  onBody(chunk: Buffer): void;
  /** The response is complete; trailers of a chunked body when it had any. */
  onComplete(trailers: IncomingHttpHeaders | undefined): void;
  /** The response is malformed; the parser is dead until reset(). */
  onParseError(err: H1ProtocolError): void;
}

const S_HEAD = 0;
const S_LENGTH = 1;
const S_CLOSE = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_DATA = 4;
const S_CHUNK_END = 5;
const S_TRAILERS = 6;
const S_DONE = 7;
const S_DEAD = 8;

// Chunk-size line: hex digits, optional BWS before ';', extensions, CRLF.

const NEED_MORE = -1;
const FAILED = -2;

/** Chunk sizes up to 2^48 - 1 (12 hex digits): integers stay exact. */

export class ResponseParser {
  private readonly line: FieldLine = { name: '', value: '', error: '' };
  private state = S_DEAD;
  private headRequest = false;
  /** Bytes left of a content-length body or of the current chunk. */
  private remaining = 0;
  private readonly chunkLine = new ChunkSizeLine();
  private crlfSeen = 0;
  // the head or trailer block, in place or accumulated across reads
  private readonly block = new HeadBlock();
  // per-message results
  private contentLength = -1;
  private transferEncoding: string | undefined;
  private connClose = false;
  private connKeepAlive = false;
  /** HTTP minor version of the final response. */
  minor = 1;
  /** The connection may carry another request after this response. */
  keepAlive = true;
  /** The server's `Keep-Alive: timeout=N` hint in seconds, or -1. */
  keepAliveTimeoutS = -1;

  constructor(private readonly sink: ResponseSink) {}

  /** Prepare for the response to the next request. */
  reset(headRequest: boolean): void {
    this.state = S_HEAD;
    this.headRequest = headRequest;
    this.block.accLen = 0;
    this.keepAlive = true;
    this.keepAliveTimeoutS = -1;
  }

  /** Stop: no more sink calls until reset(). */
  kill(): void {
    this.state = S_DEAD;
    this.block.drop();
  }

  /** Waiting for (more of) a response head, nothing of it received yet. */
  get idle(): boolean {
    return this.state === S_HEAD && this.block.accLen === 0;
  }

  get done(): boolean {
    return this.state === S_DONE;
  }

  /**
   * Parse a chunk. Returns the bytes consumed: less than `buf.length` only when the message
   * completed before the end of the chunk (the rest belongs to nobody).
   */
  execute(buf: Buffer): number {
    const len = buf.length;
    let off = 0;
    while (off < len) {
      switch (this.state) {
        case S_HEAD: {
          const end = this.takeBlock(buf, off, false);
          if (end < 0) return len;
          off = end;
          this.head(); // S_DONE (bodyless) and S_DEAD end the loop below
          break;
        }
        case S_LENGTH: {
          const n = Math.min(this.remaining, len - off);
          this.sink.onBody(off === 0 && n === len ? buf : buf.subarray(off, off + n));
          off += n;
          if (this.state !== S_LENGTH) return len;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.complete(undefined);
            return off;
          }
          break;
        }
        case S_CLOSE:
          this.sink.onBody(off === 0 ? buf : buf.subarray(off));
          return len;
        case S_CHUNK_SIZE:
          off = this.chunkSizeLine(buf, off);
          if (off < 0) return len;
          break;
        case S_CHUNK_DATA: {
          const n = Math.min(this.remaining, len - off);
          this.sink.onBody(off === 0 && n === len ? buf : buf.subarray(off, off + n));
          off += n;
          if (this.state !== S_CHUNK_DATA) return len;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = S_CHUNK_END;
            this.crlfSeen = 0;
          }
          break;
        }
        case S_CHUNK_END: {
          const c = buf[off++];
          if (c !== (this.crlfSeen === 0 ? 13 : 10)) return this.fail('INVALID', 'chunk data not followed by CRLF');
          if (++this.crlfSeen === 2) this.startChunkLine();
          break;
        }
        case S_TRAILERS: {
          const end = this.takeBlock(buf, off, true);
          if (end < 0) return len;
          off = end;
          if (this.block.end === this.block.start) {
            this.complete(undefined);
          } else {
            const t = new HeadersBag();
            if (!this.fields(this.text(), 0, t, true)) return len;
            this.complete(t);
          }
          return off;
        }
        default:
          // S_DONE (bytes after a complete response) or S_DEAD.
          return off;
      }
    }
    return off;
  }

  /** The peer closed its side. True when that completed a close-delimited body. */
  finish(): boolean {
    if (this.state !== S_CLOSE) return false;
    this.complete(undefined);
    return true;
  }

  private complete(trailers: IncomingHttpHeaders | undefined): void {
    this.state = S_DONE;
    this.block.trim();
    this.sink.onComplete(trailers);
  }

  private fail(kind: 'INVALID' | 'TOO_LARGE', message: string): typeof FAILED {
    this.kill();
    const code: H1ErrorCode = kind === 'INVALID' ? 'STRATA_H1_INVALID_RESPONSE' : 'STRATA_H1_HEADERS_TOO_LARGE';
    this.sink.onParseError(new H1ProtocolError(code, `invalid upstream response: ${message}`));
    return FAILED;
  }

  private text(): string {
    return this.block.text();
  }

  /** The head or trailer block from `off`: the offset just after it, NEED_MORE, or FAILED (reported). */
  private takeBlock(buf: Buffer, off: number, allowEmpty: boolean): number {
    const r = this.block.take(buf, off, allowEmpty, MAX_HEAD_BYTES);
    if (r >= 0 || r === BLOCK_MORE) return r === BLOCK_MORE ? NEED_MORE : r;
    return r === BLOCK_TOO_LARGE ? this.tooLarge() : this.fail('INVALID', 'bare CR in trailer section');
  }

  private tooLarge(): typeof FAILED {
    return this.fail('TOO_LARGE', `${this.state === S_HEAD ? 'head' : 'trailer section'} larger than ${MAX_HEAD_BYTES} bytes`);
  }

  /** Parse the head block and report it; the state says what comes next. */
  private head(): void {
    const s = this.text();
    // Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF
    if (!s.startsWith('HTTP/1.')) return void this.bad(`status line ${JSON.stringify(s.slice(0, 40))}`);
    const minor = s.charCodeAt(7) - 48;
    if ((minor !== 0 && minor !== 1) || s.charCodeAt(8) !== 32) return void this.bad(`status line ${JSON.stringify(s.slice(0, 40))}`);
    const d0 = s.charCodeAt(9) - 48;
    const d1 = s.charCodeAt(10) - 48;
    const d2 = s.charCodeAt(11) - 48;
    if (!(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) return void this.bad(`status code in ${JSON.stringify(s.slice(0, 40))}`);
    const status = d0 * 100 + d1 * 10 + d2;
    let i = 12;
    let c = s.charCodeAt(i);
    if (c === 32) {
      c = s.charCodeAt(++i);
      while (c === 9 || (c >= 32 && c !== 127)) c = s.charCodeAt(++i);
    }
    if (c !== 13 || s.charCodeAt(i + 1) !== 10) return void this.bad('invalid character in status line');
    this.contentLength = -1;
    this.transferEncoding = undefined;
    this.connClose = false;
    this.connKeepAlive = false;
    this.keepAliveTimeoutS = -1;
    const headers = new HeadersBag();
    if (!this.fields(s, i + 2, headers, false)) return;
    if (status < 200) {
      if (status === 101) return void this.bad('101 Switching Protocols without an upgrade request');
      // Interim response: the final one follows.
      this.sink.onInterim(status);
      return;
    }
    const te = this.transferEncoding as string | undefined; // set by fields()
    const cl = this.contentLength;
    if (te !== undefined && cl >= 0) return void this.bad('both content-length and transfer-encoding');
    const chunked = te !== undefined;
    if (chunked && te.trim().toLowerCase() !== 'chunked') return void this.bad(`unsupported transfer-encoding ${JSON.stringify(te.slice(0, 40))}`);
    this.minor = minor;
    this.keepAlive = minor === 1 ? !this.connClose : this.connKeepAlive && !this.connClose;
    const bodyless = this.headRequest || status === 204 || status === 304;
    if (bodyless) {
      this.state = S_DONE; // so a sink that aborts sees a finished parser
    } else if (chunked) {
      if (minor === 0) this.keepAlive = false;
      this.startChunkLine();
    } else if (cl > 0) {
      this.state = S_LENGTH;
      this.remaining = cl;
    } else if (cl < 0) {
      this.state = S_CLOSE;
      this.keepAlive = false;
    } else {
      this.state = S_DONE;
    }
    const next = this.state;
    this.sink.onHead(status, headers);
    if (next === S_DONE && this.state === S_DONE) this.complete(undefined);
  }

  /** Report a malformed message; returns false for `return this.bad(...)` in boolean paths. */
  private bad(message: string): false {
    this.fail('INVALID', message);
    return false;
  }

  /**
   * Parse header lines of `s` from `i` (each `name: value CRLF`) into `h`. Framing and
   * connection fields are recorded for a head, not for trailers.
   */
  private fields(s: string, i: number, h: IncomingHttpHeaders, trailer: boolean): boolean {
    const end = s.length;
    const f = this.line;
    while (i < end) {
      i = scanField(s, i, f);
      if (i < 0) return this.bad(f.error);
      const name = f.name;
      const value = f.value;
      if (!trailer) {
        switch (name) {
          case 'content-length':
            if (this.contentLength >= 0) return this.bad('duplicate content-length');
            this.contentLength = parseDecimal(value, 15);
            if (this.contentLength < 0) return this.bad(`invalid content-length ${JSON.stringify(value.slice(0, 40))}`);
            break;
          case 'transfer-encoding':
            if (this.transferEncoding !== undefined) return this.bad('duplicate transfer-encoding');
            this.transferEncoding = value;
            break;
          case 'connection':
            this.connection(value);
            break;
          case 'keep-alive': {
            const t = keepAliveTimeout(value);
            if (t >= 0) this.keepAliveTimeoutS = t;
            break;
          }
        }
      }
      addField(h, name, value);
    }
    return true;
  }

  private connection(value: string): void {
    const v = value.toLowerCase();
    if (v === 'keep-alive') {
      this.connKeepAlive = true;
      return;
    }
    if (v === 'close') {
      this.connClose = true;
      return;
    }
    for (const token of v.split(',')) {
      const t = token.trim();
      if (t === 'close') this.connClose = true;
      else if (t === 'keep-alive') this.connKeepAlive = true;
    }
  }

  private startChunkLine(): void {
    this.state = S_CHUNK_SIZE;
    this.chunkLine.reset();
  }

  /** Consume (part of) a chunk-size line. Returns the new offset, or FAILED. */
  private chunkSizeLine(buf: Buffer, off: number): number {
    const line = this.chunkLine;
    const next = line.feed(buf, off);
    if (next < 0) return this.fail('INVALID', line.error);
    if (line.done) {
      if (line.size === 0) {
        this.state = S_TRAILERS;
      } else {
        this.state = S_CHUNK_DATA;
        this.remaining = line.size;
      }
    }
    return next;
  }
}

/** Digits only (1..maxDigits of them) → the number, else -1. No regex on the per-response path. */
export function parseDecimal(value: string, maxDigits: number): number {
  const n = value.length;
  if (n === 0 || n > maxDigits) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** The `timeout=N` parameter of a Keep-Alive header (case-insensitive), or -1. */
export function keepAliveTimeout(value: string): number {
  const lower = value.length < 256 ? value.toLowerCase() : value.slice(0, 256).toLowerCase();
  let at = lower.indexOf('timeout=');
  while (at > 0) {
    const before = lower.charCodeAt(at - 1);
    if (before === 32 || before === 9 || before === 44) break; // space, tab, comma
    at = lower.indexOf('timeout=', at + 1);
  }
  if (at < 0) return -1;
  let end = at + 8;
  while (end < lower.length && end - at - 8 < 9 && lower.charCodeAt(end) >= 48 && lower.charCodeAt(end) <= 57) end++;
  return parseDecimal(lower.slice(at + 8, end), 9);
}
