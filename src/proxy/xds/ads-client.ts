/**
 * @module proxy/xds/ads-client
 * A state-of-the-world ADS client for the sidecar. It subscribes CDS and LDS (wildcard), then
 * EDS for every cluster and RDS for every route configuration the listeners name; the LDS
 * resource `strata.priority` (xds/priority-xds.ts) carries the mesh's priority classes and
 * rules instead of routes (delivered as `XdsConfig.priority`). Each
 * response is decoded with xds/from-xds.ts: a valid one is ACKed (its version and nonce); an
 * LDS/CDS response replaces that type's resources (full state: a missing one is deleted), an
 * EDS/RDS response is merged by name (the server may send only what changed), and an EDS/RDS
 * resource is forgotten once its name leaves the subscription. An invalid one is NACKed (same nonce, the previous version,
 * error_detail listing every error with its field path) and the last good resources stay.
 * `onUpdate` is called with `{ clusters, virtualHosts }` only when the set is complete and
 * consistent (every cluster has its ClusterLoadAssignment, every listener's route
 * configuration arrived) and differs from the last one delivered.
 *
 * Servers are tried in order; a stream that ends or fails moves to the next server after an
 * exponential backoff (reset once a response arrives). Nothing is cleared while the control
 * plane is away: the last good configuration stays in force.
 */
import * as grpc from '@grpc/grpc-js';
import type { ClusterSpec, EndpointSpec, VirtualHostSpec } from '../../config/snapshot.js';
import type { MarkingEnvironment } from '../../net/marking.js';
import type { MeshPrioritySpec } from '../../xds/priority-xds.js';
import type { FieldError } from '../../errors.js';
import { adsService } from '../../control/xds/ads-proto.js';
import type { DiscoveryRequest, DiscoveryResponse } from '../../control/xds/ads-proto.js';
import { decodeClusterAny, decodeClusterLoadAssignmentAny, decodeRouteConfigurationAny, nackMessage } from '../../xds/from-xds.js';
import type { XdsDecoded } from '../../xds/from-xds.js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
} from '../../xds/protos.js';
import { logger } from '../../util/log.js';
import type { Logger } from '../../util/log.js';
import { decodeApiListenerAny } from './listener.js';
import type { ListenerValue } from './listener.js';

/** What xDS contributes to a sidecar's Snapshot. */
export interface XdsConfig {
  clusters: ClusterSpec[];
  virtualHosts: VirtualHostSpec[];
  /** The mesh's priority classes, rules and default class, when the control plane has any (merge.ts). */
  priority?: MeshPrioritySpec;
}

export interface AdsClientOptions {
  /** `host:port` of each control plane, tried in order. */
  servers: readonly string[];
  nodeId: string;
  /** Node metadata (string values), sent as a google.protobuf.Struct. */
  metadata?: Readonly<Record<string, string>>;
  /** Node cluster (the service the sidecar sits beside). */
  cluster?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  onUpdate: (config: XdsConfig) => void;
  /** Called for every NACK sent (type URL and the error_detail message). */
  onNack?: (typeUrl: string, message: string) => void;
  /** What delivered priority classes' socket options are checked against. Default: this machine. */
  classChecks?: MarkingEnvironment;
  /** First reconnect delay (ms). Default 250. */
  initialBackoffMs?: number;
  /** Largest reconnect delay (ms). Default 10 000. */
  maxBackoffMs?: number;
  log?: Logger;
}

export interface AdsClientStatus {
  connected: boolean;
  server: string | undefined;
  /** Last ACKed version per type URL. */
  versions: Record<string, string>;
  lastNack: { typeUrl: string; message: string } | undefined;
  /** Whether a complete configuration has been delivered. */
  ready: boolean;
}

interface TypeState<T> {
  /** Last ACKed version_info. */
  version: string;
  /** Nonce of the last response received on the current stream. */
  nonce: string;
  /** Last good resources by name. */
  resources: Map<string, T>;
}

const INVALID_ARGUMENT = 3;
const ORDER = [CLUSTER_TYPE_URL, CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL] as const;

type Call = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export class AdsClient {
  readonly #opts: AdsClientOptions;
  readonly #log: Logger;
  readonly #cds: TypeState<ClusterSpec> = { version: '', nonce: '', resources: new Map() };
  readonly #eds: TypeState<EndpointSpec[]> = { version: '', nonce: '', resources: new Map() };
  readonly #lds: TypeState<ListenerValue> = { version: '', nonce: '', resources: new Map() };
  readonly #rds: TypeState<VirtualHostSpec[]> = { version: '', nonce: '', resources: new Map() };
  /** Types that have had a valid response since the client started. */
  readonly #received = new Set<string>();
  /** Types requested on the current stream. */
  readonly #requested = new Set<string>();
  #serverIndex = 0;
  #backoffMs: number;
  #client: grpc.Client | undefined;
  #call: Call | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #connected = false;
  #lastDelivered = '';
  #lastNack: { typeUrl: string; message: string } | undefined;
  #metadata: Readonly<Record<string, string>> | undefined;
  /** Types that have had a response on the current stream. */
  readonly #streamReceived = new Set<string>();
  /** Waiting for the current stream to have delivered a complete configuration. */
  #syncWaiters: (() => void)[] = [];

  constructor(opts: AdsClientOptions) {
    if (opts.servers.length === 0) throw new Error('AdsClient: at least one server address is required');
    this.#opts = opts;
    this.#metadata = opts.metadata;
    this.#log = opts.log ?? logger('xds-client');
    this.#backoffMs = opts.initialBackoffMs ?? 250;
  }

  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#teardown();
    this.#releaseWaiters();
  }

  /**
   * Change the node metadata (e.g. the dependencies a sidecar learned). Node metadata is read
   * by the server on a stream's first request, so the stream is reopened on the same server;
   * the configuration in force stays until the new stream delivers. Resolves once the new
   * stream has delivered a complete configuration (changed or not), or when the client stops.
   */
  resubscribe(metadata: Readonly<Record<string, string>>): Promise<void> {
    this.#metadata = metadata;
    if (this.#stopped) return Promise.resolve();
    const p = new Promise<void>((resolve) => this.#syncWaiters.push(resolve));
    if (this.#call) {
      this.#teardown();
      this.#connect();
    }
    // Otherwise a reconnect is pending: the next stream carries the new metadata.
    return p;
  }

  #releaseWaiters(): void {
    const w = this.#syncWaiters;
    this.#syncWaiters = [];
    for (const f of w) f();
  }

  status(): AdsClientStatus {
    const versions: Record<string, string> = {};
    for (const t of ORDER) versions[t] = this.#state(t).version;
    return {
      connected: this.#connected,
      server: this.#client ? this.#opts.servers[this.#serverIndex] : undefined,
      versions,
      lastNack: this.#lastNack,
      ready: this.#lastDelivered !== '',
    };
  }

  // ---- connection ---------------------------------------------------------------------------

  #connect(): void {
    if (this.#stopped) return;
    const server = this.#opts.servers[this.#serverIndex] ?? this.#opts.servers[0]!;
    const Ctor = adsService();
    const client = new Ctor(server, grpc.credentials.createInsecure());
    this.#client = client;
    const call = (client as unknown as Record<string, () => Call>)['StreamAggregatedResources']!.call(client);
    this.#call = call;
    this.#requested.clear();
    this.#streamReceived.clear();
    for (const t of ORDER) this.#state(t).nonce = '';
    let ended = false;
    const onEnd = (why: string): void => {
      if (ended || this.#call !== call) return;
      ended = true;
      this.#connected = false;
      this.#log.warn(`xDS stream to ${server} ended (${why}); keeping the last configuration`);
      this.#teardown();
      this.#scheduleReconnect();
    };
    call.on('data', (res: DiscoveryResponse) => {
      if (this.#call !== call) return;
      if (!this.#connected) this.#log.info(`xDS stream to ${server} established`);
      this.#connected = true;
      this.#backoffMs = this.#opts.initialBackoffMs ?? 250;
      this.#onResponse(res);
    });
    call.on('error', (e: Error) => onEnd(e.message));
    call.on('status', (s: grpc.StatusObject) => onEnd(`${grpc.status[s.code]}: ${s.details}`));
    call.on('end', () => onEnd('closed by the server'));
    this.#subscribe(CLUSTER_TYPE_URL);
    this.#subscribe(LISTENER_TYPE_URL);
    this.#updateEdsSubscription();
    this.#updateRdsSubscription();
  }

  #teardown(): void {
    const call = this.#call;
    const client = this.#client;
    this.#call = undefined;
    this.#client = undefined;
    this.#connected = false;
    if (call) {
      call.removeAllListeners('data');
      call.on('error', () => {});
      call.cancel();
    }
    client?.close();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#timer) return;
    this.#serverIndex = (this.#serverIndex + 1) % this.#opts.servers.length;
    const delay = this.#backoffMs;
    const max = this.#opts.maxBackoffMs ?? 10_000;
    this.#backoffMs = Math.min(max, this.#backoffMs * 2);
    const jittered = Math.round(delay * (0.8 + Math.random() * 0.4));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, jittered);
    this.#timer.unref();
  }

  // ---- requests -----------------------------------------------------------------------------

  #state(typeUrl: string): TypeState<unknown> {
    switch (typeUrl) {
      case CLUSTER_TYPE_URL:
        return this.#cds;
      case CLUSTER_LOAD_ASSIGNMENT_TYPE_URL:
        return this.#eds;
      case LISTENER_TYPE_URL:
        return this.#lds;
      default:
        return this.#rds;
    }
  }

  #names(typeUrl: string): string[] {
    if (typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL) return [...this.#cds.resources.keys()].sort();
    if (typeUrl === ROUTE_CONFIGURATION_TYPE_URL) {
      const names = new Set<string>();
      for (const l of this.#lds.resources.values()) if (l.kind === 'routes') names.add(l.routeConfig);
      return [...names].sort();
    }
    return [];
  }

  #node(): NonNullable<DiscoveryRequest['node']> {
    const o = this.#opts;
    const node: NonNullable<DiscoveryRequest['node']> = { id: o.nodeId };
    if (o.cluster) node.cluster = o.cluster;
    if (o.locality) node.locality = o.locality;
    if (this.#metadata) {
      // google.protobuf.Value as the bundled well-known proto spells it (camelCase).
      node.metadata = { fields: Object.fromEntries(Object.entries(this.#metadata).map(([k, v]) => [k, { stringValue: v }])) };
    }
    return node;
  }

  #send(req: DiscoveryRequest): void {
    if (!this.#call) return;
    this.#call.write({ node: this.#node(), ...req });
  }

  #subscribe(typeUrl: string, errorMessage?: string): void {
    const st = this.#state(typeUrl);
    this.#requested.add(typeUrl);
    this.#send({
      type_url: typeUrl,
      version_info: st.version,
      response_nonce: st.nonce,
      resource_names: this.#names(typeUrl),
      ...(errorMessage !== undefined && { error_detail: { code: INVALID_ARGUMENT, message: errorMessage } }),
    });
  }

  /** (Re)subscribe EDS when the cluster set changed (nothing to subscribe before any cluster). */
  #updateEdsSubscription(previous?: string): void {
    const names = this.#names(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL).join(',');
    if (!this.#requested.has(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL) && names === '') return;
    if (this.#requested.has(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL) && previous === names) return;
    this.#subscribe(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL);
  }

  #updateRdsSubscription(previous?: string): void {
    const names = this.#names(ROUTE_CONFIGURATION_TYPE_URL).join(',');
    if (!this.#requested.has(ROUTE_CONFIGURATION_TYPE_URL) && names === '') return;
    if (this.#requested.has(ROUTE_CONFIGURATION_TYPE_URL) && previous === names) return;
    this.#subscribe(ROUTE_CONFIGURATION_TYPE_URL);
  }

  // ---- responses ----------------------------------------------------------------------------

  #onResponse(res: DiscoveryResponse): void {
    const typeUrl = res.type_url;
    const st = this.#state(typeUrl);
    if (!ORDER.includes(typeUrl as (typeof ORDER)[number])) {
      this.#log.warn(`ignoring a response of unrequested type ${typeUrl}`);
      return;
    }
    st.nonce = res.nonce;
    const decoded = this.#decode(typeUrl, res.resources ?? []);
    if ('errors' in decoded) {
      const message = nackMessage(decoded.errors);
      this.#lastNack = { typeUrl, message };
      this.#log.warn(`NACK ${shortType(typeUrl)} version ${res.version_info}: ${message}`);
      this.#subscribe(typeUrl, message);
      this.#opts.onNack?.(typeUrl, message);
      return;
    }
    const prevEds = this.#names(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL).join(',');
    const prevRds = this.#names(ROUTE_CONFIGURATION_TYPE_URL).join(',');
    if (typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL || typeUrl === ROUTE_CONFIGURATION_TYPE_URL) mergeSubscribed(st, decoded.value, this.#names(typeUrl));
    else (st as TypeState<unknown>).resources = decoded.value;
    st.version = res.version_info;
    this.#received.add(typeUrl);
    this.#streamReceived.add(typeUrl);
    this.#subscribe(typeUrl); // ACK
    if (typeUrl === CLUSTER_TYPE_URL) {
      forgetUnsubscribed(this.#eds, this.#names(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL));
      this.#updateEdsSubscription(prevEds);
    }
    if (typeUrl === LISTENER_TYPE_URL) {
      forgetUnsubscribed(this.#rds, this.#names(ROUTE_CONFIGURATION_TYPE_URL));
      this.#updateRdsSubscription(prevRds);
    }
    this.#maybeDeliver();
  }

  /** Decode every resource of a response; all errors (prefixed with the resource) or all values by name. */
  #decode(typeUrl: string, resources: readonly unknown[]): { value: Map<string, unknown> } | { errors: FieldError[] } {
    const decode: (any: unknown) => XdsDecoded<unknown> =
      typeUrl === CLUSTER_TYPE_URL
        ? decodeClusterAny
        : typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE_URL
          ? decodeClusterLoadAssignmentAny
          : typeUrl === LISTENER_TYPE_URL
            ? (any) => decodeApiListenerAny(any, this.#opts.classChecks)
            : decodeRouteConfigurationAny;
    const value = new Map<string, unknown>();
    const errors: FieldError[] = [];
    resources.forEach((any, i) => {
      const d = decode(any);
      const label = d.name !== '' ? d.name : `resources[${i}]`;
      if ('errors' in d) {
        for (const e of d.errors) errors.push({ ...e, path: e.path ? `${label}.${e.path}` : label });
      } else if (value.has(d.name)) {
        errors.push({ source: 'xds', path: label, message: 'duplicate resource name' });
      } else {
        value.set(d.name, d.value);
      }
    });
    return errors.length > 0 ? { errors } : { value };
  }

  #maybeDeliver(): void {
    if (!this.#received.has(CLUSTER_TYPE_URL) || !this.#received.has(LISTENER_TYPE_URL)) return;
    const clusters: ClusterSpec[] = [];
    for (const [name, c] of [...this.#cds.resources].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const endpoints = this.#eds.resources.get(name);
      if (!endpoints) return;
      clusters.push({ ...c, endpoints });
    }
    const virtualHosts: VirtualHostSpec[] = [];
    const seen = new Set<string>();
    for (const rc of this.#names(ROUTE_CONFIGURATION_TYPE_URL)) {
      const hosts = this.#rds.resources.get(rc);
      if (!hosts) return;
      for (const h of hosts) {
        if (seen.has(h.name)) continue;
        seen.add(h.name);
        virtualHosts.push(h);
      }
    }
    let priority: MeshPrioritySpec | undefined;
    for (const l of this.#lds.resources.values()) if (l.kind === 'priority') priority = l.priority;
    const config: XdsConfig = { clusters, virtualHosts, ...(priority && { priority }) };
    const key = JSON.stringify(config);
    if (key !== this.#lastDelivered) {
      this.#lastDelivered = key;
      try {
        this.#opts.onUpdate(config);
      } catch (e) {
        this.#log.error(`xDS update handler failed: ${(e as Error).message}`);
      }
    }
    if (this.#syncWaiters.length > 0 && this.#streamReceived.has(CLUSTER_TYPE_URL) && this.#streamReceived.has(LISTENER_TYPE_URL)) this.#releaseWaiters();
  }
}

/** EDS/RDS: take the resources of a response by name, keep the others, drop what is not subscribed. */
function mergeSubscribed(st: TypeState<unknown>, received: ReadonlyMap<string, unknown>, subscribed: readonly string[]): void {
  const want = new Set(subscribed);
  const next = new Map<string, unknown>();
  for (const [name, value] of st.resources) if (want.has(name)) next.set(name, value);
  for (const [name, value] of received) if (want.has(name)) next.set(name, value);
  st.resources = next;
}

/** Forget the resources whose names left the subscription. */
function forgetUnsubscribed(st: TypeState<unknown>, subscribed: readonly string[]): void {
  const want = new Set(subscribed);
  for (const name of [...st.resources.keys()]) if (!want.has(name)) st.resources.delete(name);
}

function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}
