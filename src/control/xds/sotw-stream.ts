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
import { checkNames, checkTypeUrl, newNonce } from './stream-common.js';

interface SotwTypeState extends BaseTypeState {
  /** Name → version of every resource last sent on this stream (what the client holds). */
  sent: Map<string, string>;
  /** The type version of the last response (wildcard subscriptions: whether anything changed). */
  sentTypeVersion: string;
  /** resource_names of the last request that set the subscription (fast "unchanged" check). */
  lastNames: readonly string[];
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
    if (!st) {
      this.types.set(typeUrl, { ...subscription(typeUrl, names), lastNames: names, nonce: '', sentVersion: '', sentTypeVersion: '', sent: new Map(), ackedVersion: '' });
      this.push(typeUrl, true);
      return;
    }
    if (nonce !== '' && nonce !== st.nonce) {
      this.host.log.debug('stale nonce ignored', { stream: this.id, type: typeUrl, nonce, current: st.nonce });
      return;
    }
    if (nonce !== '') this.ackOrNack(typeUrl, st, req, req.version_info ?? '');
    if (nonce !== '' && sameList(names, st.lastNames)) return;
    st.lastNames = names;
    const next = subscription(typeUrl, names);
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
    let selected: VersionedResource[] | undefined;
    if (force) selected = this.#all(st, snap);
    else if (WILDCARD_TYPES.has(typeUrl)) {
      // Full state: any change among what the client holds resends all of it.
      if (st.wildcard ? snap.version !== st.sentTypeVersion : this.#touches(st, snap, changed)) selected = this.#all(st, snap);
    } else {
      selected = this.#changedOnly(st, snap, changed);
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

  /** Every subscribed resource that exists; what was sent is reset to exactly these. */
  #all(st: SotwTypeState, snap: TypeSnapshot): VersionedResource[] {
    const selected: VersionedResource[] = [];
    if (st.wildcard) selected.push(...snap.resources.values());
    else for (const name of st.names) {
      const r = snap.resources.get(name);
      if (r) selected.push(r);
    }
    st.sent = new Map(selected.map((r) => [r.name, r.version]));
    return selected;
  }

  /** Whether a change touches a name the client subscribes to or holds (explicit subscription). */
  #touches(st: SotwTypeState, snap: TypeSnapshot, changed: ReadonlySet<string> | undefined): boolean {
    for (const name of changed ?? st.names) {
      if (!st.names.has(name) && !st.sent.has(name)) continue;
      if (snap.resources.get(name)?.version !== st.sent.get(name)) return true;
    }
    return false;
  }

  /** EDS/RDS: the subscribed resources whose version differs from what was last sent. */
  #changedOnly(st: SotwTypeState, snap: TypeSnapshot, changed: ReadonlySet<string> | undefined): VersionedResource[] {
    const out: VersionedResource[] = [];
    const candidates: Iterable<string> = changed ?? (st.wildcard ? new Set([...snap.resources.keys(), ...st.sent.keys()]) : st.names);
    for (const name of candidates) {
      if (!st.wildcard && !st.names.has(name)) continue;
      const r = snap.resources.get(name);
      if (!r) {
        // Gone: a SotW EDS/RDS reply cannot say so; the client drops it with its Cluster/Listener.
        st.sent.delete(name);
        continue;
      }
      if (st.sent.get(name) === r.version) continue;
      st.sent.set(name, r.version);
      out.push(r);
    }
    return out;
  }
}

function subscription(typeUrl: string, names: readonly string[]): { wildcard: boolean; names: Set<string> } {
  const explicit = names.filter((n) => n !== '*');
  const wildcard = names.includes('*') || (names.length === 0 && WILDCARD_TYPES.has(typeUrl));
  return { wildcard, names: new Set(explicit) };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
