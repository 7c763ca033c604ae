/**
 * @module proxy/admin/admin
 * The sidecar's admin listener: /ready, /live, /config_dump, /clusters, /stats
 * (Prometheus text), /drain (POST). Loopback only by default.
 */
import http from 'node:http';
import type { ProxyMetrics } from '../../stats/metrics.js';

export interface AdminSource {
  ready(): boolean;
  /** Why ready() is false (in the 503 body). */
  notReadyReason?(): string;
  configDump(): unknown;
  clusters(): unknown;
  readonly metrics: ProxyMetrics;
  drain(): Promise<void>;
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function text(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export class AdminServer {
  private readonly server: http.Server;

  constructor(
    private readonly address: string,
    private readonly port: number,
    src: AdminSource,
  ) {
    this.server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      switch (path) {
        case '/live':
          return text(res, 200, 'live\n');
        case '/ready':
          return src.ready() ? text(res, 200, 'ready\n') : text(res, 503, `not ready: ${src.notReadyReason?.() ?? 'starting'}\n`);
        case '/config_dump':
          return json(res, 200, src.configDump());
        case '/clusters':
          return json(res, 200, src.clusters());
        case '/stats':
        case '/metrics':
          src.metrics.expose().then(
            (m) => text(res, 200, m.body, m.contentType),
            (err: Error) => text(res, 500, `stats error: ${err.message}\n`),
          );
          return;
        case '/drain':
          if (req.method !== 'POST') return text(res, 405, 'use POST /drain\n');
          text(res, 202, 'draining\n');
          void src.drain();
          return;
        case '/':
          return text(res, 200, 'strata sidecar admin: /ready /live /config_dump /clusters /stats /drain (POST)\n');
        default:
          return text(res, 404, `unknown admin path ${path}\n`);
      }
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (err) => reject(new Error(`admin listener: cannot listen on ${this.address}:${this.port}: ${err.message}`)));
      this.server.listen(this.port, this.address, () => {
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : this.port);
      });
    });
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}
