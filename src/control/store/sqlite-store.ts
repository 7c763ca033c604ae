/**
 * @module control/store/sqlite-store
 * The embedded store: better-sqlite3 in WAL mode, one file under a data directory. Every
 * write is one SQLite transaction that bumps the revision by one and appends its changes to
 * an event log, which `watch()` replays from; live events are delivered in-process after the
 * commit. Registrations carry an expiry time; a sweep timer (unref'd) removes expired ones
 * with a delete event. The log keeps the last `historyLimit` revisions.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Resource } from '../../config/resources.js';
import {
  StoreError,
  checkKey,
  checkRegistration,
  compareKeys,
  prepareBatch,
} from './store.js';
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

export interface SqliteStoreOptions {
  /** The data directory; created if missing. The database is `<dir>/strata.db`. */
  dir: string;
  /** How often expired registrations are swept (ms). Default 250. */
  sweepIntervalMs?: number;
  /** Revisions of history kept for watch replay. Default 10000. */
  historyLimit?: number;
  /** The clock, for tests. */
  now?: () => number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0), ('compacted', 0);
CREATE TABLE IF NOT EXISTS resources (
  kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
  body TEXT NOT NULL, revision INTEGER NOT NULL,
  PRIMARY KEY (kind, namespace, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS endpoints (
  id TEXT PRIMARY KEY, service TEXT NOT NULL, body TEXT NOT NULL,
  ttl_ms INTEGER NOT NULL, expires_at INTEGER NOT NULL, revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS endpoints_expiry ON endpoints (expires_at);
CREATE TABLE IF NOT EXISTS events (
  revision INTEGER NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
  PRIMARY KEY (revision, seq)
) WITHOUT ROWID;
`;

interface ResourceRow {
  kind: string;
  namespace: string;
  name: string;
  body: string;
}

interface EndpointRow {
  id: string;
  service: string;
  body: string;
}

/** Events without their revision, as a transaction collects them. */
type Change = StoreEvent extends infer E ? (E extends StoreEvent ? Omit<E, 'revision'> : never) : never;

class Watcher implements WatchHandle {
  private queue: StoreEvent[] = [];
  private scheduled = false;
  closed = false;

  constructor(
    private readonly onEvent: (e: StoreEvent) => void,
    private readonly onClose: (w: Watcher) => void,
  ) {}

  push(events: readonly StoreEvent[]): void {
    if (this.closed || events.length === 0) return;
    this.queue.push(...events);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    while (!this.closed && this.queue.length > 0) {
      const e = this.queue.shift() as StoreEvent;
      this.onEvent(e);
    }
  }

  fail(err: StoreError, onError?: (err: StoreError) => void): void {
    this.close();
    if (onError) setImmediate(() => onError(err));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.onClose(this);
  }
}

export class SqliteStore implements Store {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly watchers = new Set<Watcher>();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly historyLimit: number;
  private readonly now: () => number;
  private closed = false;

  constructor(opts: SqliteStoreOptions) {
    mkdirSync(opts.dir, { recursive: true });
    this.path = join(opts.dir, 'strata.db');
    this.historyLimit = opts.historyLimit ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.db = new Database(this.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.sweepTimer = setInterval(() => this.sweep(), opts.sweepIntervalMs ?? 250);
    this.sweepTimer.unref();
    this.sweep();
  }

  // ---- resources --------------------------------------------------------------------------

  async apply(resources: readonly Resource[]): Promise<ApplyResult> {
    this.ensureOpen();
    const batch = prepareBatch(resources);
    const select = this.db.prepare<[string, string, string], { body: string }>(
      'SELECT body FROM resources WHERE kind = ? AND namespace = ? AND name = ?',
    );
    const upsert = this.db.prepare(
      'INSERT INTO resources (kind, namespace, name, body, revision) VALUES (?, ?, ?, ?, ?) ' +
        'ON CONFLICT (kind, namespace, name) DO UPDATE SET body = excluded.body, revision = excluded.revision',
    );
    return this.write(() => {
      const rev = this.currentRevision() + 1;
      const changes: Change[] = [];
      const changed: ResourceKey[] = [];
      for (const { key, body } of batch) {
        if (select.get(key.kind, key.namespace, key.name)?.body === body) continue;
        upsert.run(key.kind, key.namespace, key.name, body, rev);
        changes.push({ target: 'resource', type: 'put', key, resource: JSON.parse(body) as Resource });
        changed.push(key);
      }
      return { changes, result: (revision: number) => ({ revision, changed }) };
    });
  }

  async get(kind: string, namespace: string, name: string): Promise<Resource | undefined> {
    this.ensureOpen();
    const row = this.db
      .prepare<[string, string, string], { body: string }>('SELECT body FROM resources WHERE kind = ? AND namespace = ? AND name = ?')
      .get(kind, namespace, name);
    return row ? (JSON.parse(row.body) as Resource) : undefined;
  }

  async list(kind?: string, namespace?: string): Promise<Listing<Resource>> {
    this.ensureOpen();
    const read = this.db.transaction(() => {
      const rows = this.db
        .prepare<[string | null, string | null, string | null, string | null], ResourceRow>(
          'SELECT kind, namespace, name, body FROM resources WHERE (? IS NULL OR kind = ?) AND (? IS NULL OR namespace = ?)',
        )
        .all(kind ?? null, kind ?? null, namespace ?? null, namespace ?? null);
      return { revision: this.currentRevision(), rows };
    });
    const { revision, rows } = read();
    rows.sort(compareKeys);
    return { revision, items: rows.map((r) => JSON.parse(r.body) as Resource) };
  }

  delete(kind: string, namespace: string, name: string): Promise<DeleteResult> {
    return this.deleteMany([{ kind, namespace, name }]);
  }

  async deleteMany(keys: readonly ResourceKey[]): Promise<DeleteResult> {
    this.ensureOpen();
    keys.forEach((k, i) => checkKey(k, `[${i}].`));
    const del = this.db.prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?');
    return this.write(() => {
      const changes: Change[] = [];
      const deleted: ResourceKey[] = [];
      for (const k of keys) {
        if (del.run(k.kind, k.namespace, k.name).changes === 0) continue;
        const key = { kind: k.kind, namespace: k.namespace, name: k.name };
        changes.push({ target: 'resource', type: 'delete', key });
        deleted.push(key);
      }
      return { changes, result: (revision: number) => ({ revision, deleted }) };
    });
  }

  async revision(): Promise<number> {
    this.ensureOpen();
    return this.currentRevision();
  }

  // ---- watch ------------------------------------------------------------------------------

  watch(fromRevision: number, onEvent: (e: StoreEvent) => void, onError?: (err: StoreError) => void): WatchHandle {
    const w = new Watcher(onEvent, (x) => this.watchers.delete(x));
    if (this.closed) {
      w.fail(new StoreError('STRATA_STORE_CLOSED', `store ${this.path} is closed`), onError);
      return w;
    }
    // Replay and subscribe in one synchronous step: no write can slip in between.
    const compacted = this.meta('compacted');
    if (fromRevision < compacted) {
      w.fail(
        new StoreError('STRATA_STORE_COMPACTED', `revision ${fromRevision} is compacted (history starts after ${compacted}); list and watch from the listing's revision`),
        onError,
      );
      return w;
    }
    const rows = this.db
      .prepare<[number], { revision: number; event: string }>('SELECT revision, event FROM events WHERE revision > ? ORDER BY revision, seq')
      .all(fromRevision);
    w.push(rows.map((r) => ({ ...(JSON.parse(r.event) as Change), revision: r.revision }) as StoreEvent));
    this.watchers.add(w);
    return w;
  }

  // ---- endpoints --------------------------------------------------------------------------

  async register(endpoint: EndpointRegistration, ttlMs: number): Promise<string> {
    this.ensureOpen();
    checkRegistration(endpoint, ttlMs);
    const id = randomBytes(8).toString('hex');
    const stored: RegisteredEndpoint = { ...endpoint, id, ttlMs };
    const body = JSON.stringify(stored);
    this.write(() => {
      const rev = this.currentRevision() + 1;
      this.db
        .prepare('INSERT INTO endpoints (id, service, body, ttl_ms, expires_at, revision) VALUES (?, ?, ?, ?, ?, ?)')
        .run(id, endpoint.service, body, ttlMs, this.now() + ttlMs, rev);
      const change: Change = { target: 'endpoint', type: 'put', id, service: endpoint.service, endpoint: stored };
      return { changes: [change], result: () => undefined };
    });
    return id;
  }

  async heartbeat(id: string): Promise<void> {
    this.ensureOpen();
    this.sweep();
    const r = this.db.prepare('UPDATE endpoints SET expires_at = ? + ttl_ms WHERE id = ?').run(this.now(), id);
    if (r.changes === 0) throw new StoreError('STRATA_STORE_NOT_FOUND', `registration ${id} not found (expired or deregistered)`);
  }

  async deregister(id: string): Promise<void> {
    this.ensureOpen();
    this.write(() => {
      const row = this.db.prepare<[string], { service: string }>('SELECT service FROM endpoints WHERE id = ?').get(id);
      if (!row) return { changes: [], result: () => undefined };
      this.db.prepare('DELETE FROM endpoints WHERE id = ?').run(id);
      const change: Change = { target: 'endpoint', type: 'delete', id, service: row.service };
      return { changes: [change], result: () => undefined };
    });
  }

  async listEndpoints(service?: string): Promise<Listing<RegisteredEndpoint>> {
    this.ensureOpen();
    this.sweep();
    const read = this.db.transaction(() => ({
      revision: this.currentRevision(),
      rows: this.db
        .prepare<[string | null, string | null], EndpointRow>('SELECT id, service, body FROM endpoints WHERE (? IS NULL OR service = ?) ORDER BY service, id')
        .all(service ?? null, service ?? null),
    }));
    const { revision, rows } = read();
    return { revision, items: rows.map((r) => JSON.parse(r.body) as RegisteredEndpoint) };
  }

  // ---- lifecycle --------------------------------------------------------------------------

  async health(): Promise<StoreHealth> {
    if (this.closed) return { ok: false, detail: `sqlite ${this.path}: closed` };
    try {
      const check = this.db.pragma('quick_check', { simple: true });
      const ok = check === 'ok';
      return { ok, detail: `sqlite ${this.path}: ${ok ? 'ok' : String(check)}, revision ${this.currentRevision()}` };
    } catch (err) {
      return { ok: false, detail: `sqlite ${this.path}: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    for (const w of [...this.watchers]) w.close();
    this.db.close();
  }

  // ---- internals --------------------------------------------------------------------------

  /** Remove expired registrations in one transaction, with a delete event each. */
  private sweep(): void {
    if (this.closed) return;
    this.write(() => {
      const expired = this.db
        .prepare<[number], { id: string; service: string }>('SELECT id, service FROM endpoints WHERE expires_at <= ? ORDER BY expires_at, id')
        .all(this.now());
      const del = this.db.prepare('DELETE FROM endpoints WHERE id = ?');
      const changes: Change[] = expired.map(({ id, service }) => {
        del.run(id);
        return { target: 'endpoint', type: 'delete', id, service };
      });
      return { changes, result: () => undefined };
    });
  }

  /**
   * Run `body` in an immediate transaction. When it reports changes, the revision goes up by
   * one, the changes are logged under it and, after the commit, delivered to watchers.
   */
  private write<R>(body: () => { changes: Change[]; result: (revision: number) => R }): R {
    let events: StoreEvent[] = [];
    const tx = this.db.transaction(() => {
      const { changes, result } = body();
      let revision = this.currentRevision();
      if (changes.length > 0) {
        revision += 1;
        this.db.prepare("UPDATE meta SET value = ? WHERE key = 'revision'").run(revision);
        const log = this.db.prepare('INSERT INTO events (revision, seq, event) VALUES (?, ?, ?)');
        changes.forEach((c, seq) => log.run(revision, seq, JSON.stringify(c)));
        this.compact(revision);
        events = changes.map((c) => ({ ...c, revision }) as StoreEvent);
      }
      return result(revision);
    });
    const result = tx.immediate();
    for (const w of this.watchers) w.push(events);
    return result;
  }

  private compact(revision: number): void {
    const floor = revision - this.historyLimit;
    if (floor <= this.meta('compacted')) return;
    this.db.prepare('DELETE FROM events WHERE revision <= ?').run(floor);
    this.db.prepare("UPDATE meta SET value = ? WHERE key = 'compacted'").run(floor);
  }

  private currentRevision(): number {
    return this.meta('revision');
  }

  private meta(key: string): number {
    const row = this.db.prepare<[string], { value: number }>('SELECT value FROM meta WHERE key = ?').get(key);
    return row?.value ?? 0;
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError('STRATA_STORE_CLOSED', `store ${this.path} is closed`);
  }
}
