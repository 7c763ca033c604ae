/**
 * @module proxy/http/h1-server/server
 * A lean, strict HTTP/1.1 server for the common request path: raw socket reads, a strict
 * streaming request parser, responses written with one socket write. It takes sockets that
 * already speak HTTP/1.x (after protocol sniffing or TLS ALPN) and serves them until a
 * request needs what it does not do (HTTP/1.0, Upgrade, CONNECT, Expect, asterisk-form):
 * then the connection goes to node:http through `handoff`, from that request on.
 *
 * One timer per server checks every connection (like node:http's connections checking
 * interval): a started header section must complete within `headerTimeoutMs` (408), an
 * idle keep-alive connection closes after `idleTimeoutMs`.
 */
import type { Socket } from 'node:net';
import type { ProxyErrorCode } from '../../../errors.js';
import { H1Connection } from './connection.js';
import type { ConnectionOwner } from './connection.js';
import type { H1Request } from './request.js';
import type { H1Response } from './response.js';

export type { H1Request } from './request.js';
export type { H1Response } from './response.js';

export interface H1ServerOptions {
  /** Limit of the request line + header section (431 above). */
  maxHeaderBytes: number;
  /** A started header section must be complete within this time (408). */
  headerTimeoutMs: number;
  /** Idle keep-alive connections close after this time. */
  idleTimeoutMs: number;
  onRequest(req: H1Request, res: H1Response): void;
  /** Serve this socket with node:http from now on (its unread bytes are back in it). */
  handoff(socket: Socket): void;
  /** A local error reply was sent (400, 408, 431, 501). */
  onLocalReply?(code: ProxyErrorCode): void;
}

export class H1Server implements ConnectionOwner {
  private readonly connections = new Set<H1Connection>();
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  readonly maxHeaderBytes: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepAliveTail: string;

  constructor(private readonly opts: H1ServerOptions) {
    this.maxHeaderBytes = opts.maxHeaderBytes;
    this.headerTimeoutMs = opts.headerTimeoutMs;
    this.idleTimeoutMs = opts.idleTimeoutMs;
    // As node:http: tell keep-alive clients how long an idle connection stays open.
    this.keepAliveTail = `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(opts.idleTimeoutMs / 1000)}\r\n\r\n`;
  }

  /** Serve an HTTP/1.x socket; `first` holds bytes already read from it. */
  handle(socket: Socket, first?: Buffer): void {
    const conn = new H1Connection(socket, this);
    this.connections.add(conn);
    if (this.timer === undefined && !this.closing) {
      const every = Math.max(100, Math.min(1000, Math.floor(Math.min(this.headerTimeoutMs, this.idleTimeoutMs) / 4)));
      this.timer = setInterval(this.sweep, every);
      this.timer.unref();
    }
    conn.start(first);
  }

  /** Connections being served now. */
  get size(): number {
    return this.connections.size;
  }

  /** Stop keeping connections alive: idle ones close now, busy ones after their response. */
  closeIdle(): void {
    this.closing = true;
    for (const c of [...this.connections]) c.drain();
  }

  /** Close every connection now. */
  destroy(): void {
    this.closing = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const c of [...this.connections]) c.socket.destroy();
  }

  // ── ConnectionOwner ─────────────────────────────────────────────────────────────────

  draining(): boolean {
    return this.closing;
  }

  request(req: H1Request, res: H1Response): void {
    this.opts.onRequest(req, res);
  }

  handoff(socket: Socket): void {
    this.opts.handoff(socket);
  }

  localReply(code: ProxyErrorCode): void {
    this.opts.onLocalReply?.(code);
  }

  release(conn: H1Connection): void {
    this.connections.delete(conn);
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    for (const c of this.connections) c.checkTimeouts(now);
  };
}
