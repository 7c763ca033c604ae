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
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from '../../util/log.js';
import { WILDCARD_TYPES } from './ads-proto.js';
import type { DiscoveryRequest, DiscoveryResponse } from './ads-proto.js';
import type { SnapshotCache, VersionedResource } from './snapshot-cache.js';
import { AdsProtocolError, checkNames, checkNode, checkTypeUrl, inPushOrder, newNonce } from './stream-common.js';
import type { ClientStatus, TypeStatus } from './stream-common.js';

/** What a stream needs from the server that owns it. */
export interface StreamHost {
  readonly cache: SnapshotCache;
  readonly log: Logger;
  readonly controlPlaneId: string;
  /** The stream ended (for whatever reason). */
  closed(streamId: number): void;
}

interface SotwTypeState {
  wildcard: boolean;
  names: Set<string>;
  nonce: string;
  sentVersion: string;
  /** Identifies the content last sent, to skip pushes that change nothing for this client. */
  sentFingerprint: string;
  ackedVersion: string;
  lastNack?: string;
}

export type SotwCall = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export class SotwStream {
  readonly #id: number;
  readonly #call: SotwCall;
  readonly #host: StreamHost;
  readonly #types = new Map<string, SotwTypeState>();
  readonly #since = new Date();
  #status: Omit<ClientStatus, 'types'> | undefined;
  #watch: { key: string; cancel: () => void } | undefined;
  #closed = false;

  constructor(id: number, call: SotwCall, host: StreamHost) {
    this.#id = id;
    this.#call = call;
    this.#host = host;
  }

  start(): void {
    this.#call.on('data', (req: DiscoveryRequest) => {
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

  /** Status for `strata status`; undefined until the first request named the node. */
  status(): ClientStatus | undefined {
    if (!this.#status) return undefined;
    const types: TypeStatus[] = [...this.#types].map(([typeUrl, st]) => ({
      typeUrl,
      ackedVersion: st.ackedVersion,
      sentVersion: st.sentVersion,
      ...(st.lastNack !== undefined ? { lastNack: st.lastNack } : {}),
      subscribed: st.wildcard ? ['*'] : [...st.names],
    }));
    return { ...this.#status, types };
  }

  /** End the stream with a status (server shutdown). */
  end(code: GrpcStatus, details: string): void {
    if (this.#closed) return;
    this.#cleanup();
    this.#call.emit('error', { code, details });
  }

  #onRequest(req: DiscoveryRequest): void {
    if (!this.#watch) {
      const node = checkNode(req.node);
      this.#watch = this.#host.cache.watch(node, (changed) => this.#onChange(changed));
      this.#status = {
        streamId: this.#id,
        nodeId: node.id,
        group: this.#watch.key,
        locality: node.locality ?? {},
        kind: 'sotw',
        peer: this.#call.getPeer(),
        connectedSince: this.#since,
      };
      this.#host.log.info('xds client connected', { stream: this.#id, node: node.id, kind: 'sotw', peer: this.#status.peer });
    }
    const typeUrl = checkTypeUrl(req.type_url);
    const names = checkNames('resource_names', req.resource_names);
    const nonce = req.response_nonce ?? '';
    const st = this.#types.get(typeUrl);
    if (!st) {
      this.#types.set(typeUrl, { ...subscription(typeUrl, names), nonce: '', sentVersion: '', sentFingerprint: '', ackedVersion: '' });
      this.#send(typeUrl, true);
      return;
    }
    if (nonce !== '' && nonce !== st.nonce) {
      this.#host.log.debug('stale nonce ignored', { stream: this.#id, type: typeUrl, nonce, current: st.nonce });
      return;
    }
    if (nonce !== '') this.#ackOrNack(typeUrl, st, req);
    const next = subscription(typeUrl, names);
    if (nonce === '' || next.wildcard !== st.wildcard || !sameSet(next.names, st.names)) {
      st.wildcard = next.wildcard;
      st.names = next.names;
      this.#send(typeUrl, true);
    }
  }

  #ackOrNack(typeUrl: string, st: SotwTypeState, req: DiscoveryRequest): void {
    const err = req.error_detail;
    if (err && (err.code || err.message)) {
      const reason = err.message || `code ${err.code}`;
      st.lastNack = reason;
      if (this.#status) this.#status.lastNack = { typeUrl, reason, at: new Date() };
      this.#host.log.warn('xds NACK', { stream: this.#id, node: this.#status?.nodeId, type: typeUrl, version: st.sentVersion, reason });
      return;
    }
    st.ackedVersion = req.version_info ?? '';
    delete st.lastNack;
  }

  #onChange(changed: readonly string[]): void {
    if (this.#closed) return;
    for (const typeUrl of inPushOrder(changed)) if (this.#types.has(typeUrl)) this.#send(typeUrl, false);
  }

  #send(typeUrl: string, force: boolean): void {
    const st = this.#types.get(typeUrl);
    if (!st || !this.#watch || this.#closed) return;
    const snap = this.#host.cache.get(this.#watch.key, typeUrl);
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
    this.#call.write({
      version_info: version,
      resources: selected.map((r) => r.resource),
      type_url: typeUrl,
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
