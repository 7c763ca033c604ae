/**
 * @module proxy/pool/h2-pool
 * Multiplexed HTTP/2 (h2c prior knowledge) sessions to one endpoint: requests share one
 * session until it reaches the peer's stream limit, then another opens (up to
 * maxConnections). Sessions that die are replaced on the next request.
 */
import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import net from 'node:net';
import type { ClientTlsSpec } from '../../config/snapshot.js';

/** TLS options for a cluster's upstream connections; throws (naming the file) if the CA is unreadable. */
export function clientTlsOptions(spec: ClientTlsSpec, cluster: string): tls.ConnectionOptions {
  let ca: Buffer | undefined;
  if (spec.caFile !== undefined) {
    try {
      ca = readFileSync(spec.caFile);
    } catch (err) {
      throw new Error(`cluster ${cluster}: cannot read tls.caFile ${spec.caFile}: ${(err as Error).message}`);
    }
  }
  return {
    ALPNProtocols: ['h2'],
    rejectUnauthorized: !spec.insecureSkipVerify,
    ...(spec.serverName !== undefined && { servername: spec.serverName }),
    ...(ca !== undefined && { ca }),
  };
}
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { ConnectionPool, UpstreamCall, UpstreamHandlers, UpstreamRequest } from './upstream.js';
import { connectTimeoutError, isConnectError, markPoolSocket } from './upstream.js';
import type { PoolOptions } from './h1-pool.js';

interface Session {
  readonly s: http2.ClientHttp2Session;
  connected: boolean;
  active: number;
  dead: boolean;
}

const DEFAULT_MAX_STREAMS = 100;

export class H2Pool implements ConnectionPool {
  readonly protocol = 'h2' as const;
  private sessions: Session[] = [];
  private readonly origin: string;

  private readonly scheme: 'http' | 'https';
  private readonly tlsOptions: tls.ConnectionOptions | undefined;

  /** `clientTls`: dial over TLS with these options (see clientTlsOptions). */
  constructor(
    private readonly opts: PoolOptions,
    clientTls?: tls.ConnectionOptions,
  ) {
    const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
    this.scheme = clientTls ? 'https' : 'http';
    this.origin = `${this.scheme}://${host}:${opts.port}`;
    this.tlsOptions = clientTls;
  }

  private open(): Session {
    const { host, port } = this.opts;
    const tlsOptions = this.tlsOptions;
    const s = http2.connect(this.origin, {
      settings: { enablePush: false, initialWindowSize: 1 << 20 },
      // Our own socket, so small frames do not wait for Nagle's algorithm (p99 grows by
      // tens of milliseconds otherwise); TLS sockets negotiate h2 by ALPN.
      createConnection: () => {
        const sock = tlsOptions ? tls.connect({ ...tlsOptions, host, port }) : net.connect({ host, port });
        sock.setNoDelay(true);
        if (this.opts.socketOptions !== undefined) markPoolSocket(sock, this.opts.socketOptions, this.origin);
        return sock;
      },
    });
    const sess: Session = { s, connected: false, active: 0, dead: false };
    const timer = setTimeout(() => {
      if (!sess.connected) s.destroy(connectTimeoutError(this.opts.connectTimeoutMs, this.origin));
    }, this.opts.connectTimeoutMs);
    s.once('connect', () => {
      sess.connected = true;
      clearTimeout(timer);
      // A bigger connection window so one slow stream does not stall the others.
      try {
        s.setLocalWindowSize(16 << 20);
      } catch {
        /* not fatal */
      }
    });
    const bury = (): void => {
      clearTimeout(timer);
      sess.dead = true;
      this.sessions = this.sessions.filter((x) => x !== sess);
    };
    s.on('error', bury);
    s.on('close', bury);
    s.on('goaway', bury);
    s.setTimeout(this.opts.idleTimeoutMs, () => {
      if (sess.active === 0) s.close();
    });
    this.sessions.push(sess);
    return sess;
  }

  private session(): Session {
    let best: Session | undefined;
    for (const sess of this.sessions) {
      if (sess.dead || sess.s.closed || sess.s.destroyed) continue;
      const limit = sess.s.remoteSettings?.maxConcurrentStreams ?? DEFAULT_MAX_STREAMS;
      if (sess.active < limit && (best === undefined || sess.active < best.active)) best = sess;
    }
    if (best !== undefined) return best;
    if (this.sessions.length < Math.max(1, this.opts.maxConnections)) return this.open();
    // At the connection limit: share the least busy live session (the peer queues streams).
    let least: Session | undefined;
    for (const sess of this.sessions) if (!sess.dead && (least === undefined || sess.active < least.active)) least = sess;
    return least ?? this.open();
  }

  request(req: UpstreamRequest, h: UpstreamHandlers): UpstreamCall {
    const sess = this.session();
    const headers: OutgoingHttpHeaders = req.headers;
    headers[':method'] = req.method;
    headers[':path'] = req.path;
    headers[':authority'] = req.authority;
    headers[':scheme'] = this.scheme;
    let done = false;
    let trailers: IncomingHttpHeaders | undefined;
    sess.active++;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        sess.active--;
      }
    };
    const stream = sess.s.request(headers, { endStream: req.endStream });
    stream.on('error', (err: Error) => {
      release();
      if (done) return;
      done = true;
      h.onError(!sess.connected || isConnectError(err) ? 'connect-failure' : 'reset', err);
    });
    stream.on('close', () => {
      release();
      if (!done) {
        done = true;
        const code = stream.rstCode;
        h.onError(sess.connected ? 'reset' : 'connect-failure', new Error(`upstream stream closed before response (HTTP/2 error code ${code})`));
      }
    });
    stream.on('trailers', (t: IncomingHttpHeaders) => {
      trailers = t;
    });
    if (h.onContinue) stream.once('continue', h.onContinue);
    stream.on('response', (rh: IncomingHttpHeaders) => {
      const status = Number(rh[':status']);
      if (done) return;
      done = true;
      h.onResponse(status, rh, stream, () => trailers);
    });
    return {
      body: stream,
      abort: () => {
        done = true;
        release();
        if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      },
    };
  }

  connections(): number {
    return this.sessions.length;
  }

  pending(): number {
    return 0;
  }

  close(): void {
    for (const sess of this.sessions) sess.s.close();
    this.sessions = [];
  }
}
