/**
 * @module proxy/pool/h1-pool
 * HTTP/1.1 keep-alive pool for one endpoint, on raw sockets: idle connections are reused
 * last-in first-out, at most `maxConnections` are open, requests beyond that wait in a FIFO
 * queue. Idle connections expire after `idleTimeoutMs` (or a second before the server's
 * `Keep-Alive: timeout`), and are dropped as soon as the peer closes them.
 *
 * Files: h1-codec.ts (request head, framing), h1-parser.ts (response parser),
 * h1-connection.ts (one connection's exchange), h1-call.ts (the call and its body streams).
 */
import net from 'node:net';
import type { NetConnectOpts, Socket } from 'node:net';
import { H1Call } from './h1-call.js';
import type { CallOwner } from './h1-call.js';
import { FRAMING_NONE, encodeRequestHead } from './h1-codec.js';
import { H1Connection } from './h1-connection.js';
import type { ConnectionOwner } from './h1-connection.js';
import type { ConnectionPool, UpstreamCall, UpstreamFailure, UpstreamHandlers, UpstreamRequest } from './upstream.js';
import { markPoolSocket } from './upstream.js';
import type { ClassSocketOptions } from '../priority/socket-hook.js';

export interface PoolOptions {
  host: string;
  port: number;
  maxConnections: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** The priority class this pool carries: every socket it opens is marked with it (DSCP, SO_PRIORITY, congestion). */
  socketOptions?: ClassSocketOptions;
}

/** Seams for tests and special transports. */
export interface H1PoolHooks {
  /** Open a socket (default: `net.connect(options)`). Must return a connecting socket that honours `options.onread`. */
  connect?(options: NetConnectOpts): Socket;
}

/**
 * Where every pool connection reads into (node's `onread`): the parser decodes heads from it
 * and copies body bytes out synchronously, so one buffer serves all sockets.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

function failLater(call: H1Call, kind: UpstreamFailure, err: Error): void {
  call.fail(kind, err);
}

export class H1Pool implements ConnectionPool, ConnectionOwner, CallOwner {
  readonly protocol = 'http1' as const;
  readonly target: string;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  private readonly max: number;
  private readonly all = new Set<H1Connection>();
  /** Idle connections; the most recently used last. */
  private readonly idle: H1Connection[] = [];
  /** Calls waiting for a connection, FIFO from `qHead` (aborted ones are skipped). */
  private queue: (H1Call | undefined)[] = [];
  private qHead = 0;
  private waiting = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweepAt = Infinity;
  private isClosed = false;

  constructor(
    private readonly opts: PoolOptions,
    private readonly hooks: H1PoolHooks = {},
  ) {
    this.target = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
    this.connectTimeoutMs = opts.connectTimeoutMs;
    this.idleTimeoutMs = opts.idleTimeoutMs;
    this.max = Math.max(1, opts.maxConnections);
  }

  request(req: UpstreamRequest, h: UpstreamHandlers): UpstreamCall {
    const enc = encodeRequestHead(req);
    if (!enc.ok) return this.refuse(h, 'reset', enc.error);
    if (this.isClosed) return this.refuse(h, 'connect-failure', new Error(`connection pool to ${this.target} is closed`));
    const call = new H1Call(this, h, enc.head, enc.framing, enc.length, req.method === 'HEAD', req.expectContinue === true);
    const conn = this.idle.pop();
    if (conn !== undefined) conn.assign(call);
    else if (this.all.size < this.max) this.open().assign(call);
    else {
      call.queued = true;
      this.queue.push(call);
      this.waiting++;
    }
    return call;
  }

  connections(): number {
    return this.all.size;
  }

  pending(): number {
    return this.waiting;
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    const err = new Error(`connection pool to ${this.target} closed`);
    const queued: H1Call[] = [];
    for (let c = this.dequeue(); c !== undefined; c = this.dequeue()) queued.push(c);
    for (const conn of [...this.all]) conn.fail(err);
    for (const call of queued) {
      call.releaseHeld();
      call.fail('connect-failure', err);
    }
  }

  // ── ConnectionOwner ─────────────────────────────────────────────────────────────────

  release(conn: H1Connection): void {
    if (this.isClosed) {
      conn.destroy();
      return;
    }
    const next = this.dequeue();
    if (next !== undefined) {
      conn.assign(next);
      return;
    }
    const deadline = Date.now() + conn.keepAliveMs;
    conn.idleDeadline = deadline;
    this.idle.push(conn);
    if (deadline < this.sweepAt) this.armSweep(deadline);
  }

  closed(conn: H1Connection): void {
    this.all.delete(conn);
    const i = this.idle.lastIndexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.waiting > 0 && !this.isClosed && this.all.size < this.max) {
      const next = this.dequeue();
      if (next !== undefined) this.open().assign(next);
    }
  }

  // ── CallOwner ───────────────────────────────────────────────────────────────────────

  cancel(call: H1Call): void {
    if (!call.queued) return;
    call.queued = false;
    this.waiting--;
  }

  // ── internals ───────────────────────────────────────────────────────────────────────

  openSocket(onRead: (nread: number, buf: Uint8Array) => boolean): Socket {
    const options: NetConnectOpts = { host: this.opts.host, port: this.opts.port, onread: { buffer: READ_BUFFER, callback: onRead } };
    const socket = this.hooks.connect ? this.hooks.connect(options) : net.connect(options);
    if (this.opts.socketOptions !== undefined) markPoolSocket(socket, this.opts.socketOptions, this.target);
    return socket;
  }

  private open(): H1Connection {
    const conn = new H1Connection(this);
    this.all.add(conn);
    return conn;
  }

  private dequeue(): H1Call | undefined {
    const q = this.queue;
    while (this.qHead < q.length) {
      const call = q[this.qHead];
      q[this.qHead++] = undefined;
      if (call !== undefined && call.queued) {
        call.queued = false;
        this.waiting--;
        if (this.qHead > 1024 && this.qHead * 2 > q.length) {
          this.queue = q.slice(this.qHead);
          this.qHead = 0;
        }
        return call;
      }
    }
    q.length = 0;
    this.qHead = 0;
    return undefined;
  }

  /** A call that never reaches a connection: its handler fires on the next tick (never inside request()). */
  private refuse(h: UpstreamHandlers, kind: UpstreamFailure, err: Error): UpstreamCall {
    const call = new H1Call(this, h, '', FRAMING_NONE, 0, false, false);
    process.nextTick(failLater, call, kind, err);
    return call;
  }

  private armSweep(at: number): void {
    if (this.sweepTimer !== undefined) clearTimeout(this.sweepTimer);
    this.sweepAt = at;
    this.sweepTimer = setTimeout(this.sweep, Math.max(1, at - Date.now()));
    this.sweepTimer.unref();
  }

  /** Close idle connections past their deadline; wake again at the next deadline. */
  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    this.sweepAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const conn of [...this.idle]) {
      if (conn.idleDeadline <= now) conn.destroy();
      else if (conn.idleDeadline < next) next = conn.idleDeadline;
    }
    if (next !== Infinity && !this.isClosed) this.armSweep(next);
  };
}
