/**
 * @module proxy/http/h1-server/request-parser
 * Streaming, strict HTTP/1.1 request parser for the downstream server. A proxy that parses
 * a request differently from the server behind it can be made to smuggle a second request,
 * so anything ambiguous is refused before a byte is forwarded: obs-fold, bare CR / LF / NUL
 * and other control characters, whitespace before a colon, header names that are not
 * tokens, Content-Length that is not plain digits or comes twice, any Transfer-Encoding
 * other than `chunked`, Content-Length together with Transfer-Encoding, a missing or
 * repeated Host, oversized header sections and chunk sizes that overflow.
 *
 * The head is found with `indexOf` and decoded from one latin1 slice; only a head split
 * across socket reads is copied. Body chunks are zero-copy slices of the input. Errors are
 * reported once through the sink (status 400, 431 or 501), never thrown. The parser mirrors
 * the upstream response parser (`pool/h1-parser.ts`) and shares its character tables.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { BLOCK_MORE, BLOCK_TOO_LARGE, ChunkSizeLine, HeadBlock, HeadersBag, addField, quote, scanField } from '../../pool/h1-fields.js';
import type { FieldLine } from '../../pool/h1-fields.js';
import { TOKEN } from '../../pool/h1-codec.js';

/** A request the parser refuses: the status to answer with and what was wrong. */
export class RequestParseError extends Error {
  constructor(
    readonly status: 400 | 431 | 501,
    message: string,
  ) {
    super(message);
    this.name = 'RequestParseError';
  }
}

export interface RequestSink {
  /**
   * A request head (read it from the parser's fields). Return false to stop right after
   * the head: the parser then holds still (execute() consumes nothing) until next().
   */
  onHead(): boolean;
  /** A piece of the body: a slice of the parser's input. */
  onBody(chunk: Buffer): void;
  /** The request (head and body, trailers dropped) is complete. */
  onComplete(): void;
  /** The request is malformed; the parser is dead. */
  onParseError(err: RequestParseError): void;
}

/** How the body of the current request is framed. */
export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
export type BodyKind = typeof BODY_NONE | typeof BODY_LENGTH | typeof BODY_CHUNKED;

/** The request target form (RFC 9112 §3.2). */
export const TARGET_ORIGIN = 0;
export const TARGET_ABSOLUTE = 1;
export const TARGET_AUTHORITY = 2;
export const TARGET_ASTERISK = 3;
export type TargetForm = typeof TARGET_ORIGIN | typeof TARGET_ABSOLUTE | typeof TARGET_AUTHORITY | typeof TARGET_ASTERISK;

const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNK_SIZE = 2;
const S_CHUNK_DATA = 3;
const S_CHUNK_END = 4;
const S_TRAILERS = 5;
/** The sink stopped after the head. */
const S_HELD = 6;
const S_DONE = 7;
const S_DEAD = 8;

// Chunk-size line: hex digits, optional BWS before ';', extensions, CRLF.

const NEED_MORE = -1;
const FAILED = -2;

// Early check of an incomplete head (so garbage fails at once, not at the header timeout).
const EC_METHOD = 0;
const EC_TARGET = 1;
const EC_VERSION = 2;
const EC_LF = 3;
const EC_FIELDS = 4;
const VERSION_PREFIX = 'HTTP/1.';

/** Empty lines tolerated before a request line (RFC 9112 §2.2). */
const MAX_LEADING_CRLF = 16;

/** Request-target bytes: visible ASCII and obs-text; no space, no control character. */
const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;
for (let c = 0x80; c <= 0xff; c++) TARGET[c] = 1;

/** Host bytes: reg-name / IP-literal / port (unreserved, pct-encoded, sub-delims, ':', '[', ']'). */
const HOST = new Uint8Array(256);
for (const c of "-._~%!$&'()*+,;=:[]") HOST[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) HOST[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) HOST[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) HOST[c] = 1;

export class RequestParser {
  private readonly line: FieldLine = { name: '', value: '', error: '' };
  private state = S_HEAD;
  /** Bytes left of a content-length body or of the current chunk. */
  private remaining = 0;
  private readonly chunkLine = new ChunkSizeLine();
  private crlfSeen = 0;
  private leadingCrlf = 0;
  /** A CR before a request line ended the last input: an LF must follow. */
  private crPending = false;
  // early check of an incomplete head: state, count in that state, bytes of `acc` checked
  private ec = EC_METHOD;
  private ecCount = 0;
  private ecDone = 0;
  // the head or trailer block, in place or accumulated across reads
  private readonly block = new HeadBlock();

  // ── the current request (valid from onHead() on) ──────────────────────────────────
  method = '';
  /** The request target as received. */
  url = '';
  targetForm: TargetForm = TARGET_ORIGIN;
  /** HTTP minor version: 1, or 0 for HTTP/1.0. */
  minor = 1;
  headers: IncomingHttpHeaders = new HeadersBag();
  bodyKind: BodyKind = BODY_NONE;
  /** Declared Content-Length, or -1. */
  contentLength = -1;
  /** The client asked to close the connection after this request (`Connection: close`). */
  connClose = false;
  /** An Upgrade header is present. */
  upgrade = false;
  /** An Expect header is present. */
  expect = false;
  private transferEncoding: string | undefined;
  private hostCount = 0;

  constructor(
    private readonly sink: RequestSink,
    /** Limit of the request line + header section, and of a trailer section (431 above). */
    readonly maxHeadBytes: number,
  ) {}

  /** Get ready for the next request on the connection. */
  next(): void {
    this.state = S_HEAD;
    this.block.accLen = 0;
    this.leadingCrlf = 0;
    this.crPending = false;
    this.ec = EC_METHOD;
    this.ecCount = 0;
    this.ecDone = 0;
  }

  /** Stop: no more sink calls. */
  kill(): void {
    this.state = S_DEAD;
    this.block.drop();
  }

  /** Nothing of a request received yet (between requests). */
  get idle(): boolean {
    return this.state === S_HEAD && this.block.accLen === 0 && this.leadingCrlf === 0 && !this.crPending;
  }

  /** The whole request (head and body) has been parsed. */
  get done(): boolean {
    return this.state === S_DONE;
  }

  /** Parsing the request head (nothing of the body yet). */
  get inHead(): boolean {
    return this.state === S_HEAD;
  }

  /** The raw bytes of the head just reported (a copy when the head spanned reads). */
  rawHead(): Buffer {
    const k = this.block;
    const b = k.buf.subarray(k.start, k.end + 2);
    return k.buf === k.acc ? Buffer.from(b) : b;
  }

  /**
   * Parse `buf` from `off`. Returns the offset reached: `buf.length`, or less when the
   * request completed (or the sink held the parser after the head) before the end.
   */
  execute(buf: Buffer, off: number): number {
    const len = buf.length;
    while (off < len) {
      switch (this.state) {
        case S_HEAD: {
          if (this.block.accLen === 0) {
            // Empty lines before a request line are ignored (a CRLF after a body, from old clients).
            if (this.crPending) {
              if (buf[off] !== 10) {
                this.fail(400, 'bare CR before request line');
                return len;
              }
              this.crPending = false;
              off++;
            }
            while (buf[off] === 13 && this.leadingCrlf < MAX_LEADING_CRLF) {
              if (off + 1 === len) {
                this.crPending = true;
                this.leadingCrlf++;
                return len;
              }
              if (buf[off + 1] !== 10) break;
              off += 2;
              this.leadingCrlf++;
            }
            if (off >= len) return len;
          }
          const end = this.takeBlock(buf, off, false);
          if (end < 0) return len;
          off = end;
          const ok = this.head();
          const after = this.state as number; // head() moved it on
          if (!ok) return after === S_DEAD ? len : off;
          if (after === S_DONE) return off;
          break;
        }
        case S_LENGTH: {
          const n = Math.min(this.remaining, len - off);
          this.remaining -= n;
          this.sink.onBody(off === 0 && n === len ? buf : buf.subarray(off, off + n));
          off += n;
          if (this.state !== S_LENGTH) return len;
          if (this.remaining === 0) {
            this.complete();
            return off;
          }
          break;
        }
        case S_CHUNK_SIZE:
          off = this.chunkSizeLine(buf, off);
          if (off < 0) return len;
          break;
        case S_CHUNK_DATA: {
          const n = Math.min(this.remaining, len - off);
          this.remaining -= n;
          if (this.remaining === 0) {
            this.state = S_CHUNK_END;
            this.crlfSeen = 0;
          }
          this.sink.onBody(off === 0 && n === len ? buf : buf.subarray(off, off + n));
          off += n;
          if (this.state !== S_CHUNK_DATA && this.state !== S_CHUNK_END) return len;
          break;
        }
        case S_CHUNK_END: {
          const c = buf[off++];
          if (c !== (this.crlfSeen === 0 ? 13 : 10)) {
            this.fail(400, 'chunk data not followed by CRLF');
            return len;
          }
          if (++this.crlfSeen === 2) this.startChunkLine();
          break;
        }
        case S_TRAILERS: {
          const end = this.takeBlock(buf, off, true);
          if (end < 0) return len;
          off = end;
          // Trailers are checked like header fields, then dropped (nothing downstream wants them).
          if (this.block.end > this.block.start && !this.fields(this.text(), 0, undefined)) return len;
          this.complete();
          return off;
        }
        default:
          // S_HELD, S_DONE (bytes of the next request) or S_DEAD.
          return off;
      }
    }
    return off;
  }

  private complete(): void {
    this.state = S_DONE;
    this.block.trim();
    this.sink.onComplete();
  }

  private fail(status: 400 | 431 | 501, message: string): typeof FAILED {
    this.kill();
    this.sink.onParseError(new RequestParseError(status, message));
    return FAILED;
  }

  private text(): string {
    return this.block.text();
  }

  /** The head or trailer block from `off`: the offset just after it, NEED_MORE, or FAILED (reported). */
  private takeBlock(buf: Buffer, off: number, allowEmpty: boolean): number {
    const r = this.block.take(buf, off, allowEmpty, this.maxHeadBytes);
    if (r >= 0) return r;
    if (r === BLOCK_MORE) return this.state === S_HEAD ? this.checkPartialHead() : NEED_MORE;
    return r === BLOCK_TOO_LARGE ? this.tooLarge() : this.fail(400, 'bare CR in trailer section');
  }

  /**
   * Check what has arrived of an incomplete head: the request line so far, and no control
   * characters or bare line feeds in the header section. Garbage is refused at once instead
   * of waiting for the header timeout; the complete head is parsed in full later anyway.
   */
  private checkPartialHead(): number {
    const acc = this.block.acc as Buffer;
    const end = this.block.accLen;
    let st = this.ec;
    let n = this.ecCount;
    for (let i = this.ecDone; i < end; i++) {
      const c = acc[i] as number;
      switch (st) {
        case EC_METHOD:
          if (TOKEN[c] === 1) {
            n++;
          } else if (c === 32 && n > 0) {
            st = EC_TARGET;
            n = 0;
          } else {
            return this.fail(400, 'invalid method in request line');
          }
          break;
        case EC_TARGET:
          if (TARGET[c] === 1) {
            n++;
          } else if (c === 32 && n > 0) {
            st = EC_VERSION;
            n = 0;
          } else {
            return this.fail(400, 'invalid request target in request line');
          }
          break;
        case EC_VERSION:
          if (n < 7 ? c !== VERSION_PREFIX.charCodeAt(n) : n === 7 ? c !== 48 && c !== 49 : c !== 13) return this.fail(400, 'invalid HTTP version in request line');
          if (++n === 9) st = EC_LF;
          break;
        case EC_LF:
          if (c !== 10) return this.fail(400, 'bare CR in request line');
          st = EC_FIELDS;
          break;
        default:
          if (c < 32 ? c !== 9 && c !== 13 && c !== 10 : c === 127) return this.fail(400, 'invalid character in header section');
          if (c === 10 && acc[i - 1] !== 13) return this.fail(400, 'bare LF in header section');
          if (c === 13 && i + 1 < end && acc[i + 1] !== 10) return this.fail(400, 'bare CR in header section');
      }
    }
    this.ec = st;
    this.ecCount = n;
    this.ecDone = end;
    return NEED_MORE;
  }

  private tooLarge(): typeof FAILED {
    const what = this.state === S_HEAD ? 'request header section' : 'trailer section';
    return this.fail(431, `${what} larger than ${this.maxHeadBytes} bytes`);
  }

  /** Parse the head block and report it. False when parsing stops here (error or held). */
  private head(): boolean {
    const s = this.text();
    const end = s.length;
    // ── request line: method SP request-target SP HTTP-version CRLF ──
    let i = 0;
    let c = s.charCodeAt(0);
    let method: string;
    if (c === 71 /* G */ && s.charCodeAt(1) === 69 && s.charCodeAt(2) === 84 && s.charCodeAt(3) === 32) {
      method = 'GET';
      i = 3;
    } else {
      while (TOKEN[c] === 1) c = s.charCodeAt(++i);
      if (i === 0 || c !== 32) return this.bad(`invalid method in request line ${quote(s.slice(0, s.indexOf('\r')))}`);
      method = s.slice(0, i);
    }
    const tStart = ++i;
    c = s.charCodeAt(i);
    while (TARGET[c] === 1) c = s.charCodeAt(++i);
    if (i === tStart || c !== 32) return this.bad(`invalid request target in request line ${quote(s.slice(0, s.indexOf('\r')))}`);
    const url = s.slice(tStart, i);
    i++;
    if (
      s.charCodeAt(i) !== 72 ||
      s.charCodeAt(i + 1) !== 84 ||
      s.charCodeAt(i + 2) !== 84 ||
      s.charCodeAt(i + 3) !== 80 ||
      s.charCodeAt(i + 4) !== 47 ||
      s.charCodeAt(i + 5) !== 49 ||
      s.charCodeAt(i + 6) !== 46 ||
      s.charCodeAt(i + 9) !== 10 ||
      s.charCodeAt(i + 8) !== 13
    ) {
      return this.bad(`invalid HTTP version in request line ${quote(s.slice(0, s.indexOf('\r')))}`);
    }
    const minor = s.charCodeAt(i + 7) - 48;
    if (minor !== 0 && minor !== 1) return this.bad(`unsupported HTTP version ${quote(s.slice(i, i + 8))}`);
    i += 10;
    // ── target form ──
    let form: TargetForm;
    const t0 = url.charCodeAt(0);
    if (t0 === 47 /* / */) {
      form = TARGET_ORIGIN;
    } else if (method === 'CONNECT') {
      form = TARGET_AUTHORITY;
    } else if (t0 === 42 /* * */ && url.length === 1) {
      if (method !== 'OPTIONS') return this.bad(`request target * with method ${method}`);
      form = TARGET_ASTERISK;
    } else if (isAbsoluteForm(url)) {
      form = TARGET_ABSOLUTE;
    } else {
      return this.bad(`invalid request target ${quote(url)}`);
    }
    this.method = method;
    this.url = url;
    this.targetForm = form;
    this.minor = minor;
    // ── header section ──
    this.contentLength = -1;
    this.transferEncoding = undefined;
    this.connClose = minor === 0;
    this.upgrade = false;
    this.expect = false;
    this.hostCount = 0;
    const headers = new HeadersBag();
    this.headers = headers;
    if (i < end && !this.fields(s, i, headers)) return false;
    // ── framing ──
    const te = this.transferEncoding as string | undefined; // set by fields()
    if (te !== undefined) {
      if (this.contentLength >= 0) return this.bad('both content-length and transfer-encoding');
      const coding = te.toLowerCase();
      if (coding !== 'chunked') {
        const last = coding.slice(coding.lastIndexOf(',') + 1).trim();
        if (last !== 'chunked') return this.bad(`transfer-encoding ${quote(te)} does not end with chunked`);
        this.fail(501, `unsupported transfer-encoding ${quote(te)}`);
        return false;
      }
      this.bodyKind = BODY_CHUNKED;
    } else if (this.contentLength > 0) {
      this.bodyKind = BODY_LENGTH;
    } else {
      this.bodyKind = BODY_NONE;
    }
    if (this.hostCount === 0 && minor === 1) return this.bad('missing host header');
    const kind = this.bodyKind;
    this.state = kind === BODY_NONE ? S_DONE : kind === BODY_LENGTH ? S_LENGTH : S_CHUNK_SIZE;
    if (kind === BODY_LENGTH) this.remaining = this.contentLength;
    else if (kind === BODY_CHUNKED) this.startChunkLine();
    const next = this.state;
    if (!this.sink.onHead()) {
      if (this.state === next) this.state = S_HELD;
      return false;
    }
    if (next === S_DONE && this.state === S_DONE) this.complete();
    return this.state === next || this.state === S_DONE;
  }

  /** Report a malformed request; returns false for `return this.bad(...)` in boolean paths. */
  private bad(message: string): false {
    this.fail(400, message);
    return false;
  }

  /**
   * Parse header lines of `s` from `i` (each `name: value CRLF`) into `h`; framing fields
   * are recorded. Without `h` (a trailer section) the lines are only checked.
   */
  private fields(s: string, i: number, h: IncomingHttpHeaders | undefined): boolean {
    const end = s.length;
    const f = this.line;
    while (i < end) {
      i = scanField(s, i, f);
      if (i < 0) return this.bad(f.error);
      if (h === undefined) continue;
      const name = f.name;
      const value = f.value;
      switch (name) {
        case 'host':
          if (++this.hostCount > 1) return this.bad('more than one host header');
          for (let k = 0; k < value.length; k++) if (HOST[value.charCodeAt(k)] !== 1) return this.bad(`invalid host ${quote(value)}`);
          break;
        case 'content-length': {
          if (this.contentLength >= 0) return this.bad('more than one content-length header');
          const n = value.length;
          if (n === 0 || n > 15) return this.bad(`invalid content-length ${quote(value)}`);
          let v = 0;
          for (let k = 0; k < n; k++) {
            const d = value.charCodeAt(k) - 48;
            if (d < 0 || d > 9) return this.bad(`invalid content-length ${quote(value)}`);
            v = v * 10 + d;
          }
          this.contentLength = v;
          break;
        }
        case 'transfer-encoding':
          if (this.transferEncoding !== undefined) return this.bad('more than one transfer-encoding header');
          this.transferEncoding = value;
          break;
        case 'connection':
          this.connection(value);
          break;
        case 'upgrade':
          this.upgrade = true;
          break;
        case 'expect':
          this.expect = true;
          break;
      }
      addField(h, name, value);
    }
    return true;
  }

  private connection(value: string): void {
    const v = value.length <= 10 ? value.toLowerCase() : '';
    if (v === 'keep-alive') {
      if (this.minor === 0) this.connClose = false;
      return;
    }
    if (v === 'close') {
      this.connClose = true;
      return;
    }
    for (const token of value.toLowerCase().split(',')) {
      const t = token.trim();
      if (t === 'close') this.connClose = true;
      else if (t === 'keep-alive' && this.minor === 0) this.connClose = false;
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
    if (next < 0) return this.fail(400, line.error);
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

/** `scheme "://" ...` with an RFC 3986 scheme (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )). */
function isAbsoluteForm(url: string): boolean {
  let c = url.charCodeAt(0) | 0x20;
  if (c < 97 || c > 122) return false;
  let i = 1;
  for (; i < url.length; i++) {
    c = url.charCodeAt(i);
    const lower = c | 0x20;
    if ((lower >= 97 && lower <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) continue;
    break;
  }
  return c === 58 && url.charCodeAt(i + 1) === 47 && url.charCodeAt(i + 2) === 47;
}
