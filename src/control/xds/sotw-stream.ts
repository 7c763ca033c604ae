/**
 * @module control/xds/sotw-stream
 * One state-of-the-world ADS stream (StreamAggregatedResources). Per type: the subscribed
 * names (empty = wildcard for LDS/CDS), the nonce and version of the last response, the ACKed
 * version and the last NACK reason.
 *
 * - An ACK (the last nonce, no error_detail) records the version and sends nothing.
 * - A NACK records error_detail and sends nothing: the client keeps the previous version.
 * - A request carrying an older nonce is stale and ignored.
 * - LDS/CDS replies carry every resource (a missing one is deleted); EDS/RDS only the subscribed.
 * - EDS/RDS are not "full state" (xDS protocol, "Grouping Resources into Responses"): a push
 *   on a cache change carries only the resources whose version differs from what this stream
 *   last sent of them; a new or changed subscription (and a new stream) gets every named one.
 * - On a cache change, types are pushed in the order CDS → EDS → LDS → RDS, looking only at
 *   the names the cache reports changed.
 */
import type * as grpc from '@grpc/grpc-js';
import { WILDCARD_TYPES } from './ads-proto.js';
import type { DiscoveryRequest, DiscoveryResponse } from './ads-proto.js';
import type { TypeSnapshot, VersionedResource } from './snapshot-cache.js';
import { AdsStream } from './ads-stream.js';
import type { BaseTypeState, StreamHost } from './ads-stream.js';
import { checkNames, checkTypeUrl, namesKey, newNonce, sharedNameSet } from './stream-common.js';

interface SotwTypeState extends BaseTypeState {
  /**
   * The cache's resources this stream is in sync with: for every subscribed name, the client
   * holds the version found here. Every cache change is seen (and what the client lacks of it
   * sent) as it happens, so after each push this is the current snapshot — one reference per
   * stream instead of a name → version map per stream.
   */
  synced: ReadonlyMap<string, VersionedResource>;
  /** The type version of the last response (wildcard subscriptions: whether anything changed). */
  sentTypeVersion: string;
  /** Digest of the resource_names of the last request that set the subscription. */
  namesKey: string;
}

export type SotwCall = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export class SotwStream extends AdsStream<DiscoveryRequest, DiscoveryResponse, SotwTypeState> {
  constructor(id: number, call: SotwCall, host: StreamHost) {
    super(id, call, host, 'sotw');
  }

  protected subscribed(st: SotwTypeState): string[] {
    return st.wildcard ? ['*'] : [...st.names];
  }

  protected onRequest(req: DiscoveryRequest): void {
    const typeUrl = checkTypeUrl(req.type_url);
    const names = checkNames('resource_names', req.resource_names);
    const nonce = req.response_nonce ?? '';
    const st = this.types.get(typeUrl);
    const key = namesKey(names);
    if (!st) {
      this.types.set(typeUrl, { ...subscription(typeUrl, names, key), namesKey: key, nonce: '', sentVersion: '', sentTypeVersion: '', synced: EMPTY, ackedVersion: '' });
      this.push(typeUrl, true);
      return;
    }
    if (nonce !== '' && nonce !== st.nonce) {
      this.host.log.debug('stale nonce ignored', { stream: this.id, type: typeUrl, nonce, current: st.nonce });
      return;
    }
    if (nonce !== '') this.ackOrNack(typeUrl, st, req, req.version_info ?? '');
    if (nonce !== '' && key === st.namesKey) return;
    st.namesKey = key;
    const next = subscription(typeUrl, names, key);
    if (nonce === '' || next.wildcard !== st.wildcard || !sameSet(next.names, st.names)) {
      st.wildcard = next.wildcard;
      st.names = next.names;
      this.push(typeUrl, true);
    }
  }

  protected push(typeUrl: string, force: boolean, changed?: ReadonlySet<string>): void {
    const st = this.types.get(typeUrl);
    if (!st || !this.watch || this.closed) return;
    const snap = this.host.cache.get(this.watch.key, typeUrl);
    const held = st.synced;
    // Whatever is (or is not) sent below, the client is now in sync with this snapshot.
    st.synced = snap.resources;
    let selected: VersionedResource[] | undefined;
    if (force) selected = this.#all(st, snap);
    else if (WILDCARD_TYPES.has(typeUrl)) {
      // Full state: any change among what the client holds resends all of it.
      if (st.wildcard ? snap.version !== st.sentTypeVersion : touches(st, held, snap, changed)) selected = this.#all(st, snap);
    } else {
      selected = changedOnly(st, held, snap, changed);
      if (selected.length === 0) selected = undefined;
    }
    if (!selected) return;
    const version = snap.version || '0';
    const nonce = newNonce();
    st.nonce = nonce;
    st.sentVersion = version;
    st.sentTypeVersion = snap.version;
    this.call.write({
      version_info: version,
      resources: selected.map((r) => r.resource),
      type_url: typeUrl,
      nonce,
      control_plane: { identifier: this.host.controlPlaneId },
    });
  }

  /** Every subscribed resource that exists. */
  #all(st: SotwTypeState, snap: TypeSnapshot): VersionedResource[] {
    if (st.wildcard) return [...snap.resources.values()];
    const selected: VersionedResource[] = [];
    for (const name of st.names) {
      const r = snap.resources.get(name);
      if (r) selected.push(r);
    }
    return selected;
  }
}

const EMPTY: ReadonlyMap<string, VersionedResource> = new Map();

/** Whether a change touches a name the client subscribes to (explicit subscription). */
function touches(st: SotwTypeState, held: ReadonlyMap<string, VersionedResource>, snap: TypeSnapshot, changed: ReadonlySet<string> | undefined): boolean {
  for (const name of changed ?? st.names) {
    if (!st.names.has(name)) continue;
    if (snap.resources.get(name)?.version !== held.get(name)?.version) return true;
  }
  return false;
}

/** EDS/RDS: the subscribed resources whose version differs from what the client holds. */
function changedOnly(st: SotwTypeState, held: ReadonlyMap<string, VersionedResource>, snap: TypeSnapshot, changed: ReadonlySet<string> | undefined): VersionedResource[] {
  const out: VersionedResource[] = [];
  const candidates: Iterable<string> = changed ?? (st.wildcard ? snap.resources.keys() : st.names);
  for (const name of candidates) {
    if (!st.wildcard && !st.names.has(name)) continue;
    // Gone: a SotW EDS/RDS reply cannot say so; the client drops it with its Cluster/Listener.
    const r = snap.resources.get(name);
    if (r && held.get(name)?.version !== r.version) out.push(r);
  }
  return out;
}

function subscription(typeUrl: string, names: readonly string[], key: string): { wildcard: boolean; names: ReadonlySet<string> } {
  const wildcard = names.includes('*') || (names.length === 0 && WILDCARD_TYPES.has(typeUrl));
  return { wildcard, names: sharedNameSet(key, names) };
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
