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
import type { VersionedResource } from './snapshot-cache.js';
import { AdsProtocolError, checkNames, checkTypeUrl, namesKey, newNonce, sharedNameSet } from './stream-common.js';

interface DeltaTypeState extends BaseTypeState {
  /** Shared with other streams that subscribed the same list, until this stream changes it. */
  names: ReadonlySet<string>;
  ownsNames: boolean;
  /** What the client holds: name → version; '' = the client was told it does not exist. */
  known: Holdings;
}

/**
 * What one client holds of one type, kept as the cache snapshot the stream last synced to plus
 * the names where the client differs from it. After a sync the difference is empty or tiny, so
 * a thousand whole-mesh clients cost a thousand references, not a thousand name → version maps.
 * A name counts as held from the snapshot only while it is in scope (`inScope`: subscribed, or
 * a wildcard subscription).
 */
class Holdings {
  #base: ReadonlyMap<string, VersionedResource> = new Map();
  /** Differences from #base: a version, '' (told it does not exist) or null (not held). */
  readonly #diff = new Map<string, string | null>();

  constructor(
    private readonly inScope: (name: string) => boolean,
    initial: ReadonlyMap<string, string>,
  ) {
    for (const [name, version] of initial) this.#diff.set(name, version);
  }

  get(name: string): string | undefined {
    if (this.#diff.has(name)) return this.#diff.get(name) ?? undefined;
    return this.inScope(name) ? this.#base.get(name)?.version : undefined;
  }

  set(name: string, version: string): void {
    if (this.inScope(name) && this.#base.get(name)?.version === version) this.#diff.delete(name);
    else this.#diff.set(name, version);
  }

  /** The client no longer holds `name`. */
  delete(name: string): void {
    if (this.inScope(name) && this.#base.has(name)) this.#diff.set(name, null);
    else this.#diff.delete(name);
  }

  /** `name` comes into scope without the client holding it (a new subscription). */
  markUnheld(name: string): void {
    if (!this.#diff.has(name)) this.#diff.set(name, null);
  }

  /** Every name the client holds (or was told does not exist). */
  keys(): Set<string> {
    const out = new Set<string>();
    for (const [name, v] of this.#diff) if (v !== null) out.add(name);
    for (const name of this.#base.keys()) if (!this.#diff.has(name) && this.inScope(name)) out.add(name);
    return out;
  }

  /** Forget what is out of scope. */
  prune(): void {
    for (const name of this.#diff.keys()) if (!this.inScope(name)) this.#diff.delete(name);
  }

  /** The snapshot base names, for marking them unheld when a wildcard comes into scope. */
  baseNames(): Iterable<string> {
    return this.#base.keys();
  }

  /**
   * The stream has looked at every in-scope name that differs between the old base and
   * `base` (a cache change's names, or everything): `base` becomes the reference.
   */
  rebase(base: ReadonlyMap<string, VersionedResource>): void {
    if (base === this.#base) return;
    this.#base = base;
    for (const [name, v] of this.#diff) {
      const r = base.get(name);
      if (v === null ? !(r && this.inScope(name)) : v !== '' && r?.version === v && this.inScope(name)) this.#diff.delete(name);
    }
  }
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
      const state: DeltaTypeState = {
        wildcard: (WILDCARD_TYPES.has(typeUrl) && subscribe.length === 0) || subscribe.includes('*'),
        names: sharedNameSet(namesKey(subscribe), subscribe),
        ownsNames: false,
        known: new Holdings((name) => state.wildcard || state.names.has(name), initialVersions(req.initial_resource_versions)),
        nonce: '',
        sentVersion: '',
        ackedVersion: '',
      };
      st = state;
      this.types.set(typeUrl, st);
    } else if (nonce !== '') {
      if (nonce === st.nonce) this.ackOrNack(typeUrl, st, req, st.sentVersion);
      else this.host.log.debug('stale nonce', { stream: this.id, type: typeUrl, nonce, current: st.nonce });
    }
    if (first) {
      this.#applyUnsubscribe(st, unsubscribe);
      if (!st.wildcard) st.known.prune();
      this.push(typeUrl, true);
      return;
    }
    // An ACK/NACK alone changes nothing the client holds: pushes happen on cache changes.
    if (subscribe.length === 0 && unsubscribe.length === 0) return;
    const wasWildcard = st.wildcard;
    const named = new Set<string>();
    for (const name of subscribe) {
      if (name === '*') {
        if (!st.wildcard) for (const n of st.known.baseNames()) if (!st.names.has(n)) st.known.markUnheld(n);
        st.wildcard = true;
      } else {
        if (!st.names.has(name)) {
          if (!st.wildcard) st.known.markUnheld(name);
          ownNames(st).add(name);
        }
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
      else if (st.names.has(name)) ownNames(st).delete(name);
    }
    if (!st.wildcard && unsubscribe.length > 0) st.known.prune();
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
      const all = st.known.keys();
      for (const name of st.names) all.add(name);
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
    for (const r of resources) st.known.set(r.name, r.version);
    for (const name of removed) {
      if (st.names.has(name)) st.known.set(name, '');
      else st.known.delete(name);
    }
    // Every in-scope name that differs from the previous snapshot was looked at above.
    st.known.rebase(snap.resources);
    if (!force && resources.length === 0 && removed.length === 0) return;
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

/** The stream's own, mutable copy of its subscription (copied from the shared one on first change). */
function ownNames(st: DeltaTypeState): Set<string> {
  if (!st.ownsNames) {
    st.names = new Set(st.names);
    st.ownsNames = true;
  }
  return st.names as Set<string>;
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
