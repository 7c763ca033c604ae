/**
 * @module control/xds/ads-server
 * The Aggregated Discovery Service over @grpc/grpc-js: state of the world
 * (StreamAggregatedResources, what proxyless gRPC clients speak) and delta
 * (DeltaAggregatedResources). Resources come from a SnapshotCache; each stream is its own
 * object (sotw-stream.ts, delta-stream.ts), so a client that sends garbage ends only its own
 * stream. `status()` lists every connected client for `strata status`.
 */
import * as grpc from '@grpc/grpc-js';
import { logger } from '../../util/log.js';
import type { Logger } from '../../util/log.js';
import { adsService } from './ads-proto.js';
import { DeltaStream } from './delta-stream.js';
import type { DeltaCall } from './delta-stream.js';
import type { SnapshotCache } from './snapshot-cache.js';
import { SotwStream } from './sotw-stream.js';
import { SyncGate } from './sync-gate.js';
import type { SotwCall } from './sotw-stream.js';
import type { StreamHost } from './ads-stream.js';
import type { ClientStatus } from './stream-common.js';

export type { ClientStatus, TypeStatus, StreamKind } from './stream-common.js';

export interface AdsServerOptions {
  cache: SnapshotCache;
  /** Sent as `control_plane.identifier` in every response. */
  controlPlaneId?: string;
  log?: Logger;
  /** gRPC server options (message sizes, keepalive). */
  grpcOptions?: grpc.ServerOptions;
  /**
   * How many streams may receive their initial configuration at once (others wait their
   * turn; see sync-gate.ts). Default 64; 0 for no bound.
   */
  maxConcurrentSyncs?: number;
  /** How long a stream may hold a sync slot before it is freed anyway (ms). Default 10 000. */
  syncTimeoutMs?: number;
}

const DEFAULT_MAX_CONCURRENT_SYNCS = 64;
const DEFAULT_SYNC_TIMEOUT_MS = 10_000;

export class AdsServer {
  readonly cache: SnapshotCache;
  readonly #server: grpc.Server;
  readonly #streams = new Map<number, SotwStream | DeltaStream>();
  readonly #host: StreamHost;
  #nextId = 1;
  #listening = false;

  constructor(options: AdsServerOptions) {
    this.cache = options.cache;
    const log = options.log ?? logger('xds');
    const syncs = options.maxConcurrentSyncs ?? DEFAULT_MAX_CONCURRENT_SYNCS;
    this.#host = {
      cache: options.cache,
      log,
      controlPlaneId: options.controlPlaneId ?? 'strata',
      closed: (id) => this.#streams.delete(id),
      ...(syncs > 0 && { gate: new SyncGate(syncs, options.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS) }),
    };
    this.#server = new grpc.Server(options.grpcOptions);
    this.#server.addService(adsService().service, {
      StreamAggregatedResources: (call: SotwCall) => {
        const id = this.#nextId++;
        this.#open(id, new SotwStream(id, call, this.#host));
      },
      DeltaAggregatedResources: (call: DeltaCall) => {
        const id = this.#nextId++;
        this.#open(id, new DeltaStream(id, call, this.#host));
      },
    });
  }

  #open(id: number, stream: SotwStream | DeltaStream): void {
    this.#streams.set(id, stream);
    stream.start();
  }

  /** Bind and serve; returns the bound port (pass 0 for any free port). */
  async listen(address = '127.0.0.1', port = 0): Promise<number> {
    const host = address.includes(':') ? `[${address}]` : address;
    const bound = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    });
    this.#listening = true;
    return bound;
  }

  /** Every connected client that has named its node. */
  status(): ClientStatus[] {
    const out: ClientStatus[] = [];
    for (const s of this.#streams.values()) {
      const st = s.status();
      if (st) out.push(st);
    }
    return out.sort((a, b) => a.streamId - b.streamId);
  }

  /** End every stream with UNAVAILABLE (clients reconnect elsewhere) and stop serving. */
  async close(graceMs = 1000): Promise<void> {
    for (const s of [...this.#streams.values()]) s.end(grpc.status.UNAVAILABLE, 'control plane shutting down');
    if (!this.#listening) return;
    this.#listening = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
