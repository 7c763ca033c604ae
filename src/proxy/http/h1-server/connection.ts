/**
 * @module proxy/http/h1-server/connection
 * One downstream HTTP/1.1 connection: feeds socket bytes to the strict request parser,
 * gives each request to the pipeline, answers in order, and keeps the connection alive
 * between exchanges.
 *
 * - Pipelining: the next request is not parsed before the current response finished;
 *   bytes that arrive meanwhile wait (the socket pauses when too many wait). The socket is
 *   still read while a response is in progress, so a client that goes away is noticed and
 *   the response's 'close' stops the upstream work.
 * - Backpressure: a request body the consumer does not read pauses the socket.
 * - A response finished before its request body arrived: the rest of the body is discarded
 *   (as node:http does) and the connection carries on.
 * - Escape hatch: a request the lean path does not serve (HTTP/1.0, Upgrade, CONNECT,
 *   Expect, asterisk-form) hands the connection to node:http from that request's first
 *   byte on (the bytes are pushed back into the socket), at a request boundary only.
 * - Errors: malformed requests get 400 / 431 / 501 with `x-strata-error`, slow header
 *   sections 408, then the connection closes.
 */
import type { Socket } from 'node:net';
import type { ProxyErrorCode } from '../../../errors.js';
import { sendRawReply } from '../local-reply.js';
import { BODY_NONE, RequestParser, TARGET_AUTHORITY } from './request-parser.js';
import type { RequestParseError, RequestSink } from './request-parser.js';
import { H1Request } from './request.js';
import type { BodySource } from './request.js';
import { H1Response } from './response.js';
import type { ResponseOwner } from './response.js';

/** Pipelined bytes held while a response is in progress before the socket pauses. */
const STASH_LIMIT = 64 * 1024;

/** What a connection needs from its server. */
export interface ConnectionOwner {
  readonly maxHeaderBytes: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepAliveTail: string;
  draining(): boolean;
  /** A request for the pipeline. */
  request(req: H1Request, res: H1Response): void;
  /** The connection needs node:http from here on; its unread bytes are back in the socket. */
  handoff(socket: Socket): void;
  /** A local error reply was sent (for metrics). */
  localReply(code: ProxyErrorCode): void;
  /** Forget the connection (closed or handed off). */
  release(conn: H1Connection): void;
}

export class H1Connection implements RequestSink, BodySource, ResponseOwner {
  private readonly parser: RequestParser;
  private req: H1Request | undefined;
  private res: H1Response | undefined;
  /** The current response is finished (or there is none). */
  private resDone = true;
  /** Close once the current exchange is over. */
  private closeAfter = false;
  /** Inside parser.execute(): a response finishing now leaves the next step to the feed loop. */
  private parsing = false;
  private handoffPending = false;
  /** Bytes received while a response was in progress (pipelined requests). */
  private stash: Buffer | undefined;
  private pausedForBody = false;
  private pausedForStash = false;
  /** Nothing more is parsed or written (closing or closed or handed off). */
  private over = false;
  /** When the current request head started (ms), 0 when no head is in progress. */
  private headStart: number;
  /** Since when the connection waits for a next request (ms), 0 when busy. */
  private idleSince = 0;
  /** Since when the connection closes (ms): a client that does not read the last bytes is cut off. */
  private closingSince = 0;
  readonly keepAliveTail: string;

  constructor(
    readonly socket: Socket,
    private readonly owner: ConnectionOwner,
  ) {
    this.parser = new RequestParser(this, owner.maxHeaderBytes);
    this.keepAliveTail = owner.keepAliveTail;
    this.headStart = Date.now(); // the first request's head starts with the connection (as node:http)
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('error', this.onError);
  }

  /** Start serving; `first` holds bytes already read from the socket. */
  start(first: Buffer | undefined): void {
    if (first !== undefined && first.length > 0) this.onData(first);
  }

  draining(): boolean {
    return this.owner.draining();
  }

  // ── socket events ───────────────────────────────────────────────────────────────────

  private readonly onData = (buf: Buffer): void => {
    if (this.over) return;
    if (this.stash !== undefined || (!this.resDone && this.parser.done)) {
      this.hold(buf);
      return;
    }
    this.feed(buf, 0);
  };

  /** The client closed its side: nothing more will come. */
  private readonly onEnd = (): void => {
    if (this.over) return;
    if (this.resDone && this.parser.idle && this.stash === undefined) this.close();
    // In the middle of a request or waiting for its response: as node:http, the exchange ends here.
    else this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.over = true;
    this.parser.kill();
    this.stash = undefined;
    const res = this.res;
    if (res !== undefined && !this.resDone) res.abort();
    this.req?.abort();
    this.owner.release(this);
  };

  private readonly onDrain = (): void => {
    this.res?.emitDrain();
  };

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  // ── parsing ───────────────────────────────────────────────────────────────────────

  private feed(buf: Buffer, off: number): void {
    const parser = this.parser;
    const len = buf.length;
    this.parsing = true;
    while (true) {
      if (parser.idle) {
        this.headStart = Date.now();
        this.idleSince = 0;
      }
      off = parser.execute(buf, off);
      if (this.over || this.socket.destroyed) break;
      if (this.handoffPending) {
        this.parsing = false;
        this.handoff(off < len ? buf.subarray(off) : undefined);
        return;
      }
      if (!parser.done) break; // more bytes needed
      if (!this.resDone) {
        // The request is complete, its response is not: what follows waits.
        if (off < len) this.hold(buf.subarray(off));
        break;
      }
      if (!this.nextRequest() || off >= len) break;
    }
    this.parsing = false;
  }

  /** The exchange is over: get ready for the next request, or close. False when closed. */
  private nextRequest(): boolean {
    this.req = undefined;
    this.res = undefined;
    if (this.closeAfter || this.owner.draining()) {
      this.close();
      return false;
    }
    this.parser.next();
    this.idleSince = Date.now();
    return true;
  }

  /** Keep pipelined bytes until the current response is finished. */
  private hold(buf: Buffer): void {
    const s = this.stash;
    this.stash = s === undefined ? buf : Buffer.concat([s, buf]);
    if (this.stash.length > STASH_LIMIT) {
      this.pausedForStash = true;
      this.socket.pause();
    }
  }

  // ── RequestSink ─────────────────────────────────────────────────────────────────────

  onHead(): boolean {
    const p = this.parser;
    if (p.minor !== 1 || p.upgrade || p.expect || p.targetForm >= TARGET_AUTHORITY) {
      this.handoffPending = true;
      return false;
    }
    this.headStart = 0;
    const req = new H1Request(this, p.method, p.url, p.headers, p.bodyKind !== BODY_NONE);
    const res = new H1Response(this, p.method === 'HEAD', p.connClose);
    this.req = req;
    this.res = res;
    this.resDone = false;
    this.closeAfter = false;
    this.owner.request(req, res);
    return !this.over;
  }

  onBody(chunk: Buffer): void {
    // A finished response: nobody reads the rest of the body.
    if (this.resDone) return;
    // Paused again on every refused chunk: something else (the sniffer's hand-over) may have resumed the socket.
    if (!(this.req as H1Request).pushBody(chunk)) {
      this.pausedForBody = true;
      this.socket.pause();
    }
  }

  onComplete(): void {
    this.req?.endBody();
    // The body is all here: a pause for it must not outlive it (the consumer's reads no longer
    // ask for more). Bytes after it belong to the next request and wait in the stash.
    this.readMore();
  }

  onParseError(err: RequestParseError): void {
    const res = this.res;
    if (res !== undefined && !this.resDone) {
      // A malformed body: the request in progress is void.
      this.req?.abort();
      this.resDone = true;
      res.abort();
      if (res.wired) {
        this.socket.destroy();
        return;
      }
    }
    this.reject(err.status, err.message);
  }

  // ── BodySource ──────────────────────────────────────────────────────────────────────

  readMore(): void {
    if (!this.pausedForBody) return;
    this.pausedForBody = false;
    if (!this.pausedForStash && !this.over) this.socket.resume();
  }

  bodyDestroyed(): void {
    // The rest of the body is discarded; the connection is not reused after this exchange.
    this.closeAfter = true;
    this.readMore();
    if (this.resDone && !this.parsing) this.close();
  }

  // ── ResponseOwner ───────────────────────────────────────────────────────────────────

  responseDone(res: H1Response): void {
    if (res !== this.res || this.over) return;
    this.resDone = true;
    if (res.closeAfter) this.closeAfter = true;
    if (!this.parser.done) {
      // The request body is still arriving.
      if (this.closeAfter) {
        this.close();
        return;
      }
      this.req?.dump();
      this.readMore();
      return;
    }
    if (this.parsing) return; // the feed loop takes it from here
    if (!this.nextRequest()) return;
    const s = this.stash;
    if (s !== undefined) {
      this.stash = undefined;
      if (this.pausedForStash) {
        this.pausedForStash = false;
        if (!this.pausedForBody) this.socket.resume();
      }
      this.feed(s, 0);
    }
  }

  // ── endings ─────────────────────────────────────────────────────────────────────────

  /** Answer a malformed or timed-out request and close. */
  private reject(status: 400 | 408 | 431 | 501, message: string): void {
    let code: ProxyErrorCode = 'STRATA_BAD_REQUEST';
    let reason = 'Bad Request';
    let body = `malformed HTTP request: ${message}\n`;
    if (status === 431) {
      code = 'STRATA_HEADERS_TOO_LARGE';
      reason = 'Request Header Fields Too Large';
      body = `${message}\n`;
    } else if (status === 408) {
      code = 'STRATA_HEADER_TIMEOUT';
      reason = 'Request Timeout';
      body = `${message}\n`;
    } else if (status === 501) {
      reason = 'Not Implemented';
      body = `${message}\n`;
    }
    this.owner.localReply(code);
    this.over = true;
    this.closingSince = Date.now();
    this.parser.kill();
    this.stash = undefined;
    sendRawReply(this.socket, status, reason, body, code);
    this.socket.destroySoon();
  }

  /** Close gracefully: what is written is flushed, then the socket is destroyed. */
  close(): void {
    if (this.over) return;
    this.over = true;
    this.closingSince = Date.now();
    this.parser.kill();
    this.stash = undefined;
    if (!this.socket.destroyed) this.socket.destroySoon();
  }

  /** Server timer: header timeout (408), idle keep-alive timeout, a close that does not complete. */
  checkTimeouts(now: number): void {
    if (this.over) {
      if (this.closingSince > 0 && now - this.closingSince >= this.owner.idleTimeoutMs) this.socket.destroy();
      return;
    }
    if (this.headStart > 0 && now - this.headStart >= this.owner.headerTimeoutMs) {
      this.reject(408, `request headers not received within ${this.owner.headerTimeoutMs} ms`);
    } else if (this.idleSince > 0 && now - this.idleSince >= this.owner.idleTimeoutMs) {
      this.close();
    }
  }

  /** The server drains: an idle connection closes now, a busy one after its response. */
  drain(): void {
    if (this.over) return;
    if (this.resDone && this.parser.idle && this.stash === undefined) this.close();
  }

  /** Hand the socket to node:http from the current request's first byte on. */
  private handoff(rest: Buffer | undefined): void {
    const head = this.parser.rawHead();
    const socket = this.socket;
    this.over = true;
    this.parser.kill();
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    socket.off('drain', this.onDrain);
    socket.off('error', this.onError);
    this.owner.release(this);
    socket.pause();
    if (rest !== undefined) socket.unshift(rest);
    socket.unshift(head);
    this.owner.handoff(socket);
    socket.resume();
  }
}
