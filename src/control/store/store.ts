/**
 * @module control/store/store
 * The contract of the control plane's configuration stores: resources keyed by
 * (kind, namespace, name) under one monotonically increasing revision, a change feed
 * (`watch`) that replays history after a revision and then follows live changes, and
 * endpoint registrations that expire unless heartbeated. Implementations: SQLite
 * (`sqlite-store.ts`, embedded default) and etcd v3 (`etcd-store.ts`, shared by replicas).
 * Every implementation runs the shared suite in `conformance.ts`.
 */
import type { FieldError } from '../../errors.js';
import { formatFieldError } from '../../errors.js';
import type { Resource } from '../../config/resources.js';

/** Where a resource lives in a store. */
export interface ResourceKey {
  kind: string;
  namespace: string;
  name: string;
}

/** What a workload (or the runner on its behalf) registers. */
export interface EndpointRegistration {
  service: string;
  address: string;
  port: number;
  /** Free-form extra data (workload name, locality, health…), stored as given. */
  metadata?: Record<string, unknown>;
}

/** A live registration as stored: the registration plus its lease. */
export interface RegisteredEndpoint extends EndpointRegistration {
  /** The lease id returned by `register()`. */
  id: string;
  ttlMs: number;
}

/** One change, in revision order. Several events share a revision when one transaction made them. */
export type StoreEvent =
  | { target: 'resource'; type: 'put'; revision: number; key: ResourceKey; resource: Resource }
  | { target: 'resource'; type: 'delete'; revision: number; key: ResourceKey }
  | { target: 'endpoint'; type: 'put'; revision: number; id: string; service: string; endpoint: RegisteredEndpoint }
  | { target: 'endpoint'; type: 'delete'; revision: number; id: string; service: string };

/** A consistent read: the items and the revision they were read at (watch from it to follow on). */
export interface Listing<T> {
  revision: number;
  items: T[];
}

export interface ApplyResult {
  /** The store revision after the apply (unchanged when nothing changed). */
  revision: number;
  /** The keys whose stored value changed (created or updated), in batch order. */
  changed: ResourceKey[];
}

export interface DeleteResult {
  revision: number;
  /** The keys that existed and were removed. */
  deleted: ResourceKey[];
}

export interface WatchHandle {
  close(): void;
}

export interface StoreHealth {
  ok: boolean;
  detail: string;
}

export interface Store {
  /** Create or replace every resource of the batch in one transaction: all or nothing. */
  apply(resources: readonly Resource[]): Promise<ApplyResult>;
  get(kind: string, namespace: string, name: string): Promise<Resource | undefined>;
  /** Resources sorted by kind, namespace, name; optionally of one kind (and namespace). */
  list(kind?: string, namespace?: string): Promise<Listing<Resource>>;
  delete(kind: string, namespace: string, name: string): Promise<DeleteResult>;
  /** Delete several resources in one transaction; missing keys are skipped. */
  deleteMany(keys: readonly ResourceKey[]): Promise<DeleteResult>;
  /** The current revision (0 for an empty store). */
  revision(): Promise<number>;
  /**
   * Deliver every change with a revision greater than `fromRevision`, in order: the history
   * first, then live changes, until `close()`. `onError` hears of a watch that cannot continue
   * (history compacted away, store closed); no events follow it.
   */
  watch(fromRevision: number, onEvent: (e: StoreEvent) => void, onError?: (err: StoreError) => void): WatchHandle;
  /** Register an endpoint that disappears (with a delete event) `ttlMs` after the last heartbeat. */
  register(endpoint: EndpointRegistration, ttlMs: number): Promise<string>;
  /** Renew a registration; rejects with STRATA_STORE_NOT_FOUND when it has expired. */
  heartbeat(id: string): Promise<void>;
  deregister(id: string): Promise<void>;
  listEndpoints(service?: string): Promise<Listing<RegisteredEndpoint>>;
  health(): Promise<StoreHealth>;
  /** Release the store; watches end, later calls reject with STRATA_STORE_CLOSED. */
  close(): Promise<void>;
}

// ---- errors -------------------------------------------------------------------------------

export type StoreErrorCode =
  | 'STRATA_STORE_INVALID'
  | 'STRATA_STORE_NOT_FOUND'
  | 'STRATA_STORE_UNAVAILABLE'
  | 'STRATA_STORE_COMPACTED'
  | 'STRATA_STORE_CONFLICT'
  | 'STRATA_STORE_CLOSED';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly errors: FieldError[] = [],
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

// ---- shared helpers -----------------------------------------------------------------------

export function keyOf(r: Pick<Resource, 'kind' | 'metadata'>): ResourceKey {
  return { kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name };
}

export function formatKey(k: ResourceKey): string {
  return `${k.kind}/${k.namespace}/${k.name}`;
}

export function compareKeys(a: ResourceKey, b: ResourceKey): number {
  return cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Names used in keys: no separators, nothing empty. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function checkSegment(errors: FieldError[], path: string, value: unknown): void {
  if (typeof value !== 'string' || !SEGMENT.test(value)) {
    errors.push({ path, message: `expected a name of letters, digits, '.', '_' or '-', got ${JSON.stringify(value)}` });
  }
}

/**
 * Check a batch before anything is written: keys well formed, no key twice, every value
 * serializable. Returns the serialized bodies in batch order, or throws STRATA_STORE_INVALID
 * with every problem (paths are batch indexes: `[2].metadata.name`).
 */
export function prepareBatch(resources: readonly Resource[]): { key: ResourceKey; body: string }[] {
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  const out: { key: ResourceKey; body: string }[] = [];
  resources.forEach((r, i) => {
    const at = `[${i}]`;
    checkSegment(errors, `${at}.kind`, r?.kind);
    checkSegment(errors, `${at}.metadata.name`, r?.metadata?.name);
    checkSegment(errors, `${at}.metadata.namespace`, r?.metadata?.namespace);
    if (errors.length > 0) return;
    const key = keyOf(r);
    const id = formatKey(key);
    const first = seen.get(id);
    if (first !== undefined) {
      errors.push({ resource: `${r.kind}/${r.metadata.name}`, path: at, message: `duplicate of [${first}] (${id}) in the same batch` });
      return;
    }
    seen.set(id, i);
    try {
      out.push({ key, body: JSON.stringify(r) });
    } catch (err) {
      errors.push({ resource: `${r.kind}/${r.metadata.name}`, path: at, message: `not serializable: ${(err as Error).message}` });
    }
  });
  if (errors.length > 0) throw invalid(errors);
  return out;
}

export function checkKey(k: ResourceKey, at = ''): void {
  const errors: FieldError[] = [];
  checkSegment(errors, `${at}kind`, k.kind);
  checkSegment(errors, `${at}namespace`, k.namespace);
  checkSegment(errors, `${at}name`, k.name);
  if (errors.length > 0) throw invalid(errors);
}

export function checkRegistration(e: EndpointRegistration, ttlMs: number): void {
  const errors: FieldError[] = [];
  checkSegment(errors, 'service', e.service);
  if (typeof e.address !== 'string' || e.address === '') errors.push({ path: 'address', message: 'required' });
  if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
    errors.push({ path: 'port', message: `expected an integer 1-65535, got ${JSON.stringify(e.port)}` });
  }
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) errors.push({ path: 'ttlMs', message: `expected a positive number, got ${ttlMs}` });
  if (errors.length > 0) throw invalid(errors);
}

function invalid(errors: FieldError[]): StoreError {
  return new StoreError('STRATA_STORE_INVALID', `rejected:\n  ${errors.map(formatFieldError).join('\n  ')}`, errors);
}
