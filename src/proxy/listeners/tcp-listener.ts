/**
 * @module proxy/listeners/tcp-listener
 * Opaque TCP: a local port for a TCP service (or the inbound side of a TCP app). Each
 * connection goes to one endpoint picked by the cluster's balancer; bytes are spliced.
 */
import net from 'node:net';
import type { Listener } from './listener.js';
import { boundPort, listenOn } from './listener.js';
import type { PipelineHost } from '../http/pipeline.js';

export interface TcpListenerOptions {
  name: string;
  address: string;
  port: number;
  /** Cluster to connect to. */
  cluster: string;
}

export class TcpListener implements Listener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly opts: TcpListenerOptions,
    host: PipelineHost,
  ) {
    this.server = net.createServer({ noDelay: true, pauseOnConnect: true }, (down) => {
      this.sockets.add(down);
      down.once('close', () => this.sockets.delete(down));
      down.on('error', () => down.destroy());
      const cluster = host.clusters.get(opts.cluster);
      const ep = cluster?.pick(undefined);
      if (!cluster || !ep) {
        down.destroy();
        return;
      }
      ep.onStart();
      const t0 = performance.now();
      const up = net.connect({ host: ep.spec.address, port: ep.spec.port, noDelay: true });
      const timer = setTimeout(() => up.destroy(new Error('connect timeout')), host.limits().connectTimeoutMs);
      let connected = false;
      up.once('connect', () => {
        connected = true;
        clearTimeout(timer);
        cluster.report(ep, 'success');
        down.pipe(up);
        up.pipe(down);
        down.resume();
      });
      up.on('error', () => {
        clearTimeout(timer);
        if (!connected) {
          cluster.report(ep, 'connect-failure');
          host.metrics.upstreamFailure(cluster.spec.name, 'connect-failure');
        }
        down.destroy();
      });
      down.once('close', () => up.destroy());
      up.once('close', () => {
        down.destroy();
        ep.onEnd(performance.now() - t0, !connected, Date.now());
      });
    });
  }

  listen(): Promise<number> {
    return listenOn(this.server, this.opts.name, this.opts.address, this.opts.port);
  }

  port(): number {
    return boundPort(this.server, this.opts.port);
  }

  stopAccepting(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  destroy(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}
