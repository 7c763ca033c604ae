/**
 * @module proxy/http/h1-server/response
 * The response object the lean HTTP/1.1 server gives the pipeline. writeHead() validates
 * and serialises the header fields at once (so a bad upstream header fails there, as with
 * node:http); the head goes out with the first body bytes in one socket write. Framing:
 * Content-Length when known (declared, or end(chunk) before any write), otherwise chunked
 * with trailers; no body for HEAD, 204 and 304. `date` is cached per second; `connection:
 * close` when the client asked for it, when the server drains, or when the body did not
 * match its declared length. 'close' fires once: after a normal finish (next tick, as
 * node), or when the client went away first.
 */
import { STATUS_CODES } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { DownstreamResponse } from '../downstream.js';
import { TOKEN } from '../../pool/h1-codec.js';

/** What a response needs from its connection. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** `connection: close` goes on every response (the server drains). */
  draining(): boolean;
  /** The end of the head of a response that keeps the connection open (keep-alive hint and the empty line). */
  readonly keepAliveTail: string;
  /** Every byte of the response is handed to the socket. */
  responseDone(res: H1Response): void;
}

const FRAMING_NONE = 0;
const FRAMING_LENGTH = 1;
const FRAMING_CHUNKED = 2;

/** Bodies up to this size are copied behind the head (or chunk-size line) and written at once. */
const COALESCE_BYTES = 16 * 1024;
const LAST_CHUNK = '0\r\n\r\n';

const statusLines: string[] = [];
function statusLine(status: number): string {
  return (statusLines[status] ??= `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`);
}

let dateSecond = -1;
let dateLine = '';
/** `date: <IMF-fixdate>\r\n`, recomputed once a second. */
function currentDateLine(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateLine = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

function headerError(code: string, message: string): Error {
  const err = new TypeError(message) as TypeError & { code: string };
  err.code = code;
  return err;
}

function checkName(name: string): void {
  const n = name.length;
  if (n === 0) throw headerError('ERR_INVALID_HTTP_TOKEN', 'Header name must be a valid HTTP token [""]');
  for (let i = 0; i < n; i++) {
    if (TOKEN[name.charCodeAt(i)] !== 1) throw headerError('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token [${JSON.stringify(name)}]`);
  }
}

/** Field values: HTAB, SP, VCHAR, obs-text; nothing else (no CR, LF, NUL, other controls). */
function checkValue(name: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 32 ? c !== 9 : c === 127 || c > 255) throw headerError('ERR_INVALID_CHAR', `Invalid character in header content [${JSON.stringify(name)}]`);
  }
}

function fieldLines(name: string, value: string | number | readonly string[]): string {
  if (typeof value === 'string') {
    checkValue(name, value);
    return `${name}: ${value}\r\n`;
  }
  if (typeof value === 'number') return `${name}: ${value}\r\n`;
  let s = '';
  for (const v of value) {
    const one = String(v);
    checkValue(name, one);
    s += `${name}: ${one}\r\n`;
  }
  return s;
}

interface FastBuffer extends Buffer {
  latin1Write(s: string, offset: number): number;
}

/** Emit 'close' on the next tick (scheduled without a closure). */
function emitCloseNT(res: H1Response): void {
  res.emitClose();
}

export class H1Response implements DownstreamResponse {
  statusCode = 200;
  headersSent = false;
  /** end() was called: nothing more is written. */
  finished = false;
  /** The connection must close after this response (the client asked, drain, or a framing mismatch). */
  closeAfter: boolean;
  /** The client is gone: writes are dropped. */
  private dead = false;
  /** The head is on the wire. */
  wired = false;
  /** Validated header lines (without framing, connection and date). */
  private lines = '';
  private declaredLength = -1;
  private hasDate = false;
  private framing = FRAMING_NONE;
  private written = 0;
  private pending: Record<string, string | number | readonly string[]> | undefined;
  private trailers: OutgoingHttpHeaders | undefined;
  private closeEmitted = false;
  private closeListeners: (() => void)[] | undefined;
  private drainListeners: (() => void)[] | undefined;

  constructor(
    private readonly owner: ResponseOwner,
    /** The request was HEAD: never a body. */
    private readonly headRequest: boolean,
    /** The client asked to close the connection. */
    clientClose: boolean,
  ) {
    this.closeAfter = clientClose;
  }

  // ── DownstreamResponse ────────────────────────────────────────────────────────────

  setHeader(name: string, value: string | number | readonly string[]): this {
    if (this.headersSent) throw headerError('ERR_HTTP_HEADERS_SENT', 'Cannot set headers after they are sent to the client');
    checkName(name);
    (this.pending ??= Object.create(null) as Record<string, string | number | readonly string[]>)[name.toLowerCase()] = value;
    return this;
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    if (this.headersSent) throw headerError('ERR_HTTP_HEADERS_SENT', 'Cannot write headers after they are sent to the client');
    if (!Number.isInteger(status) || status < 100 || status > 999) throw headerError('ERR_HTTP_INVALID_STATUS_CODE', `Invalid status code: ${status}`);
    let lines = '';
    const pending = this.pending;
    if (pending !== undefined) {
      for (const name in pending) {
        if (headers !== undefined && headers[name] !== undefined) continue;
        lines += this.field(name, pending[name] as string | number | readonly string[]);
      }
    }
    if (headers !== undefined) {
      for (const name in headers) {
        const value = headers[name];
        if (value !== undefined) lines += this.field(name, value);
      }
    }
    this.statusCode = status;
    this.lines = lines;
    this.headersSent = true;
    return this;
  }

  write(chunk: Buffer): boolean {
    if (this.finished || this.dead) return true;
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (!this.wired) return this.start(chunk, false);
    return this.body(chunk);
  }

  end(chunk?: Buffer): this {
    if (this.finished) return this;
    this.finished = true;
    if (!this.dead) {
      if (!this.headersSent) this.writeHead(this.statusCode);
      if (!this.wired) {
        this.start(chunk, true);
      } else if (this.framing === FRAMING_CHUNKED) {
        this.lastChunk(chunk);
      } else if (chunk !== undefined) {
        this.body(chunk);
      }
      if (this.framing === FRAMING_LENGTH && this.written < this.declaredLength) this.closeAfter = true; // the client waits for bytes that never come
      this.owner.responseDone(this);
    }
    process.nextTick(emitCloseNT, this);
    return this;
  }

  addTrailers(headers: OutgoingHttpHeaders): void {
    this.trailers = headers;
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    if (event === 'close') (this.closeListeners ??= []).push(listener);
    else (this.drainListeners ??= []).push(listener);
    return this;
  }

  writeContinue(): void {
    if (!this.wired && !this.dead) this.owner.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
  }

  destroy(): this {
    this.owner.socket.destroy();
    return this;
  }

  // ── from the connection ────────────────────────────────────────────────────────────

  /** The socket drained. */
  emitDrain(): void {
    const ls = this.drainListeners;
    if (ls === undefined || ls.length === 0) return;
    this.drainListeners = undefined;
    for (const l of ls) l();
  }

  /** The client went away: drop what is still written, tell the listeners. */
  abort(): void {
    this.dead = true;
    this.emitClose();
  }

  emitClose(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    const ls = this.closeListeners;
    if (ls === undefined) return;
    this.closeListeners = undefined;
    for (const l of ls) l();
  }

  // ── serialisation ─────────────────────────────────────────────────────────────────

  /** One header field as lines; framing and connection fields are recorded, not copied. */
  private field(name: string, value: string | number | readonly string[]): string {
    let lower = name;
    const n = name.length;
    if (n === 4 || n === 10 || n === 14 || n === 17) lower = name.toLowerCase();
    switch (lower) {
      case 'content-length': {
        const v = Array.isArray(value) ? (value.length === 1 ? String(value[0]) : '') : String(value);
        if (v.length === 0 || v.length > 15) throw headerError('ERR_HTTP_INVALID_HEADER_VALUE', `Invalid value "${v}" for header "content-length"`);
        let len = 0;
        for (let i = 0; i < v.length; i++) {
          const d = v.charCodeAt(i) - 48;
          if (d < 0 || d > 9) throw headerError('ERR_HTTP_INVALID_HEADER_VALUE', `Invalid value "${v}" for header "content-length"`);
          len = len * 10 + d;
        }
        this.declaredLength = len;
        return '';
      }
      case 'transfer-encoding':
        // The framing is this server's to choose.
        return '';
      case 'connection': {
        const v = String(value).toLowerCase();
        if (v === 'close' || v.split(',').some((t) => t.trim() === 'close')) this.closeAfter = true;
        return '';
      }
      case 'date':
        this.hasDate = true;
        break;
    }
    checkName(name);
    return fieldLines(name, value);
  }

  /**
   * Put the head on the wire with the first body bytes (and the end of the body when
   * `ending`). The framing is decided here: end(chunk) before any write knows the length.
   */
  private start(chunk: Buffer | undefined, ending: boolean): boolean {
    this.wired = true;
    const status = this.statusCode;
    let head = statusLine(status) + this.lines;
    if (!this.hasDate) head += currentDateLine();
    const bodyless = this.headRequest || status === 204 || status === 304 || status < 200;
    if (bodyless) {
      this.framing = FRAMING_NONE;
      if (this.declaredLength >= 0) head += `content-length: ${this.declaredLength}\r\n`;
    } else if (this.declaredLength >= 0) {
      this.framing = FRAMING_LENGTH;
      head += `content-length: ${this.declaredLength}\r\n`;
    } else if (ending && this.trailers === undefined) {
      this.framing = FRAMING_LENGTH;
      this.declaredLength = chunk === undefined ? 0 : chunk.length;
      head += `content-length: ${this.declaredLength}\r\n`;
    } else {
      this.framing = FRAMING_CHUNKED;
      head += 'transfer-encoding: chunked\r\n';
    }
    if (this.closeAfter || this.owner.draining()) {
      this.closeAfter = true;
      head += 'connection: close\r\n\r\n';
    } else {
      head += this.owner.keepAliveTail;
    }
    const socket = this.owner.socket;
    if (this.framing === FRAMING_CHUNKED) {
      if (chunk !== undefined && chunk.length > 0) head += `${chunk.length.toString(16)}\r\n`;
      else chunk = undefined;
      if (ending) {
        const tail = chunk !== undefined ? `\r\n${this.trailerSection()}` : this.trailerSection();
        if (chunk === undefined) return socket.write(head + tail, 'latin1');
        return this.writeJoined(head, chunk, tail);
      }
      return chunk === undefined ? socket.write(head, 'latin1') : this.writeJoined(head, chunk, '\r\n');
    }
    if (this.framing === FRAMING_NONE || chunk === undefined || chunk.length === 0) return socket.write(head, 'latin1');
    chunk = this.fit(chunk);
    return chunk.length === 0 ? socket.write(head, 'latin1') : this.writeJoined(head, chunk, '');
  }

  /** Body bytes after the head. */
  private body(chunk: Buffer): boolean {
    const socket = this.owner.socket;
    switch (this.framing) {
      case FRAMING_LENGTH:
        chunk = this.fit(chunk);
        return chunk.length === 0 ? true : socket.write(chunk);
      case FRAMING_CHUNKED:
        if (chunk.length === 0) return true; // an empty chunk would end the body
        return this.writeJoined(`${chunk.length.toString(16)}\r\n`, chunk, '\r\n');
      default:
        return true;
    }
  }

  /** A content-length body: never more than declared (the excess would be read as the next response). */
  private fit(chunk: Buffer): Buffer {
    const room = this.declaredLength - this.written;
    if (chunk.length > room) {
      this.closeAfter = true;
      chunk = chunk.subarray(0, room);
    }
    this.written += chunk.length;
    return chunk;
  }

  private lastChunk(chunk: Buffer | undefined): void {
    const socket = this.owner.socket;
    if (chunk !== undefined && chunk.length > 0) this.writeJoined(`${chunk.length.toString(16)}\r\n`, chunk, `\r\n${this.trailerSection()}`);
    else socket.write(this.trailerSection(), 'latin1');
  }

  /** The last chunk and the trailer section. */
  private trailerSection(): string {
    const t = this.trailers;
    if (t === undefined) return LAST_CHUNK;
    let s = '0\r\n';
    for (const name in t) {
      const value = t[name];
      if (value === undefined) continue;
      try {
        checkName(name);
        s += fieldLines(name, value);
      } catch {
        // An invalid trailer is dropped: the body is already on its way.
      }
    }
    return `${s}\r\n`;
  }

  /** `prefix` (latin1) + data + `suffix` (latin1) in one write. */
  private writeJoined(prefix: string, data: Buffer, suffix: string): boolean {
    const socket = this.owner.socket;
    if (data.length > COALESCE_BYTES) {
      socket.cork();
      socket.write(prefix, 'latin1');
      let ok = socket.write(data);
      if (suffix.length > 0) ok = socket.write(suffix, 'latin1');
      socket.uncork();
      return ok;
    }
    const p = prefix.length;
    const buf = Buffer.allocUnsafe(p + data.length + suffix.length) as FastBuffer;
    buf.latin1Write(prefix, 0);
    data.copy(buf, p);
    if (suffix.length > 0) buf.latin1Write(suffix, p + data.length);
    return socket.write(buf);
  }
}
