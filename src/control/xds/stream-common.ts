/**
 * @module control/xds/stream-common
 * What the SotW and delta ADS streams share: the per-client status record (`strata status`),
 * the protocol error that ends one stream, and request checks.
 */
import { createHash, randomBytes } from 'node:crypto';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { PUSH_ORDER } from './ads-proto.js';
import type { XdsNode } from './snapshot-cache.js';

export type StreamKind = 'sotw' | 'delta';

/** Per type: what the client last ACKed and why it last refused something. */
export interface TypeStatus {
  typeUrl: string;
  /** Version (SotW version_info, delta system_version_info) of the last ACKed response; '' before any ACK. */
  ackedVersion: string;
  /** Version last sent. */
  sentVersion: string;
  /** error_detail.message of the last NACK, if the last response of this type was NACKed. */
  lastNack?: string;
  /** Subscribed names; ['*'] for a wildcard subscription. */
  subscribed: string[];
}

/** One connected xDS client stream, as `strata status` shows it. */
export interface ClientStatus {
  streamId: number;
  nodeId: string;
  /** The workload (service) of the node: node.cluster, else its `strata.service` metadata; '' when unknown. */
  workload: string;
  /** Group key in the snapshot cache. */
  group: string;
  locality: { region?: string; zone?: string; sub_zone?: string };
  kind: StreamKind;
  peer: string;
  connectedSince: Date;
  types: TypeStatus[];
  /** The most recent NACK on any type: type URL, reason and when. */
  lastNack?: { typeUrl: string; reason: string; at: Date };
}

/** A client broke the protocol: ends its stream (only) with `code`. */
export class AdsProtocolError extends Error {
  constructor(
    readonly code: GrpcStatus,
    message: string,
  ) {
    super(message);
    this.name = 'AdsProtocolError';
  }
}

/** Reject a type URL the server does not serve (also catches a missing one). */
export function checkTypeUrl(typeUrl: string | undefined): string {
  if (!typeUrl) throw new AdsProtocolError(GrpcStatus.INVALID_ARGUMENT, 'request without type_url');
  if (!PUSH_ORDER.includes(typeUrl)) {
    throw new AdsProtocolError(GrpcStatus.INVALID_ARGUMENT, `unsupported type_url ${JSON.stringify(typeUrl)}; served: ${PUSH_ORDER.join(', ')}`);
  }
  return typeUrl;
}

/** The node of a stream's first request, checked. */
export function checkNode(node: XdsNode | null | undefined): XdsNode {
  if (!node || typeof node.id !== 'string' || node.id === '') {
    throw new AdsProtocolError(GrpcStatus.INVALID_ARGUMENT, 'first request must carry node with a non-empty node.id');
  }
  return node;
}

export function checkNames(field: string, names: unknown): string[] {
  if (names === undefined || names === null) return [];
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
    throw new AdsProtocolError(GrpcStatus.INVALID_ARGUMENT, `${field} must be a list of strings`);
  }
  return names as string[];
}

/** A fresh nonce: unique per response on this server. */
export function newNonce(): string {
  return randomBytes(9).toString('base64url');
}

/** Types in push order (CDS → EDS → LDS → RDS). */
export function inPushOrder(types: Iterable<string>): string[] {
  const set = new Set(types);
  return PUSH_ORDER.filter((t) => set.has(t));
}

/** A string field of node metadata, whether it arrives as a decoded Struct or a plain object. */
export function metadataString(metadata: unknown, key: string): string | undefined {
  if (metadata === null || typeof metadata !== 'object') return undefined;
  const fields = (metadata as { fields?: unknown }).fields;
  if (fields && typeof fields === 'object') {
    const v = (fields as Record<string, unknown>)[key];
    if (v && typeof v === 'object') {
      const s = (v as { string_value?: unknown; stringValue?: unknown }).string_value ?? (v as { stringValue?: unknown }).stringValue;
      return typeof s === 'string' ? s : undefined;
    }
    return undefined;
  }
  const v = (metadata as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Subscriptions are shared: 1,000 whole-mesh clients naming the same 1,000 clusters hold one
 * set, not 1,000 (keyed by a digest of the list; kept while some stream uses it).
 */
const sharedNames = new Map<string, WeakRef<ReadonlySet<string>>>();
const forget = new FinalizationRegistry<string>((key) => {
  if (sharedNames.get(key)?.deref() === undefined) sharedNames.delete(key);
});

export function namesKey(names: readonly string[]): string {
  if (names.length === 0) return '';
  const h = createHash('sha1');
  for (const n of names) h.update(n).update('\0');
  return `${names.length}:${h.digest('base64url')}`;
}

/** The set of `names` (without `*`), shared with every other subscription of the same list. */
export function sharedNameSet(key: string, names: readonly string[]): ReadonlySet<string> {
  const known = sharedNames.get(key)?.deref();
  if (known) return known;
  const set: ReadonlySet<string> = new Set(names.filter((n) => n !== '*'));
  if (key !== '') {
    sharedNames.set(key, new WeakRef(set));
    forget.register(set, key);
  }
  return set;
}
