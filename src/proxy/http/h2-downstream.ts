/**
 * @module proxy/http/h2-downstream
 * HTTP/2 downstream exchanges on node:http2's core API: a server 'stream' event becomes an
 * H2Request / H2Response pair (the DownstreamRequest / DownstreamResponse contract) that
 * works on the ServerHttp2Stream directly, without the compatibility layer's second
 * Readable, per-stream closures and re-emitted events.
 *
 * What the compatibility layer did and these keep: CONNECT is answered 405, `expect:
 * 100-continue` gets its 100 at once and any other expectation 417; response headers are
 * lower-cased and checked as there (`connection` dropped, pseudo-headers and bad names
 * refused); a response is sent with room for trailers (an empty trailing frame when there
 * are none) unless it declares a content-length and the client did not send `te: trailers`
 * (such a response carries no trailers, as on HTTP/1.1); HEAD, 204 and 304 responses carry
 * no body; stream errors never reach the
 * request's listeners (a client reset ends the request body and closes the response, so
 * the exchange ends as a client abort); the request body is read only when asked for.
 */
import http2 from 'node:http2';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { DownstreamRequest, DownstreamResponse } from './downstream.js';

const { NGHTTP2_INTERNAL_ERROR } = http2.constants;

function ignore(): void {
  /* stream errors end the exchange through 'close' */
}

/** The request side: the head, and the stream itself as the body. */
export class H2Request implements DownstreamRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  /** Known at the head: the client ended the stream with its headers. */
  readonly endedWithHeaders: boolean;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
  ) {
    this.method = headers[':method'] as string | undefined;
    this.url = headers[':path'] as string | undefined;
    this.endedWithHeaders = stream.endAfterHeaders;
  }

  on(event: 'data' | 'end' | 'error', listener: (arg: Buffer & Error) => void): this {
    // 'error' is never emitted: a broken stream ends its body and closes the response.
    if (event !== 'error') this.stream.on(event, listener);
    return this;
  }

  once(event: 'data' | 'end' | 'error', listener: (arg: Buffer & Error) => void): this {
    if (event !== 'error') this.stream.once(event, listener);
    return this;
  }

  pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean | undefined }): T {
    return this.stream.pipe(destination, options);
  }

  unpipe(destination?: NodeJS.WritableStream): this {
    this.stream.unpipe(destination);
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }

  /** Stop reading the body (flow control then holds the client); the response is not touched. */
  destroy(): this {
    this.stream.pause();
    return this;
  }
}

function headerError(code: string, message: string): Error {
  return Object.assign(new TypeError(message), { code });
}

/** Lower-case HTTP token characters: names made of these need no normalising. */
const LOWER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-zA-Z]+$/;
const PSEUDO = new Set([':status', ':method', ':path', ':authority', ':scheme']);

type HeaderValue = string | number | readonly string[];

/** The response side: headers collected until writeHead(), then the stream's own respond/write/end. */
export class H2Response implements DownstreamResponse {
  statusCode = 200;
  private headers: OutgoingHttpHeaders | undefined;
  private trailers: OutgoingHttpHeaders | undefined;
  private ending = false;
  private destroyed = false;
  /** The stream was opened with room for trailers (see writeHead). */
  private wantsTrailers = false;

  /** `clientTakesTrailers`: the request said `te: trailers`. */
  constructor(
    readonly stream: http2.ServerHttp2Stream,
    private readonly clientTakesTrailers = false,
  ) {}

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  setHeader(name: string, value: HeaderValue): this {
    if (this.stream.headersSent) throw headerError('ERR_HTTP2_HEADERS_SENT', 'Response has already been initiated.');
    this.put(name, value);
    return this;
  }

  private put(name: string, value: HeaderValue | undefined): void {
    let n = name;
    if (!LOWER_TOKEN.test(n)) {
      n = name.trim().toLowerCase();
      if (n === '' || n.includes(' ')) throw headerError('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
      if (PSEUDO.has(n)) throw headerError('ERR_HTTP2_PSEUDOHEADER_NOT_ALLOWED', 'Cannot set HTTP/2 pseudo-headers');
    }
    if (value === undefined || value === null) throw headerError('ERR_HTTP2_INVALID_HEADER_VALUE', `Invalid value "${String(value)}" for header "${n}"`);
    // HTTP/2 has no connection-specific headers (RFC 9113 §8.2.2): Connection is dropped.
    if (n === 'connection' && value !== 'trailers') return;
    if (n.charCodeAt(0) === 58 /* ':' */) throw headerError('ERR_HTTP2_INVALID_PSEUDOHEADER', `"${n}" is an invalid pseudoheader or is used incorrectly`);
    if (!TOKEN.test(n)) this.stream.destroy(headerError('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${n}"]`));
    (this.headers ??= {})[n] = value as OutgoingHttpHeaders[string];
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return this;
    if (stream.headersSent) throw headerError('ERR_HTTP2_HEADERS_SENT', 'Response has already been initiated.');
    if (headers !== undefined) for (const name in headers) this.put(name, headers[name]);
    this.statusCode = status;
    const out = this.headers ?? {};
    this.headers = out;
    out[':status'] = status;
    // Room for trailers unless the response declares its length to a client that did not ask
    // for trailers (as on HTTP/1.1, where such a response has no chunked framing to carry
    // them): then the last DATA frame ends the stream, with no empty trailing frame after it.
    this.wantsTrailers = this.clientTakesTrailers || this.trailers !== undefined || out['content-length'] === undefined;
    stream.respond(out, { endStream: this.ending, waitForTrailers: this.wantsTrailers });
    return this;
  }

  write(chunk: Buffer): boolean {
    if (this.ending) {
      this.destroy();
      return false;
    }
    if (this.destroyed) return false;
    const stream = this.stream;
    if (!stream.headersSent) this.writeHead(this.statusCode);
    // HEAD, 204 and 304: the head ended the stream; a body has nowhere to go.
    if (stream.writableEnded) return true;
    return stream.write(chunk);
  }

  end(chunk?: Buffer): this {
    if (this.ending) return this;
    if (chunk !== undefined) this.write(chunk);
    this.ending = true;
    const stream = this.stream;
    if (!stream.headersSent) this.writeHead(this.statusCode);
    if (!stream.destroyed && !stream.writableEnded) stream.end();
    return this;
  }

  addTrailers(headers: OutgoingHttpHeaders): void {
    for (const key in headers) {
      const name = key.trim().toLowerCase();
      const value = headers[key];
      if (name === '' || name.includes(' ')) throw headerError('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${name}"]`);
      if (PSEUDO.has(name)) throw headerError('ERR_HTTP2_PSEUDOHEADER_NOT_ALLOWED', 'Cannot set HTTP/2 pseudo-headers');
      if (value === undefined || value === null) throw headerError('ERR_HTTP2_INVALID_HEADER_VALUE', `Invalid value "${String(value)}" for header "${name}"`);
      if (this.trailers === undefined) {
        this.trailers = {};
        // Without a listener node sends an empty trailing frame itself.
        if (!this.stream.headersSent || this.wantsTrailers) this.stream.once('wantTrailers', () => this.sendTrailers());
      }
      this.trailers[name] = value;
    }
  }

  private sendTrailers(): void {
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    try {
      stream.sendTrailers(this.trailers ?? {});
    } catch {
      stream.close(NGHTTP2_INTERNAL_ERROR);
    }
  }

  once(event: 'close' | 'drain', listener: () => void): this {
    this.stream.once(event, listener);
    return this;
  }

  writeContinue(): void {
    const stream = this.stream;
    if (stream.headersSent || stream.closed || stream.destroyed) return;
    stream.additionalHeaders({ ':status': 100 });
  }

  /** Abort: RST_STREAM INTERNAL_ERROR, so the client sees a failed response, not a truncated one. */
  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    if (!this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
    return this;
  }
}

/**
 * Serve one server stream: CONNECT → 405 and unknown expectations → 417 (as node's
 * compatibility layer answers them), everything else to `onRequest`.
 */
export function serveH2Stream(
  stream: http2.ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  onRequest: (req: H2Request, res: H2Response) => void,
): void {
  stream.on('error', ignore);
  const req = new H2Request(stream, headers);
  const res = new H2Response(stream, headers.te === 'trailers');
  if (req.method === 'CONNECT') {
    res.statusCode = 405;
    res.end();
    return;
  }
  const expect = headers.expect;
  if (expect !== undefined) {
    if (expect !== '100-continue') {
      res.statusCode = 417;
      res.end();
      return;
    }
    res.writeContinue();
  }
  onRequest(req, res);
}
