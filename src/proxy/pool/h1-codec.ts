/**
 * @module proxy/pool/h1-codec
 * HTTP/1.1 request-head serialisation for the upstream pool, body framing, and the shared
 * character tables and protocol error of the HTTP/1.1 codec. Nothing invalid is ever
 * written: a method, path, header name or value that could split the message is refused.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { UpstreamRequest } from './upstream.js';

/** Stable codes of errors raised by the HTTP/1.1 upstream codec. */
export type H1ErrorCode =
  /** The request cannot be written safely (bad method, path, header name or value). */
  | 'STRATA_H1_INVALID_REQUEST'
  /** The upstream response breaks HTTP/1.1 framing or syntax. */
  | 'STRATA_H1_INVALID_RESPONSE'
  /** The upstream response head (or trailer section) is larger than the limit. */
  | 'STRATA_H1_HEADERS_TOO_LARGE'
  /** The connection ended before the response was complete. */
  | 'STRATA_H1_INCOMPLETE';

export class H1ProtocolError extends Error {
  constructor(
    readonly code: H1ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'H1ProtocolError';
  }
}

/** Limit of a response head (status line + header section) and of a trailer section. */
export const MAX_HEAD_BYTES = 64 * 1024;

/** tchar (RFC 9110 §5.6.2): 1 for bytes allowed in a token (method, header name). */
export const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values: HTAB, SP, VCHAR, obs-text; nothing else (no CR, LF, NUL, other controls). */
const INVALID_VALUE_RE = /[^\t\x20-\x7e\x80-\xff]/;
/** Request target: visible ASCII and obs-text; no space, no control character. */
const INVALID_PATH_RE = /[^\x21-\x7e\x80-\xff]/;
const DIGITS_RE = /^\d{1,15}$/;

/** How the request body is framed on the wire. */
export const FRAMING_NONE = 0;
export const FRAMING_LENGTH = 1;
export const FRAMING_CHUNKED = 2;
export type BodyFraming = typeof FRAMING_NONE | typeof FRAMING_LENGTH | typeof FRAMING_CHUNKED;

export type EncodedHead =
  | { readonly ok: true; readonly head: string; readonly framing: BodyFraming; readonly length: number }
  | { readonly ok: false; readonly error: H1ProtocolError };

/** Methods that carry no body by default: no `content-length: 0` when sent without one (as node:http). */
const NO_DEFAULT_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']);

function invalid(what: string): EncodedHead {
  return { ok: false, error: new H1ProtocolError('STRATA_H1_INVALID_REQUEST', `refusing to send invalid request: ${what}`) };
}

function quote(s: string): string {
  return JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);
}

/**
 * Serialise the request line and header section (ending with the empty line). `host` comes
 * from `req.authority`; framing headers (`content-length` / `transfer-encoding: chunked`)
 * follow node:http: no body → none for GET/HEAD/DELETE/OPTIONS/TRACE, `content-length: 0`
 * otherwise; a body with a declared length → raw bytes; else chunked.
 */
export function encodeRequestHead(req: UpstreamRequest): EncodedHead {
  const { method, path, authority, headers } = req;
  if (!KNOWN_METHODS.has(method) && !TOKEN_RE.test(method)) return invalid(`method ${quote(method)}`);
  if (path.length === 0 || INVALID_PATH_RE.test(path)) return invalid(`request target ${quote(path)}`);
  if (INVALID_VALUE_RE.test(authority)) return invalid(`host ${quote(authority)}`);
  const expect = req.expectContinue === true;
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${authority}\r\n`;
  let length = -1;
  for (const name in headers) {
    const value = (headers as OutgoingHttpHeaders)[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    switch (lower) {
      case 'host':
      case 'connection':
      case 'transfer-encoding':
        // Host comes from the authority; connection management and framing are the pool's.
        continue;
      case 'expect':
        if (expect) continue;
        break;
      case 'content-length': {
        const v = Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : String(value);
        if (v === undefined || !DIGITS_RE.test(v)) return invalid(`content-length ${quote(String(value))}`);
        length = Number(v);
        break;
      }
    }
    if (!TOKEN_RE.test(name)) return invalid(`header name ${quote(name)}`);
    if (typeof value === 'string') {
      if (INVALID_VALUE_RE.test(value)) return invalid(`value of header ${name}`);
      head += `${name}: ${value}\r\n`;
    } else if (typeof value === 'number') {
      head += `${name}: ${value}\r\n`;
    } else {
      for (const v of value) {
        const s = String(v);
        if (INVALID_VALUE_RE.test(s)) return invalid(`value of header ${name}`);
        head += `${name}: ${s}\r\n`;
      }
    }
  }
  if (expect) head += 'expect: 100-continue\r\n';
  let framing: BodyFraming;
  if (req.endStream) {
    framing = FRAMING_NONE;
    if (length < 0 && !NO_DEFAULT_BODY.has(method)) head += 'content-length: 0\r\n';
    length = 0;
  } else if (length >= 0) {
    framing = FRAMING_LENGTH;
  } else {
    framing = FRAMING_CHUNKED;
    head += 'transfer-encoding: chunked\r\n';
  }
  return { ok: true, head: `${head}\r\n`, framing, length };
}

/** The last chunk and an empty trailer section. */
export const LAST_CHUNK = '0\r\n\r\n';
