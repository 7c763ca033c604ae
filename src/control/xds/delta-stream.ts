/**
 * @module control/xds/delta-stream
 * One incremental ADS stream (DeltaAggregatedResources). Per type: the subscribed names
 * (wildcard for LDS/CDS when the first request subscribes to nothing, or to `*`), and the
 * version of every resource the client holds. A response carries only resources whose version
 * differs from what the client holds, and `removed_resources` for resources the client holds
 * (or explicitly subscribed to) that no longer exist.
 *
 * - `initial_resource_versions` on the first request of a type seeds what the client holds,
 *   so a reconnecting client is not sent what it already has.
 * - Subscription changes are applied from every request; ACK/NACK only from the current nonce.
 * - A NACK is recorded (log + status); the client keeps its previous version, nothing is resent.
 */
import type * as grpc from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { WILDCARD_TYPES } from './ads-proto.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaResource } from './ads-proto.js';
import { AdsProtocolError, checkNames, checkNode, checkTypeUrl, inPushOrder, newNonce } from './stream-common.js';
import type { ClientStatus, TypeStatus } from './stream-common.js';
import type { StreamHost } from './sotw-stream.js';

interface DeltaTypeState {
  wildcard: boolean;
  names: Set<string>;
  /** Resource name → version the client holds; '' = the client was told it does not exist. */
  known: Map<string, string>;
  nonce: string;
  sentVersion: string;
  ackedVersion: string;
  lastNack?: string;
}

export type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

export class DeltaStream {
  readonly #id: number;
  readonly #call: DeltaCall;
  readonly #host: StreamHost;
  readonly #types = new Map<string, DeltaTypeState>();
  readonly #since = new Date();
  #status: Omit<ClientStatus, 'types'> | undefined;
  #watch: { key: string; cancel: () => void } | undefined;
  #closed = false;

  constructor(id: number, call: DeltaCall, host: StreamHost) {
    this.#id = id;
    this.#call = call;
    this.#host = host;
  }

  start(): void {
    this.#call.on('data', (req: DeltaDiscoveryRequest) => {
      if (this.#closed) return;
      try {
        this.#onRequest(req);
      } catch (err) {
        this.#fail(err);
      }
    });
    this.#call.on('end', () => {
      this.#cleanup();
      this.#call.end();
    });
    for (const ev of ['cancelled', 'error', 'close', 'finish'] as const) this.#call.on(ev, () => this.#cleanup());
  }

  status(): ClientStatus | undefined {
    if (!this.#status) return undefined;
    const types: TypeStatus[] = [...this.#types].map(([typeUrl, st]) => ({
      typeUrl,
      ackedVersion: st.ackedVersion,
      sentVersion: st.sentVersion,
      ...(st.lastNack !== undefined ? { lastNack: st.lastNack } : {}),
      subscribed: st.wildcard ? ['*', ...st.names] : [...st.names],
    }));
    return { ...this.#status, types };
  }

  end(code: GrpcStatus, details: string): void {
    if (this.#closed) return;
    this.#cleanup();
    this.#call.emit('error', { code, details });
  }

  #onRequest(req: DeltaDiscoveryRequest): void {
    if (!this.#watch) {
      const node = checkNode(req.node);
      this.#watch = this.#host.cache.watch(node, (changed) => this.#onChange(changed));
      this.#status = {
        streamId: this.#id,
        nodeId: node.id,
        group: this.#watch.key,
        locality: node.locality ?? {},
        kind: 'delta',
        peer: this.#call.getPeer(),
        connectedSince: this.#since,
      };
      this.#host.log.info('xds client connected', { stream: this.#id, node: node.id, kind: 'delta', peer: this.#status.peer });
    }
    const typeUrl = checkTypeUrl(req.type_url);
    const subscribe = checkNames('resource_names_subscribe', req.resource_names_subscribe);
    const unsubscribe = checkNames('resource_names_unsubscribe', req.resource_names_unsubscribe);
    const nonce = req.response_nonce ?? '';
    let st = this.#types.get(typeUrl);
    const first = !st;
    if (!st) {
      st = {
        wildcard: WILDCARD_TYPES.has(typeUrl) && subscribe.length === 0,
        names: new Set(),
        known: initialVersions(req.initial_resource_versions),
        nonce: '',
        sentVersion: '',
        ackedVersion: '',
      };
      this.#types.set(typeUrl, st);
    } else if (nonce !== '') {
      if (nonce === st.nonce) this.#ackOrNack(typeUrl, st, req);
      else this.#host.log.debug('stale nonce', { stream: this.#id, type: typeUrl, nonce, current: st.nonce });
    }
    for (const name of subscribe) {
      if (name === '*') st.wildcard = true;
      else st.names.add(name);
    }
    for (const name of unsubscribe) {
      if (name === '*') st.wildcard = false;
      else st.names.delete(name);
      if (!st.wildcard && name !== '*') st.known.delete(name);
    }
    if (!st.wildcard) for (const name of st.known.keys()) if (!st.names.has(name)) st.known.delete(name);
    this.#push(typeUrl, first);
  }

  #ackOrNack(typeUrl: string, st: DeltaTypeState, req: DeltaDiscoveryRequest): void {
    const err = req.error_detail;
    if (err && (err.code || err.message)) {
      const reason = err.message || `code ${err.code}`;
      st.lastNack = reason;
      if (this.#status) this.#status.lastNack = { typeUrl, reason, at: new Date() };
      this.#host.log.warn('xds NACK', { stream: this.#id, node: this.#status?.nodeId, type: typeUrl, version: st.sentVersion, reason });
      return;
    }
    st.ackedVersion = st.sentVersion;
    delete st.lastNack;
  }

  #onChange(changed: readonly string[]): void {
    if (this.#closed) return;
    for (const typeUrl of inPushOrder(changed)) if (this.#types.has(typeUrl)) this.#push(typeUrl, false);
  }

  /** Send what the client lacks; with `force`, send even an empty response (first request of a type). */
  #push(typeUrl: string, force: boolean): void {
    const st = this.#types.get(typeUrl);
    if (!st || !this.#watch || this.#closed) return;
    const snap = this.#host.cache.get(this.#watch.key, typeUrl);
    const scope = new Set<string>([...st.names, ...st.known.keys()]);
    if (st.wildcard) for (const name of snap.resources.keys()) scope.add(name);
    const resources: DeltaResource[] = [];
    const removed: string[] = [];
    for (const name of scope) {
      const r = snap.resources.get(name);
      const held = st.known.get(name);
      if (r) {
        if (held !== r.version) resources.push({ name, version: r.version, resource: r.resource });
      } else if (held !== '' && (held !== undefined || st.names.has(name))) {
        removed.push(name);
      }
    }
    if (!force && resources.length === 0 && removed.length === 0) return;
    for (const r of resources) st.known.set(r.name, r.version);
    for (const name of removed) {
      if (st.names.has(name)) st.known.set(name, '');
      else st.known.delete(name);
    }
    const version = snap.version || '0';
    const nonce = newNonce();
    st.nonce = nonce;
    st.sentVersion = version;
    this.#call.write({
      system_version_info: version,
      resources,
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
      control_plane: { identifier: this.#host.controlPlaneId },
    });
  }

  #fail(err: unknown): void {
    const e = err instanceof AdsProtocolError ? err : new AdsProtocolError(GrpcStatus.INTERNAL, err instanceof Error ? err.message : String(err));
    this.#host.log.warn('xds stream ended: bad request', { stream: this.#id, node: this.#status?.nodeId, code: e.code, reason: e.message });
    this.end(e.code, e.message);
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watch?.cancel();
    if (this.#status) this.#host.log.info('xds client disconnected', { stream: this.#id, node: this.#status.nodeId });
    this.#host.closed(this.#id);
  }
}

function initialVersions(v: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (v === undefined || v === null) return out;
  if (typeof v !== 'object') throw new AdsProtocolError(GrpcStatus.INVALID_ARGUMENT, 'initial_resource_versions must be a map');
  for (const [name, version] of Object.entries(v as Record<string, unknown>)) {
    if (typeof version !== 'string') throw new AdsProtocolError(GrpcStatus.INVALID_ARGUMENT, `initial_resource_versions[${name}] must be a string`);
    out.set(name, version);
  }
  return out;
}
