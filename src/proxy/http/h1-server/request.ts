/**
 * @module proxy/http/h1-server/request
 * The request object the lean HTTP/1.1 server gives the pipeline: method, target and
 * headers as parsed, and the body as a Readable that exists only when needed (first body
 * byte, or first use). A bodyless request never allocates a stream. Pausing the body (or
 * not reading it) stops reading the socket once the stream's buffer is full.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { DownstreamRequest } from '../downstream.js';

type Callback = (err?: Error | null) => void;

/** What a request body needs from its connection. */
export interface BodySource {
  /** The consumer wants more: resume reading the socket. */
  readMore(): void;
  /** The consumer destroyed the body before it was complete. */
  bodyDestroyed(req: H1Request): void;
}

const BODY_OPEN = 0;
const BODY_ENDED = 1;
const BODY_ABORTED = 2;

type Listener = ((chunk: Buffer) => void) | (() => void) | ((err: Error) => void);

export class H1Request implements DownstreamRequest {
  private stream: RequestBody | undefined;
  private bodyState: number;
  /** The body stream was destroyed by its consumer. */
  destroyed = false;

  constructor(
    private readonly source: BodySource,
    readonly method: string,
    readonly url: string,
    readonly headers: IncomingHttpHeaders,
    hasBody: boolean,
  ) {
    this.bodyState = hasBody ? BODY_OPEN : BODY_ENDED;
  }

  /** The whole body has arrived (or there is none). */
  get complete(): boolean {
    return this.bodyState === BODY_ENDED;
  }

  // ── from the connection ────────────────────────────────────────────────────────────

  /** A piece of the body; false when the consumer is behind (stop reading the socket). */
  pushBody(chunk: Buffer): boolean {
    if (this.destroyed) return true;
    return this.body().push(chunk);
  }

  endBody(): void {
    if (this.bodyState !== BODY_OPEN) return;
    this.bodyState = BODY_ENDED;
    this.stream?.push(null);
  }

  /** The client went away before the body was complete. */
  abort(): void {
    if (this.bodyState !== BODY_OPEN) return;
    this.bodyState = BODY_ABORTED;
    const s = this.stream;
    if (s !== undefined && !s.destroyed) s.destroy(abortedError());
  }

  /** The response is over while the body is still arriving: nobody will read the rest. */
  dump(): void {
    const s = this.stream;
    if (s === undefined || s.destroyed) return;
    s.unpipe();
    s.removeAllListeners('data');
    s.resume();
  }

  // ── DownstreamRequest ──────────────────────────────────────────────────────────────

  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'data' | 'end' | 'error', listener: Listener): this {
    this.body().on(event, listener);
    return this;
  }

  once(event: 'data', listener: (chunk: Buffer) => void): this;
  once(event: 'end', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'data' | 'end' | 'error', listener: Listener): this {
    this.body().once(event, listener);
    return this;
  }

  pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean | undefined }): T {
    return this.body().pipe(destination, options);
  }

  unpipe(destination?: NodeJS.WritableStream): this {
    this.stream?.unpipe(destination);
    return this;
  }

  resume(): this {
    // Nothing to discard without a stream once the body is over.
    if (this.stream !== undefined || this.bodyState === BODY_OPEN) this.body().resume();
    return this;
  }

  destroy(error?: Error): this {
    if (this.stream !== undefined) {
      this.stream.destroy(error);
    } else if (!this.destroyed) {
      this.destroyed = true;
      if (this.bodyState === BODY_OPEN) this.source.bodyDestroyed(this);
    }
    return this;
  }

  /** The body stream, created on first use. */
  private body(): RequestBody {
    let s = this.stream;
    if (s === undefined) {
      s = this.stream = new RequestBody(this);
      if (this.bodyState === BODY_ENDED) s.push(null);
      else if (this.bodyState === BODY_ABORTED) s.destroy(abortedError());
    }
    return s;
  }

  /** From the stream: read more. */
  wantMore(): void {
    if (this.bodyState === BODY_OPEN && !this.destroyed) this.source.readMore();
  }

  /** From the stream: destroyed by its consumer (or aborted). */
  streamDestroyed(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.bodyState === BODY_OPEN) this.source.bodyDestroyed(this);
  }
}

function abortedError(): Error {
  const err = new Error('aborted') as Error & { code: string };
  err.code = 'ECONNRESET';
  return err;
}

/** The body stream: pushed by the connection; reading it asks the connection for more. */
class RequestBody extends Readable {
  constructor(private readonly req: H1Request) {
    super();
  }

  override _read(): void {
    this.req.wantMore();
  }

  override _destroy(err: Error | null, cb: Callback): void {
    this.req.streamDestroyed();
    // As node's IncomingMessage: an error nobody listens for is not thrown.
    cb(err !== null && this.listenerCount('error') > 0 ? err : null);
  }
}
