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
 * - On a cache change, types are pushed in the order CDS → EDS → LDS → RDS.
 */
import type * as grpc from '@grpc/grpc-js';
import { WILDCARD_TYPES } from './ads-proto.js';
import type { DiscoveryRequest, DiscoveryResponse } from './ads-proto.js';
import type { VersionedResource } from './snapshot-cache.js';
import { AdsStream } from './ads-stream.js';
import type { BaseTypeState, StreamHost } from './ads-stream.js';
import { checkNames, checkTypeUrl, newNonce } from './stream-common.js';


interface SotwTypeState extends BaseTypeState {
  /** Identifies the content last sent, to skip pushes that change nothing for this client. */
  sentFingerprint: string;
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
      this.types.set(typeUrl, { ...subscription(typeUrl, names), nonce: '', sentVersion: '', sentFingerprint: '', ackedVersion: '' });
      this.push(typeUrl, true);
      return;
    }
    if (nonce !== '' && nonce !== st.nonce) {
      this.host.log.debug('stale nonce ignored', { stream: this.id, type: typeUrl, nonce, current: st.nonce });
      return;
    }
    if (nonce !== '') this.ackOrNack(typeUrl, st, req, req.version_info ?? '');
    const next = subscription(typeUrl, names);
    if (nonce === '' || next.wildcard !== st.wildcard || !sameSet(next.names, st.names)) {
      st.wildcard = next.wildcard;
      st.names = next.names;
      this.push(typeUrl, true);
    }
  }

  protected push(typeUrl: string, force: boolean): void {
    const st = this.types.get(typeUrl);
    if (!st || !this.watch || this.closed) return;
    const snap = this.host.cache.get(this.watch.key, typeUrl);
    const selected: VersionedResource[] = [];
    if (st.wildcard) selected.push(...snap.resources.values());
    else for (const name of st.names) {
      const r = snap.resources.get(name);
      if (r) selected.push(r);
    }
    const fingerprint = st.wildcard ? `*${snap.version}` : selected.map((r) => `${r.name}@${r.version}`).join(',');
    if (!force && fingerprint === st.sentFingerprint) return;
    const version = snap.version || '0';
    const nonce = newNonce();
    st.nonce = nonce;
    st.sentVersion = version;
    st.sentFingerprint = fingerprint;
    this.call.write({
      version_info: version,
      resources: selected.map((r) => r.resource),
      type_url: typeUrl,
      nonce,
      control_plane: { identifier: this.host.controlPlaneId },
    });
  }
}

function subscription(typeUrl: string, names: readonly string[]): { wildcard: boolean; names: Set<string> } {
  const explicit = names.filter((n) => n !== '*');
  const wildcard = names.includes('*') || (names.length === 0 && WILDCARD_TYPES.has(typeUrl));
  return { wildcard, names: new Set(explicit) };
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
