/**
 * @module bench/control/ads-client
 * One simulated xDS client (a sidecar's ADS stream), state of the world or delta. It does
 * what a proxyless gRPC client does with the names, without decoding resources: subscribes
 * to every Listener and Cluster (wildcard), then to the RouteConfiguration of each Listener
 * (`<listener>-routes`, the control plane's naming) and the ClusterLoadAssignment of each
 * Cluster, and ACKs every response at once.
 *
 * Timing: `ready` is when the client has ACKed all four types, including the EDS/RDS
 * responses to its latest subscription; an armed change is "ACKed" when the client ACKs a
 * response in which the watched resource's bytes differ from what it held when armed (SotW:
 * the resource is found by its name, field 1; delta: by the resource's name).
 */
import type * as grpc from '@grpc/grpc-js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
} from '../../src/xds/protos.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from '../../src/control/xds/ads-proto.js';
import type { XdsAny } from '../../src/xds/protos.js';
import { routeConfigName } from './mesh.js';
import { hasName, resourceName } from './xds-names.js';

export type Protocol = 'sotw' | 'delta';

/** node.metadata field that scopes pushes to the named services. */
export const DEPENDENCIES_KEY = 'strata.dependencies';

export const TYPES = { cds: CLUSTER_TYPE_URL, eds: CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, lds: LISTENER_TYPE_URL, rds: ROUTE_CONFIGURATION_TYPE_URL } as const;

/** A resource whose changes the bench times. */
export interface Watched {
  typeUrl: string;
  name: string;
}

export interface ClientSpec {
  id: string;
  /** Services this client calls (node.metadata strata.dependencies); undefined = whole mesh. */
  dependencies?: string[];
}

export interface ClientEvents {
  /** All four types ACKed, EDS/RDS for the latest subscription. */
  ready(at: number): void;
  /** The armed change was ACKed. */
  changed(token: number, at: number): void;
  /** The stream ended (the bench expects it to stay up). */
  ended(why: string): void;
}

/** Wall-clock ms with sub-ms resolution, comparable across worker threads. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

interface TypeState {
  requested: boolean;
  nonce: string;
  version: string;
  acks: number;
  /** A subscription request was sent and its response has not been ACKed yet. */
  pending: boolean;
}

/** Names are shared by all clients of a worker: one string per name, not one per client. */
const interned = new Map<string, string>();
function intern(s: string): string {
  const have = interned.get(s);
  if (have !== undefined) return have;
  interned.set(s, s);
  return s;
}

/**
 * The node a client sends; metadata is a google.protobuf.Struct as proto-loader wants it. The
 * Struct/Value types come from protobufjs's bundled descriptors, whose field names are
 * camelCase even with keepCase (`string_value` would be dropped silently).
 */
export function nodeOf(spec: ClientSpec): Record<string, unknown> {
  const node: Record<string, unknown> = { id: spec.id, cluster: 'bench' };
  if (spec.dependencies) node['metadata'] = { fields: { [DEPENDENCIES_KEY]: { stringValue: spec.dependencies.join(',') } } };
  return node;
}

abstract class BenchAdsClient<Req, Res> {
  protected readonly types = new Map<string, TypeState>();
  /** Desired EDS (from CDS) and RDS (from LDS) names. */
  protected readonly clusters = new Set<string>();
  protected readonly listeners = new Set<string>();
  readonly #held = new Map<string, Uint8Array | undefined>();
  readonly #watchedBytes: Map<string, { name: string; bytes: Uint8Array }>;
  #armed: { token: number; typeUrl: string; baseline: Uint8Array | undefined } | undefined;
  #sentNode = false;
  #ready = false;
  #ended = false;

  constructor(
    protected readonly call: grpc.ClientDuplexStream<Req, Res>,
    protected readonly spec: ClientSpec,
    watched: readonly Watched[],
    protected readonly events: ClientEvents,
  ) {
    this.#watchedBytes = new Map(watched.map((w) => [w.typeUrl, { name: w.name, bytes: Buffer.from(w.name, 'utf8') }]));
    for (const t of Object.values(TYPES)) this.types.set(t, { requested: false, nonce: '', version: '', acks: 0, pending: false });
    call.on('data', (res: Res) => {
      try {
        this.onResponse(res);
      } catch (err) {
        this.#end(`bad response: ${(err as Error).message}`);
        call.cancel();
      }
    });
    call.on('status', (s: grpc.StatusObject) => this.#end(`status ${s.code} ${s.details}`));
    call.on('error', (e: Error) => this.#end(e.message));
  }

  /** Subscribe to every Listener and Cluster. */
  start(): void {
    this.subscribe(TYPES.cds, []);
    this.subscribe(TYPES.lds, []);
  }

  /** Time the next change of the watched resource of `typeUrl`. */
  arm(token: number, typeUrl: string): void {
    this.#armed = { token, typeUrl, baseline: this.#held.get(typeUrl) };
  }

  /** How many Clusters and Listeners this client holds. */
  counts(): { clusters: number; listeners: number } {
    return { clusters: this.clusters.size, listeners: this.listeners.size };
  }

  close(): void {
    this.#ended = true;
    this.call.cancel();
  }

  protected abstract onResponse(res: Res): void;
  /** Send a subscription request (first request of a type, or a change of names). */
  protected abstract subscribe(typeUrl: string, names: string[]): void;

  protected write(req: Req & { node?: unknown }): void {
    if (!this.#sentNode) {
      req.node = nodeOf(this.spec);
      this.#sentNode = true;
    }
    this.call.write(req);
  }

  protected state(typeUrl: string): TypeState {
    const st = this.types.get(typeUrl);
    if (!st) throw new Error(`unexpected type ${typeUrl}`);
    return st;
  }

  /** The watched resource's bytes in these resources, if it is among them. */
  protected findWatched(typeUrl: string, resources: readonly { name?: string; any: XdsAny }[]): Uint8Array | undefined {
    const w = this.#watchedBytes.get(typeUrl);
    if (!w) return undefined;
    for (const r of resources) {
      if (r.name !== undefined ? r.name === w.name : hasName(r.any.value, w.bytes)) return r.any.value;
    }
    return undefined;
  }

  /** After the ACK of a response has been written: timing, readiness, follow-up subscriptions. */
  protected acked(typeUrl: string, watchedBytes: Uint8Array | undefined): void {
    const st = this.state(typeUrl);
    st.acks++;
    st.pending = false;
    if (watchedBytes !== undefined) {
      const a = this.#armed;
      if (a && a.typeUrl === typeUrl && (a.baseline === undefined || !Buffer.from(watchedBytes).equals(a.baseline))) {
        this.#armed = undefined;
        this.events.changed(a.token, nowMs());
      }
      this.#held.set(typeUrl, watchedBytes);
    }
    if (typeUrl === TYPES.cds) this.#follow(TYPES.eds, this.clusters, (n) => n);
    else if (typeUrl === TYPES.lds) this.#follow(TYPES.rds, this.listeners, routeConfigName);
    if (!this.#ready && [...this.types.values()].every((t) => t.acks > 0 && !t.pending)) {
      this.#ready = true;
      this.events.ready(nowMs());
    }
  }

  /** Subscribe EDS/RDS to what CDS/LDS now hold. */
  #follow(typeUrl: string, from: ReadonlySet<string>, map: (n: string) => string): void {
    const names = [...from].map((n) => intern(map(n))).sort();
    if (this.sameSubscription(typeUrl, names)) return;
    this.state(typeUrl).pending = true;
    this.subscribe(typeUrl, names);
  }

  protected abstract sameSubscription(typeUrl: string, names: readonly string[]): boolean;

  #end(why: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.events.ended(why);
  }
}

/**
 * State of the world: LDS/CDS responses carry the whole set; EDS/RDS responses may carry only
 * the resources that changed (the watched one is looked for in each response either way).
 */
export class SotwClient extends BenchAdsClient<DiscoveryRequest, DiscoveryResponse> {
  readonly #subscribed = new Map<string, readonly string[]>();

  protected sameSubscription(typeUrl: string, names: readonly string[]): boolean {
    const have = this.#subscribed.get(typeUrl);
    return have !== undefined && have.length === names.length && have.every((n, i) => n === names[i]);
  }

  protected subscribe(typeUrl: string, names: string[]): void {
    const st = this.state(typeUrl);
    this.#subscribed.set(typeUrl, names);
    const req: DiscoveryRequest = { type_url: typeUrl, resource_names: names };
    if (st.requested) Object.assign(req, { version_info: st.version, response_nonce: st.nonce });
    st.requested = true;
    this.write(req);
  }

  protected onResponse(res: DiscoveryResponse): void {
    const typeUrl = res.type_url;
    const st = this.state(typeUrl);
    st.nonce = res.nonce;
    st.version = res.version_info;
    const resources = res.resources ?? [];
    if (typeUrl === TYPES.cds || typeUrl === TYPES.lds) {
      const set = typeUrl === TYPES.cds ? this.clusters : this.listeners;
      set.clear();
      for (const r of resources) set.add(intern(resourceName(r.value)));
    }
    const watched = this.findWatched(typeUrl, resources.map((any) => ({ any })));
    this.write({ type_url: typeUrl, version_info: res.version_info, response_nonce: res.nonce, resource_names: [...(this.#subscribed.get(typeUrl) ?? [])] });
    this.acked(typeUrl, watched);
  }
}

/** Delta: responses carry changed resources and removed names. */
export class DeltaClient extends BenchAdsClient<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  readonly #subscribed = new Map<string, Set<string>>();

  protected sameSubscription(typeUrl: string, names: readonly string[]): boolean {
    const have = this.#subscribed.get(typeUrl);
    return have !== undefined && have.size === names.length && names.every((n) => have.has(n));
  }

  protected subscribe(typeUrl: string, names: string[]): void {
    const st = this.state(typeUrl);
    const have = this.#subscribed.get(typeUrl) ?? new Set<string>();
    const next = new Set(names);
    const add = names.filter((n) => !have.has(n));
    const drop = [...have].filter((n) => !next.has(n));
    this.#subscribed.set(typeUrl, next);
    if (st.requested && add.length === 0 && drop.length === 0) return;
    st.requested = true;
    this.write({ type_url: typeUrl, resource_names_subscribe: add, resource_names_unsubscribe: drop });
  }

  protected onResponse(res: DeltaDiscoveryResponse): void {
    const typeUrl = res.type_url;
    const st = this.state(typeUrl);
    st.nonce = res.nonce;
    st.version = res.system_version_info;
    const resources = res.resources ?? [];
    if (typeUrl === TYPES.cds || typeUrl === TYPES.lds) {
      const set = typeUrl === TYPES.cds ? this.clusters : this.listeners;
      for (const r of resources) set.add(intern(r.name));
      for (const n of res.removed_resources ?? []) set.delete(n);
    }
    const watched = this.findWatched(typeUrl, resources.map((r) => ({ name: r.name, any: r.resource })));
    this.write({ type_url: typeUrl, response_nonce: res.nonce });
    this.acked(typeUrl, watched);
  }
}
