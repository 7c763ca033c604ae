/**
 * @module control/store/etcd-store
 * The distributed store: etcd v3 through the `etcd3` client, every key under a prefix
 * (default `/strata/`). Layout:
 *
 *   <prefix>resources/<kind>/<namespace>/<name>   the resource as JSON
 *   <prefix>endpoints/<service>/<lease id>        a registration, attached to its etcd lease
 *
 * The revision is etcd's revision, so replicas sharing an etcd agree on it. `apply` and
 * `deleteMany` are one etcd transaction each (read, then a txn guarded by every key's
 * mod revision, retried on conflict). `watch` is an etcd watch from `fromRevision + 1`.
 * Registrations are etcd leases (TTL in whole seconds, at least etcd's minimum of 2 s);
 * `heartbeat` is one keepalive and expiry is etcd's own. Every call has a deadline; a failed
 * call rejects with STRATA_STORE_UNAVAILABLE naming the etcd endpoints. An etcd transaction
 * holds at most 128 operations (etcd's default `--max-txn-ops`), so a batch is limited to that.
 */
import { Etcd3 } from 'etcd3';
import type { IKeyValue, IRequestOp, Watcher } from 'etcd3';
import type { Resource } from '../../config/resources.js';
import { StoreError, checkKey, checkRegistration, compareKeys, prepareBatch } from './store.js';
import type {
  ApplyResult,
  DeleteResult,
  EndpointRegistration,
  Listing,
  RegisteredEndpoint,
  ResourceKey,
  Store,
  StoreEvent,
  StoreHealth,
  WatchHandle,
} from './store.js';

export interface EtcdStoreOptions {
  /** etcd client URLs, e.g. `http://127.0.0.1:2379`. */
  hosts: string | string[];
  /** Key prefix; default `/strata/`. */
  prefix?: string;
  /** Deadline of each call (ms). Default 5000. */
  callTimeoutMs?: number;
  /** Attempts of an apply whose keys changed under it. Default 10. */
  maxConflictRetries?: number;
}

/** etcd's default `--max-txn-ops`. */
export const MAX_TXN_OPS = 128;

/** etcd lease ids are positive int64s, carried as decimal strings. */
const LEASE_ID = /^[1-9][0-9]{0,18}$/;

const enc = (s: string): Buffer => Buffer.from(s, 'utf8');

/** The end of the range of every key starting with `prefix`. */
function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] as number) < 0xff) {
      const end = b.subarray(0, i + 1);
      end[i] = (end[i] as number) + 1;
      return Buffer.from(end);
    }
  }
  return Buffer.from([0]);
}

export class EtcdStore implements Store {
  readonly hosts: string[];
  readonly prefix: string;
  private readonly client: Etcd3;
  private readonly callTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly watchers = new Set<Watcher>();
  private closed = false;

  constructor(opts: EtcdStoreOptions) {
    this.hosts = Array.isArray(opts.hosts) ? opts.hosts : [opts.hosts];
    this.prefix = opts.prefix ?? '/strata/';
    this.callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.maxRetries = opts.maxConflictRetries ?? 10;
    this.client = new Etcd3({
      hosts: this.hosts,
      dialTimeout: this.callTimeoutMs,
      // Unary calls get a deadline; streams (watch, keepalive) must not.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + this.callTimeoutMs }),
    });
  }

  // ---- keys -------------------------------------------------------------------------------

  private resourceKey(k: ResourceKey): string {
    return `${this.prefix}resources/${k.kind}/${k.namespace}/${k.name}`;
  }

  private endpointKey(service: string, id: string): string {
    return `${this.prefix}endpoints/${service}/${id}`;
  }

  /** Turn a stored key back into what it names, or undefined for a key this store did not write. */
  private parseKey(raw: Buffer): { target: 'resource'; key: ResourceKey } | { target: 'endpoint'; service: string; id: string } | undefined {
    const key = raw.toString('utf8');
    if (!key.startsWith(this.prefix)) return undefined;
    const parts = key.slice(this.prefix.length).split('/');
    if (parts[0] === 'resources' && parts.length === 4) {
      return { target: 'resource', key: { kind: parts[1] as string, namespace: parts[2] as string, name: parts[3] as string } };
    }
    if (parts[0] === 'endpoints' && parts.length === 3) return { target: 'endpoint', service: parts[1] as string, id: parts[2] as string };
    return undefined;
  }

  // ---- resources --------------------------------------------------------------------------

  async apply(resources: readonly Resource[]): Promise<ApplyResult> {
    this.ensureOpen();
    const batch = prepareBatch(resources);
    this.checkBatchSize(batch.length);
    if (batch.length === 0) return { revision: await this.revision(), changed: [] };
    const keys = batch.map((b) => enc(this.resourceKey(b.key)));
    for (let attempt = 0; attempt < this.maxRetries; attempt++) {
      const { revision, kvs } = await this.readKeys(keys);
      const changed: ResourceKey[] = [];
      const puts: IRequestOp[] = [];
      batch.forEach((b, i) => {
        if (kvs[i]?.value.toString('utf8') === b.body) return;
        changed.push(b.key);
        puts.push({ request_put: { key: keys[i], value: enc(b.body) } });
      });
      if (puts.length === 0) return { revision, changed: [] };
      const res = await this.call('apply', () =>
        this.client.kv.txn({
          compare: keys.map((key, i) => {
            const kv = kvs[i];
            return kv
              ? { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: kv.mod_revision }
              : { key, target: 'Create' as const, result: 'Equal' as const, create_revision: 0 };
          }),
          success: puts,
        }),
      );
      if (res.succeeded) return { revision: Number(res.header.revision), changed };
    }
    throw new StoreError('STRATA_STORE_CONFLICT', `apply: keys kept changing under ${this.maxRetries} attempts`);
  }

  async get(kind: string, namespace: string, name: string): Promise<Resource | undefined> {
    this.ensureOpen();
    const res = await this.call('get', () => this.client.kv.range({ key: enc(this.resourceKey({ kind, namespace, name })) }));
    const kv = res.kvs[0];
    return kv ? (JSON.parse(kv.value.toString('utf8')) as Resource) : undefined;
  }

  async list(kind?: string, namespace?: string): Promise<Listing<Resource>> {
    this.ensureOpen();
    let p = `${this.prefix}resources/`;
    if (kind !== undefined) {
      p += `${kind}/`;
      if (namespace !== undefined) p += `${namespace}/`;
    }
    const res = await this.call('list', () => this.client.kv.range({ key: enc(p), range_end: prefixEnd(p) }));
    let items = res.kvs.map((kv) => JSON.parse(kv.value.toString('utf8')) as Resource);
    if (kind === undefined && namespace !== undefined) items = items.filter((r) => r.metadata.namespace === namespace);
    items.sort((a, b) => compareKeys(
      { kind: a.kind, namespace: a.metadata.namespace, name: a.metadata.name },
      { kind: b.kind, namespace: b.metadata.namespace, name: b.metadata.name },
    ));
    return { revision: Number(res.header.revision), items };
  }

  delete(kind: string, namespace: string, name: string): Promise<DeleteResult> {
    return this.deleteMany([{ kind, namespace, name }]);
  }

  async deleteMany(keys: readonly ResourceKey[]): Promise<DeleteResult> {
    this.ensureOpen();
    keys.forEach((k, i) => checkKey(k, `[${i}].`));
    this.checkBatchSize(keys.length);
    if (keys.length === 0) return { revision: await this.revision(), deleted: [] };
    const res = await this.call('delete', () =>
      this.client.kv.txn({
        compare: [],
        success: keys.map((k) => ({ request_delete_range: { key: enc(this.resourceKey(k)) } })),
      }),
    );
    const deleted = keys
      .filter((_, i) => Number(res.responses[i]?.response_delete_range?.deleted ?? 0) > 0)
      .map((k) => ({ kind: k.kind, namespace: k.namespace, name: k.name }));
    return { revision: Number(res.header.revision), deleted };
  }

  async revision(): Promise<number> {
    this.ensureOpen();
    const res = await this.call('revision', () => this.client.kv.range({ key: enc(`${this.prefix}revision`), count_only: true }));
    return Number(res.header.revision);
  }

  // ---- watch ------------------------------------------------------------------------------

  watch(fromRevision: number, onEvent: (e: StoreEvent) => void, onError?: (err: StoreError) => void): WatchHandle {
    if (this.closed) {
      const err = new StoreError('STRATA_STORE_CLOSED', `etcd store ${this.prefix} on ${this.hosts.join(', ')} is closed`);
      if (onError) setImmediate(() => onError(err));
      return { close: () => undefined };
    }
    let closed = false;
    const watcher = this.client.watch().prefix(this.prefix).startRevision(String(fromRevision + 1)).watcher();
    this.watchers.add(watcher);
    const handle: WatchHandle = {
      close: () => {
        if (closed) return;
        closed = true;
        this.watchers.delete(watcher);
        watcher.removeAllListeners('put').removeAllListeners('delete');
        watcher.cancel().catch(() => undefined);
      },
    };
    const deliver = (type: 'put' | 'delete') => (kv: IKeyValue) => {
      if (closed) return;
      const e = this.toEvent(type, kv);
      if (e) onEvent(e);
    };
    watcher.on('put', deliver('put'));
    watcher.on('delete', deliver('delete'));
    watcher.on('error', (err) => {
      if (closed) return;
      handle.close();
      // etcd 3.4 cancels a watch on a compacted revision with an empty cancel reason.
      const e = /compact|^Watcher canceled: $/i.test(err.message)
        ? new StoreError('STRATA_STORE_COMPACTED', `revision ${fromRevision} is compacted in etcd ${this.hosts.join(', ')}; list and watch from the listing's revision`, [], err)
        : this.unavailable('watch', err);
      if (onError) setImmediate(() => onError(e));
    });
    return handle;
  }

  private toEvent(type: 'put' | 'delete', kv: IKeyValue): StoreEvent | undefined {
    const at = this.parseKey(kv.key);
    if (!at) return undefined;
    const revision = Number(kv.mod_revision);
    if (at.target === 'resource') {
      return type === 'put'
        ? { target: 'resource', type, revision, key: at.key, resource: JSON.parse(kv.value.toString('utf8')) as Resource }
        : { target: 'resource', type, revision, key: at.key };
    }
    return type === 'put'
      ? { target: 'endpoint', type, revision, id: at.id, service: at.service, endpoint: JSON.parse(kv.value.toString('utf8')) as RegisteredEndpoint }
      : { target: 'endpoint', type, revision, id: at.id, service: at.service };
  }

  // ---- endpoints --------------------------------------------------------------------------

  async register(endpoint: EndpointRegistration, ttlMs: number): Promise<string> {
    this.ensureOpen();
    checkRegistration(endpoint, ttlMs);
    const ttl = Math.max(1, Math.ceil(ttlMs / 1000));
    const grant = await this.call('register', () => this.client.leaseClient.leaseGrant({ TTL: ttl }));
    const id = String(grant.ID);
    const stored: RegisteredEndpoint = { ...endpoint, id, ttlMs };
    try {
      await this.call('register', () =>
        this.client.kv.put({ key: enc(this.endpointKey(endpoint.service, id)), value: enc(JSON.stringify(stored)), lease: id }),
      );
    } catch (err) {
      await this.client.leaseClient.leaseRevoke({ ID: id }).catch(() => undefined);
      throw err;
    }
    return id;
  }

  async heartbeat(id: string): Promise<void> {
    this.ensureOpen();
    if (!LEASE_ID.test(id)) throw new StoreError('STRATA_STORE_NOT_FOUND', `registration ${JSON.stringify(id)} not found (not an etcd lease id)`);
    const ttl = await this.call('heartbeat', async () => {
      const stream = await this.client.leaseClient.leaseKeepAlive();
      try {
        return await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no keepalive answer within ${this.callTimeoutMs} ms`)), this.callTimeoutMs);
          stream.on('data', (res: { TTL: string }) => {
            clearTimeout(timer);
            resolve(Number(res.TTL));
          });
          stream.on('error', (err: Error) => {
            clearTimeout(timer);
            reject(err);
          });
          stream.write({ ID: id });
        });
      } finally {
        stream.end();
      }
    });
    if (ttl <= 0) throw new StoreError('STRATA_STORE_NOT_FOUND', `registration ${id} not found (expired or deregistered)`);
  }

  async deregister(id: string): Promise<void> {
    this.ensureOpen();
    if (!LEASE_ID.test(id)) return;
    try {
      await this.call('deregister', () => this.client.leaseClient.leaseRevoke({ ID: id }));
    } catch (err) {
      if (err instanceof StoreError && /lease not found/i.test(String((err.cause as Error | undefined)?.message))) return;
      throw err;
    }
  }

  async listEndpoints(service?: string): Promise<Listing<RegisteredEndpoint>> {
    this.ensureOpen();
    const p = `${this.prefix}endpoints/${service === undefined ? '' : `${service}/`}`;
    const res = await this.call('listEndpoints', () => this.client.kv.range({ key: enc(p), range_end: prefixEnd(p) }));
    const items = res.kvs.map((kv) => JSON.parse(kv.value.toString('utf8')) as RegisteredEndpoint);
    items.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { revision: Number(res.header.revision), items };
  }

  // ---- lifecycle --------------------------------------------------------------------------

  async health(): Promise<StoreHealth> {
    const where = `etcd ${this.hosts.join(', ')}`;
    if (this.closed) return { ok: false, detail: `${where}: closed` };
    try {
      const status = await this.client.maintenance.status({ deadline: Date.now() + this.callTimeoutMs });
      return { ok: true, detail: `${where}: ok, version ${status.version}, revision ${status.header.revision}` };
    } catch (err) {
      return { ok: false, detail: `${where}: degraded: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const cancels = [...this.watchers].map((w) => {
      w.removeAllListeners('put').removeAllListeners('delete');
      return w.cancel().catch(() => undefined);
    });
    this.watchers.clear();
    await Promise.race([Promise.all(cancels), new Promise((r) => setTimeout(r, 1000).unref())]);
    this.client.close();
  }

  // ---- internals --------------------------------------------------------------------------

  /** Read several keys at one revision (a read-only transaction). */
  private async readKeys(keys: Buffer[]): Promise<{ revision: number; kvs: (IKeyValue | undefined)[] }> {
    const res = await this.call('read', () =>
      this.client.kv.txn({ compare: [], success: keys.map((key) => ({ request_range: { key } })) }),
    );
    return { revision: Number(res.header.revision), kvs: keys.map((_, i) => res.responses[i]?.response_range?.kvs[0]) };
  }

  private checkBatchSize(n: number): void {
    if (n > MAX_TXN_OPS) {
      throw new StoreError('STRATA_STORE_INVALID', `a batch holds at most ${MAX_TXN_OPS} resources in one etcd transaction; got ${n}`, [
        { path: '', message: `at most ${MAX_TXN_OPS} items` },
      ]);
    }
  }

  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      if (this.closed) throw new StoreError('STRATA_STORE_CLOSED', `etcd store ${this.prefix} on ${this.hosts.join(', ')} is closed`, [], err);
      throw this.unavailable(op, err);
    }
  }

  private unavailable(op: string, err: unknown): StoreError {
    const msg = err instanceof Error ? err.message : String(err);
    return new StoreError('STRATA_STORE_UNAVAILABLE', `etcd ${this.hosts.join(', ')}: ${op} failed: ${msg}`, [], err);
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError('STRATA_STORE_CLOSED', `etcd store ${this.prefix} on ${this.hosts.join(', ')} is closed`);
  }
}
