/**
 * @module proxy/pool/h1-call
 * One request through the HTTP/1.1 pool: the UpstreamCall the router holds, the Writable it
 * writes the request body into, and the Readable that carries the response body.
 *
 * A call is queued (waiting for a connection), attached to a connection, or over. Body writes
 * made while queued are held (the Writable's own buffering does the rest) and written when a
 * connection takes the call; writes after the exchange ended are dropped.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable, Writable } from 'node:stream';
import type { BodyFraming } from './h1-codec.js';
import type { H1Connection } from './h1-connection.js';
import type { UpstreamCall, UpstreamFailure, UpstreamHandlers } from './upstream.js';

type Callback = (err?: Error | null) => void;

/** What a call needs from its pool. */
export interface CallOwner {
  /** Take a queued call out of the queue (it was aborted). */
  cancel(call: H1Call): void;
}

export class H1Call implements UpstreamCall {
  /** The connection carrying this call, while it does. */
  conn: H1Connection | undefined;
  /** Waiting in the pool's queue for a connection. */
  queued = false;
  /** A handler fired (response or error) or the call was aborted: no further handler. */
  settled = false;
  aborted = false;
  /** The request head is on the wire. */
  headSent = false;
  /** The whole request (head and body) is written. */
  reqDone = false;
  /** Body bytes written (content-length framing). */
  written = 0;
  /** onContinue was called. */
  continued = false;
  private heldChunk: Buffer | undefined;
  private heldCb: Callback | undefined;
  private heldFinal: Callback | undefined;
  private sink: RequestBody | undefined;

  constructor(
    private readonly owner: CallOwner,
    readonly handlers: UpstreamHandlers,
    /** Serialised request line and headers (latin1). */
    readonly head: string,
    readonly framing: BodyFraming,
    /** Declared body length (content-length framing). */
    readonly length: number,
    readonly headRequest: boolean,
    readonly expectContinue: boolean,
  ) {}

  /** Created on first use: bodyless requests never pay for a stream. */
  get body(): Writable {
    return (this.sink ??= new RequestBody(this));
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.settled = true;
    if (this.queued) this.owner.cancel(this);
    this.conn?.abort(this);
    this.releaseHeld();
  }

  /** Report a failure unless a handler already fired or the call was aborted. */
  fail(kind: UpstreamFailure, err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.handlers.onError(kind, err);
  }

  write(chunk: Buffer, cb: Callback): void {
    const conn = this.conn;
    if (conn !== undefined) {
      conn.writeBody(this, chunk, cb);
    } else if (this.queued) {
      this.heldChunk = chunk;
      this.heldCb = cb;
    } else {
      cb(); // the exchange is over: nobody reads these bytes
    }
  }

  end(cb: Callback): void {
    const conn = this.conn;
    if (conn !== undefined) conn.endBody(this, cb);
    else if (this.queued) this.heldFinal = cb;
    else cb();
  }

  /** A connection took the call: write what the router wrote while it was queued. */
  flushHeld(conn: H1Connection): void {
    const chunk = this.heldChunk;
    const cb = this.heldCb;
    if (chunk !== undefined && cb !== undefined) {
      this.heldChunk = this.heldCb = undefined;
      conn.writeBody(this, chunk, cb);
    }
    const final = this.heldFinal;
    if (final !== undefined && this.conn === conn) {
      this.heldFinal = undefined;
      conn.endBody(this, final);
    }
  }

  /** The call is over: let the request body stream finish (what it still writes is dropped). */
  releaseHeld(): void {
    const cb = this.heldCb;
    const final = this.heldFinal;
    this.heldChunk = this.heldCb = this.heldFinal = undefined;
    cb?.();
    final?.();
  }
}

/** The request body sink handed to the router (`pipe()` into it or `end(buffer)`). */
export class RequestBody extends Writable {
  constructor(private readonly call: H1Call) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: Callback): void {
    this.call.write(chunk, cb);
  }

  override _final(cb: Callback): void {
    this.call.end(cb);
  }
}

/** What a response body needs from its connection. */
export interface BodySource {
  /** The consumer wants more: resume reading the socket. */
  readMore(): void;
  /** The consumer destroyed the body before it was complete. */
  bodyDestroyed(body: ResponseBody): void;
}

/** The response body: pushed by the connection; pausing it stops reading the socket. */
export class ResponseBody extends Readable {
  source: BodySource | undefined;
  trailers: IncomingHttpHeaders | undefined;
  readonly getTrailers = (): IncomingHttpHeaders | undefined => this.trailers;

  constructor(source: BodySource) {
    super();
    this.source = source;
  }

  override _read(): void {
    this.source?.readMore();
  }

  override _destroy(err: Error | null, cb: Callback): void {
    const source = this.source;
    if (source !== undefined) {
      this.source = undefined;
      source.bodyDestroyed(this);
    }
    // As node's IncomingMessage: an error nobody listens for is not thrown.
    cb(err !== null && this.listenerCount('error') > 0 ? err : null);
  }
}
