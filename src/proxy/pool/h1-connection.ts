/**
 * @module proxy/pool/h1-connection
 * One keep-alive HTTP/1.1 connection to an upstream: writes the request of the call it
 * carries (head and body in one write when the body is at hand), feeds the socket to the
 * response parser and turns its events into UpstreamHandlers calls and a response body
 * stream. When both directions of an exchange are complete and the response allows it, the
 * connection goes back to its owner; anything else (errors, aborts, stray bytes, close
 * delimited bodies, short request bodies) destroys it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { ResponseBody } from './h1-call.js';
import type { BodySource, H1Call } from './h1-call.js';
import { FRAMING_CHUNKED, FRAMING_LENGTH, FRAMING_NONE, H1ProtocolError, LAST_CHUNK } from './h1-codec.js';
import { ResponseParser } from './h1-parser.js';
import type { ResponseSink } from './h1-parser.js';
import { connectTimeoutError } from './upstream.js';

/** Bodies up to this size are copied behind the head and sent in one buffer. */
const COALESCE_BYTES = 16 * 1024;

/** What a connection needs from its pool. */
export interface ConnectionOwner {
  /** `host:port`, for messages. */
  readonly target: string;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** The exchange is complete and the connection can carry another request. */
  release(conn: H1Connection): void;
  /** The connection is destroyed: forget it. */
  closed(conn: H1Connection): void;
  /** Open a socket to the endpoint that hands what it reads to `onRead` (net's `onread`). */
  openSocket(onRead: (nread: number, buf: Uint8Array) => boolean): Socket;
}

export class H1Connection implements ResponseSink, BodySource {
  readonly socket: Socket;
  private readonly parser: ResponseParser;
  /** The call in flight. */
  private call: H1Call | undefined;
  private body: ResponseBody | undefined;
  private connected = false;
  private closed = false;
  /** Exchanges completed on this connection (> 0: the socket is being reused). */
  private served = 0;
  private messageDone = false;
  private paused = false;
  /** The request body did not match its framing: the upstream is out of step, never reuse. */
  private poisoned = false;
  private drainCb: (() => void) | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  /** How long this connection may stay idle (the pool's limit or the server's Keep-Alive hint). */
  keepAliveMs = 0;
  /** When this connection, idle, expires (Date.now() ms). */
  idleDeadline = 0;

  constructor(private readonly owner: ConnectionOwner) {
    this.parser = new ResponseParser(this);
    const socket = owner.openSocket(this.onRead);
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.once('connect', this.onConnect);
    this.connectTimer = setTimeout(this.onConnectTimeout, owner.connectTimeoutMs);
  }

  /** Carry `call`: write its head now unless the head waits for the first body bytes. */
  assign(call: H1Call): void {
    this.call = call;
    call.conn = this;
    this.messageDone = false;
    this.parser.reset(call.headRequest);
    if (call.framing === FRAMING_NONE) {
      call.headSent = call.reqDone = true;
      this.socket.write(call.head, 'latin1');
    } else if (call.expectContinue) {
      // The body follows the upstream's 100 Continue.
      call.headSent = true;
      this.socket.write(call.head, 'latin1');
    }
    call.flushHeld(this);
  }

  // ── request body ────────────────────────────────────────────────────────────────────

  writeBody(call: H1Call, chunk: Buffer, cb: () => void): void {
    let data = chunk;
    if (call.framing === FRAMING_LENGTH) {
      const room = call.length - call.written;
      if (data.length > room) {
        this.poisoned = true;
        data = data.subarray(0, room);
      }
      call.written += data.length;
      if (call.written === call.length) call.reqDone = true;
    }
    let ok = true;
    if (!call.headSent) {
      call.headSent = true;
      ok = this.writeHeadWith(call, data);
    } else if (data.length > 0) {
      ok = call.framing === FRAMING_CHUNKED ? this.writeChunk(data) : this.socket.write(data);
    }
    if (ok) cb();
    else this.drainCb = cb;
  }

  endBody(call: H1Call, cb: () => void): void {
    if (!call.headSent) {
      call.headSent = true;
      this.socket.write(call.framing === FRAMING_CHUNKED ? call.head + LAST_CHUNK : call.head, 'latin1');
    } else if (call.framing === FRAMING_CHUNKED) {
      this.socket.write(LAST_CHUNK, 'latin1');
    }
    if (call.framing === FRAMING_LENGTH && call.written < call.length) this.poisoned = true;
    call.reqDone = true;
    cb();
  }

  private writeHeadWith(call: H1Call, data: Buffer): boolean {
    const socket = this.socket;
    const head = call.head;
    if (data.length === 0) return socket.write(head, 'latin1');
    if (call.framing === FRAMING_CHUNKED) {
      socket.cork();
      socket.write(`${head}${data.length.toString(16)}\r\n`, 'latin1');
      socket.write(data);
      const ok = socket.write('\r\n', 'latin1');
      socket.uncork();
      return ok;
    }
    if (data.length <= COALESCE_BYTES) {
      const buf = Buffer.allocUnsafe(head.length + data.length);
      buf.write(head, 0, 'latin1');
      data.copy(buf, head.length);
      return socket.write(buf);
    }
    socket.cork();
    socket.write(head, 'latin1');
    const ok = socket.write(data);
    socket.uncork();
    return ok;
  }

  private writeChunk(data: Buffer): boolean {
    const socket = this.socket;
    socket.cork();
    socket.write(`${data.length.toString(16)}\r\n`, 'latin1');
    socket.write(data);
    const ok = socket.write('\r\n', 'latin1');
    socket.uncork();
    return ok;
  }

  // ── parser events ───────────────────────────────────────────────────────────────────

  onInterim(status: number): void {
    const call = this.call as H1Call;
    if (status === 100 && call.expectContinue && !call.continued && !call.settled) {
      call.continued = true;
      call.handlers.onContinue?.();
    }
  }

  onHead(status: number, headers: IncomingHttpHeaders): void {
    const call = this.call as H1Call;
    const body = new ResponseBody(this);
    this.body = body;
    call.settled = true;
    call.handlers.onResponse(status, headers, body, body.getTrailers);
  }

  onBody(chunk: Buffer): void {
    const body = this.body;
    if (body === undefined) return;
    // The read buffer is reused for the next read: the body gets its own copy.
    const copy = Buffer.allocUnsafe(chunk.length);
    chunk.copy(copy, 0);
    if (!body.push(copy) && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  onComplete(trailers: IncomingHttpHeaders | undefined): void {
    this.messageDone = true;
    const body = this.body;
    if (body !== undefined) {
      this.body = undefined;
      body.source = undefined;
      body.trailers = trailers;
      body.push(null);
    }
  }

  onParseError(err: H1ProtocolError): void {
    this.fail(err);
  }

  // ── response body flow control ──────────────────────────────────────────────────────

  readMore(): void {
    if (this.paused && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  bodyDestroyed(body: ResponseBody): void {
    if (this.body !== body) return;
    this.body = undefined;
    const call = this.call;
    this.call = undefined;
    if (call !== undefined) call.conn = undefined;
    this.destroy();
    call?.releaseHeld();
  }

  // ── socket events ───────────────────────────────────────────────────────────────────

  private readonly onConnect = (): void => {
    this.connected = true;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  };

  private readonly onConnectTimeout = (): void => {
    this.connectTimer = undefined;
    if (!this.connected) this.fail(connectTimeoutError(this.owner.connectTimeoutMs, this.owner.target));
  };

  /** Socket bytes, in a buffer that is overwritten by the next read. */
  private readonly onRead = (nread: number, readBuffer: Uint8Array): boolean => {
    const buf = (readBuffer as Buffer).subarray(0, nread);
    const call = this.call;
    if (call === undefined) {
      // Bytes nobody asked for (on an idle connection): the stream is out of step.
      this.destroy();
      return false;
    }
    const n = this.parser.execute(buf);
    if (this.messageDone && this.call === call) this.finishExchange(n < nread);
    return true;
  };

  private readonly onEnd = (): void => {
    if (this.call === undefined) {
      this.destroy();
      return;
    }
    if (this.parser.finish()) {
      this.finishExchange(false);
      return;
    }
    const reused = this.served > 0 ? ' (reused connection)' : '';
    const what = this.body !== undefined ? 'in the middle of the response body' : this.parser.idle ? 'before responding' : 'in the middle of the response head';
    this.fail(new H1ProtocolError('STRATA_H1_INCOMPLETE', `upstream ${this.owner.target} closed the connection ${what}${reused}`));
  };

  private readonly onError = (err: Error): void => {
    this.fail(err);
  };

  private readonly onClose = (): void => {
    if (!this.closed) this.fail(new H1ProtocolError('STRATA_H1_INCOMPLETE', `upstream ${this.owner.target} connection closed`));
  };

  private readonly onDrain = (): void => {
    const cb = this.drainCb;
    if (cb !== undefined) {
      this.drainCb = undefined;
      cb();
    }
  };

  // ── endings ─────────────────────────────────────────────────────────────────────────

  /** The response is complete: hand the connection back, or close it. */
  private finishExchange(strayBytes: boolean): void {
    const call = this.call as H1Call;
    this.call = undefined;
    call.conn = undefined;
    this.messageDone = false;
    this.served++;
    this.onDrain(); // the last body write's callback belongs to this call
    // An upstream that answered before reading the whole request body is out of step.
    if (strayBytes || this.poisoned || !call.reqDone || !this.parser.keepAlive || this.closed) {
      this.destroy();
      call.releaseHeld();
      return;
    }
    let keepMs = this.owner.idleTimeoutMs;
    const hintS = this.parser.keepAliveTimeoutS;
    if (hintS >= 0) {
      // Expire a second before the server says it will (as node:http's Agent).
      const hintMs = hintS * 1000 - 1000;
      if (hintMs <= 0) {
        this.destroy();
        return;
      }
      if (hintMs < keepMs) keepMs = hintMs;
    }
    this.keepAliveMs = keepMs;
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    this.owner.release(this);
  }

  /** The call gave up: close the connection, no handler fires. */
  abort(call: H1Call): void {
    if (this.call !== call) return;
    this.call = undefined;
    call.conn = undefined;
    const body = this.body;
    this.body = undefined;
    this.destroy();
    if (body !== undefined) {
      body.source = undefined;
      body.destroy();
    }
  }

  /** Something broke: report it to the call in flight (an error before the response, a body error after). */
  fail(err: Error): void {
    if (this.closed) return;
    const call = this.call;
    const body = this.body;
    this.call = undefined;
    this.body = undefined;
    this.destroy();
    if (call === undefined) return;
    call.conn = undefined;
    call.releaseHeld();
    if (body !== undefined) {
      body.source = undefined;
      body.destroy(err);
    } else {
      call.fail(this.connected ? 'reset' : 'connect-failure', err);
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.parser.kill();
    this.socket.destroy();
    this.owner.closed(this);
    this.onDrain();
  }
}
