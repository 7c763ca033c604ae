import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EventCollector, resource, runStoreConformance } from './conformance.js';
import { SqliteStore } from './sqlite-store.js';
import { StoreError } from './store.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'strata-sqlite-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

runStoreConformance('SqliteStore', async () => {
  const dir = tempDir();
  const store = new SqliteStore({ dir });
  return { store, cleanup: () => store.close() };
});

describe('SqliteStore', () => {
  test('uses WAL mode under the data directory', async () => {
    const dir = tempDir();
    const store = new SqliteStore({ dir });
    try {
      assert.equal(store.path, join(dir, 'strata.db'));
      assert.match((await store.health()).detail, /strata\.db: ok, revision 0/);
    } finally {
      await store.close();
    }
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(dir, 'strata.db'), { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });

  test('survives a restart with nothing lost: resources, revision, history, registrations', async () => {
    const dir = tempDir();
    const first = new SqliteStore({ dir });
    const a = await first.apply([resource('Service', 'web', { ports: [80] }), resource('Route', 'web', { rules: [] })]);
    const b = await first.apply([resource('Service', 'api', {}, 'prod')]);
    await first.delete('Route', 'default', 'web');
    const id = await first.register({ service: 'web', address: '10.0.0.1', port: 80 }, 60_000);
    const revision = await first.revision();
    await first.close();

    const second = new SqliteStore({ dir });
    try {
      assert.equal(await second.revision(), revision);
      assert.deepEqual((await second.list()).items, [resource('Service', 'web', { ports: [80] }), resource('Service', 'api', {}, 'prod')]);
      assert.deepEqual((await second.listEndpoints('web')).items.map((e) => e.id), [id]);
      await second.heartbeat(id);
      const w = new EventCollector(second, a.revision);
      try {
        const events = await w.count(3);
        assert.deepEqual(events.map((e) => [e.type, e.revision]), [
          ['put', b.revision],
          ['delete', b.revision + 1],
          ['put', revision],
        ]);
      } finally {
        w.close();
      }
      const next = await second.apply([resource('Service', 'db', {})]);
      assert.equal(next.revision, revision + 1);
    } finally {
      await second.close();
    }
  });

  test('a registration that expired while the store was closed is swept on open, with its event', async () => {
    const dir = tempDir();
    let now = 1_000_000;
    const first = new SqliteStore({ dir, now: () => now });
    const id = await first.register({ service: 'web', address: '10.0.0.1', port: 80 }, 5_000);
    const rev = await first.revision();
    await first.close();
    now += 10_000;
    const second = new SqliteStore({ dir, now: () => now });
    try {
      assert.deepEqual((await second.listEndpoints()).items, []);
      const w = new EventCollector(second, rev);
      try {
        const [e] = await w.count(1);
        assert.ok(e?.target === 'endpoint' && e.type === 'delete' && e.id === id);
      } finally {
        w.close();
      }
    } finally {
      await second.close();
    }
  });

  test('history beyond historyLimit is compacted; an old watch is told so', async () => {
    const store = new SqliteStore({ dir: tempDir(), historyLimit: 3 });
    try {
      for (let i = 0; i < 6; i++) await store.apply([resource('Service', 'web', { v: i })]);
      const w = new EventCollector(store, 1);
      await w.waitFor('the compaction error', () => w.errors.length > 0);
      assert.equal(w.errors[0]?.code, 'STRATA_STORE_COMPACTED');
      assert.deepEqual(w.events, []);
      const ok = new EventCollector(store, 3);
      try {
        assert.deepEqual((await ok.count(3)).map((e) => e.revision), [4, 5, 6]);
      } finally {
        ok.close();
      }
    } finally {
      await store.close();
    }
  });

  test('errors carry stable codes', async () => {
    const store = new SqliteStore({ dir: tempDir() });
    try {
      await assert.rejects(store.delete('Service', 'default', ''), (err: unknown) => err instanceof StoreError && err.code === 'STRATA_STORE_INVALID');
    } finally {
      await store.close();
    }
  });
});
