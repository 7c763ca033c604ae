/**
 * @module proxy/listeners/http-listener
 * An HTTP listener: one port that speaks HTTP/1.1 and HTTP/2 prior knowledge (sniffed),
 * with the protections a proxy owes its upstreams: header size limit (431), header timeout
 * (slowloris), malformed requests (400). Upgrade (WebSocket) and CONNECT are handed to the
 * tunnel module; everything else goes down the request pipeline.
 *
 * HTTP/1.1 connections are served by the lean server in `http/h1-server/`; a request it
 * does not serve itself (Upgrade, CONNECT, Expect, HTTP/1.0) moves the connection to
 * node:http, which handles it as before (tunnels, 100-continue). HTTP/2 streams are served
 * on node:http2's core API through the adapters in `http/h2-downstream.ts`.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { ServerTlsSpec } from '../../config/snapshot.js';
import type { Duplex } from 'node:stream';
import type { PipelineHost, ListenerRole } from '../http/pipeline.js';
import { handleRequest } from '../http/pipeline.js';
import { sniffProtocol } from '../http/sniff.js';
import { H1Server } from '../http/h1-server/server.js';
import { serveH2Stream } from '../http/h2-downstream.js';
import type { H2Request, H2Response } from '../http/h2-downstream.js';
import type { Listener } from './listener.js';
import { boundPort, listenOn } from './listener.js';
import { sendRawReply } from '../http/local-reply.js';
import { handleConnect, handleUpgrade } from './tunnel.js';

export interface HttpListenerOptions {
  name: string;
  address: string;
  port: number;
  role: ListenerRole;
  /** Terminate TLS; ALPN selects h2 or http/1.1. */
  tls?: ServerTlsSpec;
}

function loadTls(spec: ServerTlsSpec, listener: string): { cert: Buffer; key: Buffer } {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`listener ${listener}: cannot read TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const pem = { cert: read(spec.certFile, 'certificate'), key: read(spec.keyFile, 'key') };
  try {
    tls.createSecureContext(pem); // validates the pair now, so a bad file fails the config, not a handshake
    return pem;
  } catch (err) {
    throw new Error(`listener ${listener}: invalid TLS certificate or key (${spec.certFile}, ${spec.keyFile}): ${(err as Error).message}`);
  }
}

export class HttpListener implements Listener {
  private readonly server: http.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  /** The lean HTTP/1.1 server; `h1` (node:http) takes over connections it hands off. */
  private readonly fast: H1Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private closing = false;

  constructor(
    readonly opts: HttpListenerOptions,
    private readonly host: PipelineHost,
  ) {
    const limits = host.limits();
    const pem = opts.tls ? loadTls(opts.tls, opts.name) : undefined;
    const tlsServer = pem
      ? tls.createServer({ ...pem, minVersion: 'TLSv1.2', ALPNProtocols: ['h2', 'http/1.1'], handshakeTimeout: limits.headerTimeoutMs })
      : undefined;
    this.h1 = http.createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headerTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: limits.idleTimeoutMs,
      connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(limits.headerTimeoutMs / 4))),
      noDelay: true,
    });
    this.h1.on('request', (req, res) => handleRequest(host, opts.role, req, res));
    this.h1.on('checkContinue', (req, res) => handleRequest(host, opts.role, req, res, true));
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      switch (err.code) {
        case 'HPE_HEADER_OVERFLOW':
          host.metrics.localReply('STRATA_HEADERS_TOO_LARGE');
          sendRawReply(socket, 431, 'Request Header Fields Too Large', `request header section larger than ${limits.maxHeaderBytes} bytes\n`, 'STRATA_HEADERS_TOO_LARGE');
          return;
        case 'ERR_HTTP_REQUEST_TIMEOUT':
          host.metrics.localReply('STRATA_HEADER_TIMEOUT');
          sendRawReply(socket, 408, 'Request Timeout', `request headers not received within ${limits.headerTimeoutMs} ms\n`, 'STRATA_HEADER_TIMEOUT');
          return;
        case 'ECONNRESET':
        case 'EPIPE':
          socket.destroy();
          return;
        default:
          host.metrics.localReply('STRATA_BAD_REQUEST');
          sendRawReply(socket, 400, 'Bad Request', `malformed HTTP request: ${err.code ?? err.message}\n`, 'STRATA_BAD_REQUEST');
      }
    });
    this.h1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(host, opts.role, req, socket, head));
    this.h1.on('connect', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (opts.role.kind !== 'outbound-proxy') {
        sendRawReply(socket, 405, 'Method Not Allowed', 'CONNECT is only served by the outbound proxy listener\n', 'STRATA_BAD_REQUEST');
        return;
      }
      handleConnect(host, req, socket, head);
    });

    this.h2 = http2.createServer({
      maxHeaderListPairs: 256,
      maxSessionMemory: 64,
      settings: { maxHeaderListSize: limits.maxHeaderBytes, initialWindowSize: 1 << 20, maxConcurrentStreams: 1000 },
    });
    // The core API (no 'request' listener, so no compatibility layer): see http/h2-downstream.ts.
    const onH2Request = (req: H2Request, res: H2Response): void => handleRequest(host, opts.role, req, res);
    this.h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => serveH2Stream(stream, headers, onH2Request));
    this.h2.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => session.destroy());
      if (this.closing) session.close();
    });
    this.h2.on('sessionError', () => {
      /* a broken client session never takes the listener down */
    });

    // node:http's server owns the port (so server.close() waits for every connection); its
    // own connection handler is called only for connections the lean server hands off.
    this.server = this.h1;
    const h1Connection = this.h1.listeners('connection')[0] as ((s: net.Socket) => void) | undefined;
    if (!h1Connection) throw new Error('node:http server has no connection handler');
    this.h1.removeAllListeners('connection');
    this.fast = new H1Server({
      maxHeaderBytes: limits.maxHeaderBytes,
      headerTimeoutMs: limits.headerTimeoutMs,
      idleTimeoutMs: limits.idleTimeoutMs,
      onRequest: (req, res) => handleRequest(host, opts.role, req, res),
      handoff: (s) => h1Connection.call(this.h1, s),
      onLocalReply: (code) => host.metrics.localReply(code),
    });
    tlsServer?.on('secureConnection', (t: tls.TLSSocket) => {
      if (t.alpnProtocol === 'h2') this.h2.emit('connection', t);
      else this.fast.handle(t);
    });
    tlsServer?.on('tlsClientError', (_err, t) => t.destroy());
    this.h1.on('connection', (socket: net.Socket) => {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      host.metrics.downstreamConnections.inc({ listener: opts.name });
      socket.once('close', () => {
        this.sockets.delete(socket);
        host.metrics.downstreamConnections.dec({ listener: opts.name });
      });
      socket.on('error', () => socket.destroy());
      // Slowloris guard for the sniffing phase: first bytes must come within the header timeout.
      const t = setTimeout(() => socket.destroy(), limits.headerTimeoutMs);
      socket.once('readable', () => clearTimeout(t));
      socket.once('close', () => clearTimeout(t));
      if (tlsServer) {
        // TLS: the handshake's ALPN result decides the protocol (see the secureConnection handler).
        tlsServer.emit('connection', socket);
        return;
      }
      sniffProtocol(socket, {
        h1: (s, first) => this.fast.handle(s, first),
        h2: (s) => this.h2.emit('connection', s),
      });
    });
  }

  listen(): Promise<number> {
    return listenOn(this.server, this.opts.name, this.opts.address, this.opts.port);
  }

  port(): number {
    return boundPort(this.server, this.opts.port);
  }

  /** Stop accepting; tell clients to go away (Connection: close, GOAWAY). */
  stopAccepting(): Promise<void> {
    this.closing = true;
    for (const s of this.sessions) s.close();
    this.fast.closeIdle();
    this.h1.closeIdleConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Close everything that is still open. */
  destroy(): void {
    this.closing = true;
    for (const s of this.sessions) s.destroy();
    this.fast.destroy();
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}
