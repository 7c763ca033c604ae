/**
 * @module proxy/xds/follow
 * A sidecar that takes its services and routes from the control plane: the ADS client, the
 * merge with the sidecar's own file (merge.ts), readiness held until the first delivery, and
 * scoped push — the node metadata tells the control plane which services the workload calls:
 *
 * - `dependencies` declared in the Sidecar (plus the services of its local ports): exactly
 *   those; `*` asks for the whole mesh.
 * - none declared: learned. The sidecar starts with nothing; when the app calls a name the
 *   sidecar does not know, the request waits while the sidecar adds the name to its
 *   dependencies and re-subscribes, then is routed (or answered 404 when the mesh has no such
 *   service). Each name is asked for once; a name that later appears in the mesh arrives by
 *   push since it stays in the dependencies.
 */
import { isIP } from 'node:net';
import type { Snapshot } from '../../config/snapshot.js';
import { logger } from '../../util/log.js';
import type { Logger } from '../../util/log.js';
import type { Sidecar } from '../sidecar.js';
import { AdsClient } from './ads-client.js';
import type { XdsConfig } from './ads-client.js';
import { mergeSnapshot } from './merge.js';

export const WAITING_FOR_CONFIG = 'waiting for configuration from the control plane';
/** How long a request for an unknown name waits for the control plane's answer. */
const DISCOVERY_TIMEOUT_MS = 5000;
/** At most this many names are learned (an app calling many outside hosts must not grow the set without end). */
const MAX_LEARNED = 1000;
const SERVICE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

export interface FollowOptions {
  servers: readonly string[];
  nodeId: string;
  /** First reconnect delay (ms), passed to the ADS client. */
  initialBackoffMs?: number;
  log?: Logger;
}

export class XdsFollower {
  readonly ads: AdsClient;
  readonly #sidecar: Sidecar;
  readonly #log: Logger;
  #local: Snapshot;
  #fromXds: XdsConfig | undefined;
  #chain: Promise<void> = Promise.resolve();
  readonly #learned = new Set<string>();
  readonly #asking = new Map<string, Promise<boolean>>();

  constructor(sidecar: Sidecar, local: Snapshot, opts: FollowOptions) {
    this.#sidecar = sidecar;
    this.#local = local;
    this.#log = opts.log ?? logger('xds');
    const sc = local.sidecar;
    this.ads = new AdsClient({
      servers: opts.servers,
      nodeId: opts.nodeId,
      ...(sc.service && { cluster: sc.service }),
      ...(opts.initialBackoffMs !== undefined && { initialBackoffMs: opts.initialBackoffMs }),
      metadata: this.#metadata(),
      log: this.#log,
      // A refused xDS update shows in /config_dump like a refused file (the running config stays).
      onNack: (typeUrl, message) => this.#sidecar.rejected([`xDS ${typeUrl.slice(typeUrl.lastIndexOf('.') + 1)}: ${message}`]),
      onUpdate: (cfg) => {
        this.#fromXds = cfg;
        this.#enqueue(async () => {
          const r = await this.#sidecar.apply(this.effective());
          if (r.ok) this.#sidecar.awaitConfig(undefined);
        });
      },
    });
    sidecar.awaitConfig(WAITING_FOR_CONFIG);
    sidecar.setDiscoverer(this.#learning() ? (name) => this.#discover(name) : undefined);
  }

  start(): void {
    this.ads.start();
  }

  stop(): void {
    this.ads.stop();
    this.#sidecar.setDiscoverer(undefined);
  }

  /** The sidecar's file merged with what the control plane delivered. */
  effective(): Snapshot {
    return this.#fromXds ? mergeSnapshot(this.#local, this.#fromXds) : this.#local;
  }

  /** The sidecar's file changed: apply it merged (and re-subscribe when its dependencies changed). */
  setLocal(local: Snapshot): Promise<void> {
    const before = JSON.stringify(this.#metadata());
    this.#local = local;
    this.#sidecar.setDiscoverer(this.#learning() ? (name) => this.#discover(name) : undefined);
    if (JSON.stringify(this.#metadata()) !== before) void this.ads.resubscribe(this.#metadata());
    return this.#enqueue(async () => {
      await this.#sidecar.apply(this.effective());
    });
  }

  /** Names learned from the app's calls so far. */
  learned(): string[] {
    return [...this.#learned].sort();
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(step).catch((e: unknown) => this.#log.error(`applying xDS configuration failed: ${(e as Error).message}`));
    return this.#chain;
  }

  #learning(): boolean {
    return this.#local.sidecar.dependencies === undefined;
  }

  /** Node metadata: identity, and the dependencies for scoped push. */
  #metadata(): Record<string, string> {
    const sc = this.#local.sidecar;
    const declared = sc.dependencies;
    const deps = declared?.includes('*')
      ? ['*']
      : [...new Set([...(declared ?? this.#learned), ...sc.localPorts.map((p) => p.service)])].sort();
    return {
      'strata.kind': 'sidecar',
      'strata.service': sc.service,
      'strata.namespace': sc.namespace,
      'strata.locality': sc.locality,
      'strata.dependencies': deps.join(','),
    };
  }

  #discover(raw: string): Promise<boolean> | undefined {
    const name = raw.toLowerCase();
    const pending = this.#asking.get(name);
    if (pending) return pending;
    if (this.#learned.has(name) || this.#learned.size >= MAX_LEARNED) return undefined;
    if (name === 'localhost' || isIP(name) !== 0 || !SERVICE_NAME.test(name)) return undefined;
    this.#learned.add(name);
    this.#log.info(`learning dependency ${name}: asking the control plane`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DISCOVERY_TIMEOUT_MS);
      timer.unref();
    });
    const p = Promise.race([this.ads.resubscribe(this.#metadata()), timeout])
      .then(() => this.#chain)
      .then(() => {
        clearTimeout(timer);
        this.#asking.delete(name);
        const known = this.#sidecar.runtime().table.virtualHost(name) !== undefined;
        if (!known) this.#log.info(`${name} is not a service of the mesh (yet)`);
        return known;
      });
    this.#asking.set(name, p);
    return p;
  }
}
