/**
 * @module control/control-plane
 * One control-plane process: the REST API (api/server.ts) and ADS (xds/ads-server.ts) over one
 * store. The xDS resources are computed from the whole store (resources + registered
 * endpoints → mesh-compile.ts → to-xds.ts) and put in the SnapshotCache: the whole mesh for
 * clients that do not say what they call, and a scoped part per dependency set (scope.ts) for
 * those that do. A watch on the store, from the revision that was read, triggers a
 * recompute (debounced) on every change. A store whose content does not compile keeps the
 * last good resources in place; the errors are logged and kept in `lastErrors`.
 *
 * Per service: a Cluster and its ClusterLoadAssignment; for HTTP services (http, http2,
 * grpc) also a RouteConfiguration `<service>-routes` holding the service's virtual host, and
 * an API Listener named after the service and each of its aliases — what a proxyless gRPC
 * client dialing `xds:///<service>` subscribes to. When the mesh has PriorityClass or
 * PriorityPolicy resources, the sidecar rendering also holds the Listener `strata.priority`
 * (xds/priority-xds.ts): classes, rules and default class, in every sidecar's set.
 *
 * The store is the caller's: `close()` stops the servers and the watch, not the store.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import '../proxy/balancer/index.js';
import '../proxy/filters/index.js';
import type { ClusterSpec, EndpointSpec, VirtualHostSpec } from '../config/snapshot.js';
import { formatFieldError } from '../errors.js';
import type { FieldError } from '../errors.js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
  pack,
} from '../xds/protos.js';
import type { XdsAny } from '../xds/protos.js';
import { apiListenerToXds, clusterToXds, endpointsToXds, hashPoliciesOf, routesToXds, wantsLeastRequest } from '../xds/to-xds.js';
import { PRIORITY_LISTENER_NAME, meshPriorityOf, priorityListenerToXds } from '../xds/priority-xds.js';
import { logger } from '../util/log.js';
import type { Logger } from '../util/log.js';
import { ApiServer, DEFAULT_API_PORT, storeStatus } from './api/server.js';
import type { StatusReport } from './api/server.js';
import { compileMesh } from './mesh-compile.js';
import type { MeshSpec } from './mesh-compile.js';
import { MESH_GROUP, groupOfNode, indexMesh, parseGroup, scopedSet } from './scope.js';
import type { MeshIndex, Rendering } from './scope.js';
import type { Store, WatchHandle } from './store/store.js';
import { AdsServer } from './xds/ads-server.js';
import { SnapshotCache } from './xds/snapshot-cache.js';
import type { ResourceSet } from './xds/snapshot-cache.js';

export const DEFAULT_XDS_PORT = 15010;
export const DEFAULT_CONTROL_ADDRESS = '127.0.0.1';
const DEFAULT_DEBOUNCE_MS = 50;
const REWATCH_DELAY_MS = 1000;

export interface ControlPlaneOptions {
  store: Store;
  /** REST API port (0: any free port). Default 15080. */
  apiPort?: number;
  /** ADS port (0: any free port). Default 15010. */
  xdsPort?: number;
  /** Address both servers bind. Default 127.0.0.1. */
  address?: string;
  /** Delay between a store change and the recompute it triggers (ms). Default 50. */
  debounceMs?: number;
  log?: Logger;
}

export interface ControlPlaneUpdate {
  /** The store revision the resources were computed at. */
  revision: number;
  /** Type URLs whose content changed in the cache. */
  changed: string[];
}

/** The name of the RouteConfiguration that carries a service's routes. */
export const routeConfigName = (service: string): string => `${service}-routes`;

export class ControlPlane {
  readonly cache = new SnapshotCache({
    groupOf: groupOfNode,
    resolver: (node) => this.#resources(groupOfNode(node)),
    retain: (key) => key === MESH_GROUP,
  });
  readonly api: ApiServer;
  readonly ads: AdsServer;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #debounceMs: number;
  readonly #address: string;
  readonly #apiPort: number;
  readonly #xdsPort: number;
  readonly #listeners = new Set<(u: ControlPlaneUpdate) => void>();
  #watch: WatchHandle | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #dirty = false;
  #closed = false;
  #revision = 0;
  #lastErrors: FieldError[] = [];
  #full: Record<Rendering, ResourceSet> = { proxyless: new Map(), full: new Map(), sidecar: new Map() };
  #index: MeshIndex = new Map();
  readonly #encoded = new XdsEncodingCache();
  #ports: { api: number; xds: number } | undefined;

  constructor(opts: ControlPlaneOptions) {
    this.#store = opts.store;
    this.#log = opts.log ?? logger('control');
    this.#debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.#address = opts.address ?? DEFAULT_CONTROL_ADDRESS;
    this.#apiPort = opts.apiPort ?? DEFAULT_API_PORT;
    this.#xdsPort = opts.xdsPort ?? DEFAULT_XDS_PORT;
    this.api = new ApiServer({ store: opts.store, status: () => this.status() });
    this.ads = new AdsServer({ cache: this.cache, ...(opts.log && { log: opts.log }) });
  }

  /** Compute the first resources, bind both servers and follow the store. Returns the bound ports. */
  async start(): Promise<{ api: number; xds: number }> {
    if (this.#ports) return this.#ports;
    const revision = await this.#recompute();
    const api = await this.api.listen(this.#address, this.#apiPort);
    let xds: number;
    try {
      xds = await this.ads.listen(this.#address, this.#xdsPort);
    } catch (err) {
      await this.api.close();
      throw err;
    }
    this.#ports = { api, xds };
    this.#follow(revision);
    return this.#ports;
  }

  /** The bound ports (after start()). */
  ports(): { api: number; xds: number } | undefined {
    return this.#ports;
  }

  /** The store revision of the resources being served. */
  revision(): number {
    return this.#revision;
  }

  /** The served revision, the store's health and every connected xDS client (`GET /api/v1/status`). */
  async status(): Promise<StatusReport> {
    const store = await storeStatus(this.#store);
    const xds = this.ads.status().map((c) => ({
      nodeId: c.nodeId,
      workload: c.workload,
      group: c.group,
      kind: c.kind,
      peer: c.peer,
      connectedSince: c.connectedSince.toISOString(),
      types: c.types.map((t) => ({
        typeUrl: t.typeUrl,
        ackedVersion: t.ackedVersion,
        sentVersion: t.sentVersion,
        ...(t.lastNack !== undefined && { lastNack: t.lastNack }),
      })),
      ...(c.lastNack && { lastNack: { typeUrl: c.lastNack.typeUrl, reason: c.lastNack.reason, at: c.lastNack.at.toISOString() } }),
    }));
    return { revision: this.#revision, store, xds };
  }

  /** Why the latest store content was not served (empty when it was). */
  lastErrors(): readonly FieldError[] {
    return this.#lastErrors;
  }

  /** Hear of every recompute that was put in the cache. Returns a function that stops listening. */
  onUpdate(listener: (u: ControlPlaneUpdate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stop following the store, end every xDS stream and close both servers. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#watch?.close();
    this.#watch = undefined;
    await Promise.allSettled([this.api.close(), this.ads.close()]);
    await this.#running?.catch(() => undefined);
  }

  // ---- following the store ----------------------------------------------------------------

  #follow(fromRevision: number): void {
    if (this.#closed) return;
    this.#watch = this.#store.watch(
      fromRevision,
      () => this.#schedule(),
      (err) => {
        if (this.#closed) return;
        this.#log.warn(`store watch ended (${err.code}: ${err.message}); re-reading the store`);
        this.#watch = undefined;
        const retry = setTimeout(() => {
          if (this.#closed) return;
          this.#recompute().then(
            (rev) => this.#follow(rev),
            (e: unknown) => {
              this.#log.error(`re-reading the store failed: ${(e as Error).message}`);
              this.#follow(this.#revision);
            },
          );
        }, REWATCH_DELAY_MS);
        retry.unref();
      },
    );
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, this.#debounceMs);
  }

  #run(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#dirty = true;
      return;
    }
    this.#running = this.#recompute()
      .then(
        () => undefined,
        (err: unknown) => this.#log.error(`recomputing xDS resources failed: ${(err as Error).message}`),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#dirty) {
          this.#dirty = false;
          this.#schedule();
        }
      });
  }

  /** Read the store, compile, translate and put in the cache; returns the lowest revision read. */
  async #recompute(): Promise<number> {
    const [resources, endpoints] = await Promise.all([this.#store.list(), this.#store.listEndpoints()]);
    const revision = Math.min(resources.revision, endpoints.revision);
    const mesh = compileMesh(resources.items, endpoints.items);
    if (!mesh.ok) {
      this.#lastErrors = mesh.errors;
      this.#log.warn(`store revision ${revision} does not compile; still serving revision ${this.#revision}:\n  ${mesh.errors.map(formatFieldError).join('\n  ')}`);
      return revision;
    }
    const resolved = await resolveEndpoints(mesh.value, this.#log);
    if (this.#closed) return revision;
    this.#full = meshToXdsFlavors(resolved, this.#encoded);
    this.#index = indexMesh(resolved, routeConfigName, listenerNames);
    const changed = new Set(this.cache.set(MESH_GROUP, this.#full.proxyless));
    for (const key of this.cache.keys()) {
      if (key !== MESH_GROUP) for (const t of this.cache.set(key, this.#resources(key))) changed.add(t);
    }
    this.#revision = Math.max(resources.revision, endpoints.revision);
    this.#lastErrors = [];
    if (changed.size > 0) this.#log.info(`serving store revision ${this.#revision} (changed: ${[...changed].map(shortType).join(', ')})`);
    for (const l of [...this.#listeners]) l({ revision: this.#revision, changed: [...changed] });
    return revision;
  }

  /** The resources of a group: the whole mesh or its scoped part, in the group's rendering. */
  #resources(key: string): ResourceSet {
    const { rendering, dependencies } = parseGroup(key);
    const full = this.#full[rendering];
    return dependencies ? scopedSet(full, this.#index, dependencies) : full;
  }
}

/** Every xDS resource of the mesh: all four types, present even when empty (so removals reach clients). */
export function meshToXds(mesh: MeshSpec, rendering: Rendering = 'proxyless'): ResourceSet {
  return meshToXdsFlavors(mesh)[rendering];
}

/**
 * Encoded resources by what they were encoded from, kept from one recompute to the next: an
 * unchanged Cluster, ClusterLoadAssignment, RouteConfiguration or Listener keeps the very same
 * `XdsAny` object, so it is neither encoded nor hashed again (resourceVersion() remembers per
 * object). Entries not used by the latest compute are dropped.
 */
export class XdsEncodingCache {
  #current = new Map<string, XdsAny>();
  #next = new Map<string, XdsAny>();

  /** The Any encoded for `key`, from the last compute or made now. */
  get(key: string, encode: () => XdsAny): XdsAny {
    let any = this.#next.get(key);
    if (any) return any;
    any = this.#current.get(key) ?? encode();
    this.#next.set(key, any);
    return any;
  }

  /** End a compute: keep only what it used. */
  commit(): void {
    this.#current = this.#next;
    this.#next = new Map();
  }

  get size(): number {
    return this.#current.size;
  }
}

/**
 * The mesh in every rendering (scope.ts Rendering): both route flavors, and the sidecar one —
 * the full flavor plus, when the mesh declares priority, the Listener `strata.priority` (it
 * takes that name even if a service or alias has it). The full flavor (Envoy) has its own
 * Clusters where a balancer is least-request or peak-ewma (LEAST_REQUEST). They share every Cluster,
 * ClusterLoadAssignment and Listener object, and every RouteConfiguration without a direct
 * response (encoded once). With `cache`, resources whose input did not change since the last
 * call are reused as is.
 */
export function meshToXdsFlavors(mesh: MeshSpec, cache: XdsEncodingCache = new XdsEncodingCache()): Record<Rendering, ResourceSet> {
  const cds = new Map<string, XdsAny>();
  let envoyCds = cds;
  const eds = new Map<string, XdsAny>();
  const lds = new Map<string, XdsAny>();
  const rds = new Map<string, XdsAny>();
  const fullRds = new Map<string, XdsAny>();
  for (const c of mesh.clusters) {
    const key = JSON.stringify(c);
    const cluster = cache.get(`c\0${key}`, () => pack(CLUSTER_TYPE_URL, clusterToXds(c)));
    cds.set(c.name, cluster);
    if (wantsLeastRequest(c)) {
      if (envoyCds === cds) envoyCds = new Map(cds);
      envoyCds.set(c.name, cache.get(`C\0${key}`, () => pack(CLUSTER_TYPE_URL, clusterToXds(c, { leastRequest: true }))));
    } else if (envoyCds !== cds) {
      envoyCds.set(c.name, cluster);
    }
    eds.set(c.name, cache.get(`e\0${key}`, () => pack(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, endpointsToXds(c))));
  }
  const hashPolicies = hashPoliciesOf(mesh.clusters);
  for (const host of mesh.virtualHosts) {
    const rc = routeConfigName(host.name);
    // The input of a RouteConfiguration: its name, the host and the hash policies its routes reach.
    const key = JSON.stringify([rc, host, hostHashPolicies(host, hashPolicies)], exactJson);
    const proxyless = cache.get(`r\0${key}`, () => pack(ROUTE_CONFIGURATION_TYPE_URL, routesToXds(rc, [host], { proxyless: true, hashPolicies })));
    rds.set(rc, proxyless);
    const direct = host.routes.some((r) => r.action.kind === 'direct');
    fullRds.set(rc, direct ? cache.get(`R\0${key}`, () => pack(ROUTE_CONFIGURATION_TYPE_URL, routesToXds(rc, [host], { hashPolicies }))) : proxyless);
    for (const name of listenerNames(host)) {
      if (!lds.has(name)) lds.set(name, cache.get(`l\0${name}\0${rc}`, () => pack(LISTENER_TYPE_URL, apiListenerToXds(name, rc))));
    }
  }
  let sidecarLds = lds;
  if (mesh.priority) {
    const p = meshPriorityOf(mesh.priority);
    sidecarLds = new Map(lds);
    sidecarLds.set(PRIORITY_LISTENER_NAME, cache.get(`p\0${JSON.stringify(p, exactJson)}`, () => pack(LISTENER_TYPE_URL, priorityListenerToXds(p))));
  }
  cache.commit();
  const set = (routes: Map<string, XdsAny>, listeners = lds, clusters = cds): ResourceSet =>
    new Map([
      [CLUSTER_TYPE_URL, clusters],
      [CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, eds],
      [LISTENER_TYPE_URL, listeners],
      [ROUTE_CONFIGURATION_TYPE_URL, routes],
    ]);
  return { proxyless: set(rds), full: set(fullRds, lds, envoyCds), sidecar: set(fullRds, sidecarLds) };
}

/**
 * JSON.stringify replacer for cache keys of values that are not plain JSON (filter configs are
 * `unknown`): numbers JSON cannot spell and non-JSON primitives get a spelling of their own, so
 * two inputs that encode differently never share a key.
 */
function exactJson(_key: string, v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : `\0n${String(v)}`;
  if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') return `\0${typeof v}${String(v)}`;
  return v;
}

/** The hash policies (by cluster) that the forward routes of a host reach, sorted by cluster. */
function hostHashPolicies(host: VirtualHostSpec, policies: ReadonlyMap<string, unknown>): [string, unknown][] {
  if (policies.size === 0) return [];
  const out = new Map<string, unknown>();
  for (const r of host.routes) {
    if (r.action.kind !== 'forward') continue;
    for (const b of r.action.backends) {
      const h = policies.get(b.cluster);
      if (h !== undefined) out.set(b.cluster, h);
    }
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The service's name first, then its aliases. */
function listenerNames(host: VirtualHostSpec): string[] {
  return [host.name, ...host.domains.filter((d) => d !== host.name)];
}

/** xDS clients take IP literals only: resolve host names (an endpoint that does not resolve is left out). */
async function resolveEndpoints(mesh: MeshSpec, log: Logger): Promise<MeshSpec> {
  const cache = new Map<string, Promise<string | undefined>>();
  const resolve = (host: string): Promise<string | undefined> => {
    let p = cache.get(host);
    if (!p) {
      p = lookup(host).then(
        (r) => r.address,
        (err: unknown) => {
          log.warn(`endpoint host ${host} does not resolve (${(err as Error).message}); left out`);
          return undefined;
        },
      );
      cache.set(host, p);
    }
    return p;
  };
  const clusters = await Promise.all(
    mesh.clusters.map(async (c): Promise<ClusterSpec> => {
      if (c.endpoints.every((e) => isIP(e.address) !== 0)) return c;
      const endpoints: EndpointSpec[] = [];
      for (const e of c.endpoints) {
        const address = isIP(e.address) !== 0 ? e.address : await resolve(e.address);
        if (address !== undefined) endpoints.push({ ...e, address });
      }
      return { ...c, endpoints };
    }),
  );
  return { ...mesh, clusters };
}

function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}
