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
import { AdsStream } from './ads-stream.js';
import type { BaseTypeState, StreamHost } from './ads-stream.js';
import { AdsProtocolError, checkNames, checkTypeUrl, newNonce } from './stream-common.js';

interface DeltaTypeState extends BaseTypeState {
  names: Set<string>;
  /** Resource name → version the client holds; '' = the client was told it does not exist. */
  known: Map<string, string>;
}

export type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

export class DeltaStream extends AdsStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaTypeState> {
  constructor(id: number, call: DeltaCall, host: StreamHost) {
    super(id, call, host, 'delta');
  }

  protected subscribed(st: DeltaTypeState): string[] {
    return st.wildcard ? ['*', ...st.names] : [...st.names];
  }

  protected onRequest(req: DeltaDiscoveryRequest): void {
    const typeUrl = checkTypeUrl(req.type_url);
    const subscribe = checkNames('resource_names_subscribe', req.resource_names_subscribe);
    const unsubscribe = checkNames('resource_names_unsubscribe', req.resource_names_unsubscribe);
    const nonce = req.response_nonce ?? '';
    let st = this.types.get(typeUrl);
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
      this.types.set(typeUrl, st);
    } else if (nonce !== '') {
      if (nonce === st.nonce) this.ackOrNack(typeUrl, st, req, st.sentVersion);
      else this.host.log.debug('stale nonce', { stream: this.id, type: typeUrl, nonce, current: st.nonce });
    }
    if (first) {
      for (const name of subscribe) {
        if (name === '*') st.wildcard = true;
        else st.names.add(name);
      }
      this.#applyUnsubscribe(st, unsubscribe);
      if (!st.wildcard) for (const name of st.known.keys()) if (!st.names.has(name)) st.known.delete(name);
      this.push(typeUrl, true);
      return;
    }
    // An ACK/NACK alone changes nothing the client holds: pushes happen on cache changes.
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    const wasWildcard = st.wildcard;
    const named = new Set<string>();
    for (const name of subscribe) {
      if (name === '*') st.wildcard = true;
      else {
        st.names.add(name);
        named.add(name);
      }
    }
    this.#applyUnsubscribe(st, unsubscribe);
    // A wildcard turned on or off: look at everything; else only at the names (re)subscribed.
    if (st.wildcard !== wasWildcard) this.push(typeUrl, false);
    else if (named.size > 0) this.push(typeUrl, false, named);
  }

  #applyUnsubscribe(st: DeltaTypeState, unsubscribe: readonly string[]): void {
    for (const name of unsubscribe) {
      if (name === '*') st.wildcard = false;
      else st.names.delete(name);
      if (!st.wildcard && name !== '*') st.known.delete(name);
    }
    if (!st.wildcard && unsubscribe.length > 0) for (const name of st.known.keys()) if (!st.names.has(name)) st.known.delete(name);
  }

  /**
   * Send what the client lacks; with `force`, send even an empty response (first request of a
   * type). With `changed`, only those names are looked at.
   */
  protected push(typeUrl: string, force: boolean, changed?: ReadonlySet<string>): void {
    const st = this.types.get(typeUrl);
    if (!st || !this.watch || this.closed) return;
    const snap = this.host.cache.get(this.watch.key, typeUrl);
    let scope: Iterable<string>;
    if (changed) scope = changed;
    else {
      const all = new Set<string>([...st.names, ...st.known.keys()]);
      if (st.wildcard) for (const name of snap.resources.keys()) all.add(name);
      scope = all;
    }
    const resources: DeltaResource[] = [];
    const removed: string[] = [];
    for (const name of scope) {
      const held = st.known.get(name);
      if (changed && !st.wildcard && held === undefined && !st.names.has(name)) continue;
      const r = snap.resources.get(name);
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
    this.call.write({
      system_version_info: version,
      resources,
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
      control_plane: { identifier: this.host.controlPlaneId },
    });
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
