/**
 * @module proxy/pool/h1-pool
 * HTTP/1.1 keep-alive pool for one endpoint (node:http Agent, LIFO reuse).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionPool, UpstreamCall, UpstreamHandlers, UpstreamRequest } from './upstream.js';
import { connectTimeoutError, isConnectError } from './upstream.js';

export interface PoolOptions {
  host: string;
  port: number;
  maxConnections: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

export class H1Pool implements ConnectionPool {
  readonly protocol = 'http1' as const;
  private readonly agent: http.Agent;

  constructor(private readonly opts: PoolOptions) {
    this.agent = new http.Agent({
      keepAlive: true,
      maxSockets: opts.maxConnections,
      maxFreeSockets: Math.min(opts.maxConnections, 256),
      scheduling: 'lifo',
      timeout: opts.idleTimeoutMs,
    });
  }

  request(req: UpstreamRequest, h: UpstreamHandlers): UpstreamCall {
    const headers = req.headers;
    headers['host'] = req.authority;
    if (req.expectContinue) headers['expect'] = '100-continue';
    const cr = http.request({
      agent: this.agent,
      host: this.opts.host,
      port: this.opts.port,
      method: req.method,
      path: req.path,
      headers,
      setHost: false,
    });
    let done = false;
    let connected = false;
    let timer: NodeJS.Timeout | undefined;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      h.onError(!connected || isConnectError(err) ? 'connect-failure' : 'reset', err);
    };
    cr.on('socket', (socket: Socket) => {
      if (!socket.connecting) {
        connected = true;
        return;
      }
      timer = setTimeout(() => {
        cr.destroy(connectTimeoutError(this.opts.connectTimeoutMs, `${this.opts.host}:${this.opts.port}`));
      }, this.opts.connectTimeoutMs);
      socket.once('connect', () => {
        connected = true;
        if (timer) clearTimeout(timer);
      });
    });
    cr.on('error', fail);
    if (h.onContinue) cr.on('continue', h.onContinue);
    cr.on('response', (res) => {
      if (done) {
        res.resume();
        return;
      }
      done = true;
      if (timer) clearTimeout(timer);
      h.onResponse(res.statusCode ?? 502, res.headers, res, () => res.trailers);
    });
    if (req.endStream) cr.end();
    return {
      body: cr,
      abort: () => {
        done = true;
        if (timer) clearTimeout(timer);
        cr.destroy();
      },
    };
  }

  connections(): number {
    let n = 0;
    for (const list of Object.values(this.agent.sockets)) n += list?.length ?? 0;
    return n;
  }

  pending(): number {
    let n = 0;
    for (const list of Object.values(this.agent.requests)) n += list?.length ?? 0;
    return n;
  }

  close(): void {
    this.agent.destroy();
  }
}
