/**
 * @module proxy/amqp/listener
 * The AMQP 0-9-1 listener in front of RabbitMQ: each app connection gets its own upstream
 * connection to the broker. App → broker bytes go through a {@link ClientStream} (publish
 * priority from the request's class, `x-max-priority` on matching queue declares); broker →
 * app bytes are spliced unchanged, so a consumer sees `headers.x-strata-priority` and the
 * class continues with the request it serves. A malformed stream closes that connection
 * only (logged); nothing a client sends can take the listener down.
 */
import net from 'node:net';
import type { AmqpListenerSpec } from '../../config/snapshot.js';
import { logger } from '../../util/log.js';
import type { Listener } from '../listeners/listener.js';
import { boundPort, listenOn } from '../listeners/listener.js';
import { ClientStream } from './rewrite.js';
import type { AmqpPriorityPolicy } from './rewrite.js';

const log = logger('amqp');

export interface AmqpListenerOptions {
  name: string;
  address: string;
  port: number;
  upstream: { address: string; port: number };
  /** The policy in force; read for every publish and declare (config changes apply live). */
  policy(): AmqpPriorityPolicy;
  /** The class of the request the app is serving now; default: never known (→ `default`). */
  currentClass?: () => string | undefined;
  /** Upstream connect timeout (ms); default 5000. */
  connectTimeoutMs?: () => number;
}

const policies = new WeakMap<AmqpListenerSpec, AmqpPriorityPolicy>();

/** The runtime policy of a listener spec (regex compiled once per spec object). */
export function policyOf(spec: AmqpListenerSpec): AmqpPriorityPolicy {
  let p = policies.get(spec);
  if (!p) {
    const q = spec.maxPriorityQueues;
    p = {
      priorities: spec.priorities,
      ...(q && { maxPriorityQueues: { pattern: new RegExp(q.pattern), maxPriority: q.maxPriority } }),
    };
    policies.set(spec, p);
  }
  return p;
}

export class AmqpListener implements Listener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly opts: AmqpListenerOptions) {
    this.server = net.createServer({ noDelay: true, pauseOnConnect: true }, (down) => this.accept(down));
  }

  listen(): Promise<number> {
    return listenOn(this.server, this.opts.name, this.opts.address, this.opts.port);
  }

  port(): number {
    return boundPort(this.server, this.opts.port);
  }

  /** Number of open app connections. */
  connections(): number {
    return this.sockets.size;
  }

  stopAccepting(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  destroy(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private accept(down: net.Socket): void {
    const { opts } = this;
    const remote = `${down.remoteAddress}:${down.remotePort}`;
    this.sockets.add(down);
    down.once('close', () => this.sockets.delete(down));
    const up = net.connect({ host: opts.upstream.address, port: opts.upstream.port, noDelay: true });
    let closed = false;
    const close = (why?: string): void => {
      if (closed) return;
      closed = true;
      if (why) log.warn('closing AMQP connection', { listener: opts.name, remote, reason: why });
      down.destroy();
      up.destroy();
    };
    const stream = new ClientStream({
      policy: () => opts.policy(),
      currentClass: () => opts.currentClass?.(),
      onWarning: (message) => log.warn(message, { listener: opts.name, remote }),
    });
    const timer = setTimeout(() => close(`upstream ${opts.upstream.address}:${opts.upstream.port}: connect timeout`), opts.connectTimeoutMs?.() ?? 5000);
    down.on('error', () => close());
    // The app went away: let what was already written reach the broker, then end.
    down.once('close', () => (up.connecting ? up.destroy() : up.end()));
    up.on('error', (err) => close(`upstream ${opts.upstream.address}:${opts.upstream.port}: ${err.message}`));
    up.once('close', () => {
      clearTimeout(timer);
      close();
    });
    up.once('connect', () => {
      clearTimeout(timer);
      // Broker → app: unchanged (deliveries carry the publisher's x-strata-priority header).
      up.pipe(down);
      down.on('data', (chunk: Buffer) => {
        const r = stream.push(chunk);
        if (!r.ok) {
          close(`malformed AMQP from the app: ${r.error}`);
          return;
        }
        if (r.out.length === 0) return;
        up.cork();
        let flowing = true;
        for (const b of r.out) flowing = up.write(b) && flowing;
        up.uncork();
        if (!flowing) {
          down.pause();
          up.once('drain', () => down.resume());
        }
      });
      down.resume();
    });
  }
}
