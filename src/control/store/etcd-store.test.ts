import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { EventCollector, resource, runStoreConformance } from './conformance.js';
import { EtcdStore } from './etcd-store.js';
import { EtcdTestServer } from './etcd-test-server.js';
import { StoreError } from './store.js';
import type { StoreEvent } from './store.js';

/** One etcd for the whole file, started on first use; every store gets its own prefix. */
let shared: Promise<EtcdTestServer> | undefined;
const servers: Promise<EtcdTestServer>[] = [];
function etcd(): Promise<EtcdTestServer> {
  shared ??= startServer();
  return shared;
}
function startServer(): Promise<EtcdTestServer> {
  const p = EtcdTestServer.start();
  servers.push(p);
  return p;
}
after(async () => {
  for (const p of servers) await p.then((s) => s.stop(), () => undefined);
});

let prefixes = 0;
const uniquePrefix = () => `/strata-test-${process.pid}-${++prefixes}/`;

runStoreConformance('EtcdStore', async () => {
  const server = await etcd();
  const store = new EtcdStore({ hosts: server.url, prefix: uniquePrefix() });
  return { store, cleanup: () => store.close() };
});

describe('EtcdStore', () => {
  test('stores resources as JSON under /strata/ by default, at etcd revisions', async () => {
    const server = await etcd();
    const store = new EtcdStore({ hosts: server.url });
    const raw = new Etcd3({ hosts: server.url });
    try {
      const web = resource('Service', 'web', { ports: [{ port: 80 }] });
      const { revision } = await store.apply([web]);
      assert.deepEqual(await raw.get('/strata/resources/Service/default/web').json(), web);
      const header = await raw.get('/strata/resources/Service/default/web').exec();
      assert.equal(Number(header.header.revision), revision);
      assert.equal(Number(header.kvs[0]?.mod_revision), revision);
      await store.delete('Service', 'default', 'web');
    } finally {
      raw.close();
      await store.close();
    }
  });

  test('two stores on the same etcd see each other\'s changes within a second', async () => {
    const server = await etcd();
    const prefix = uniquePrefix();
    const a = new EtcdStore({ hosts: server.url, prefix });
    const b = new EtcdStore({ hosts: server.url, prefix });
    const fromA = new EventCollector(a, await a.revision());
    const fromB = new EventCollector(b, await b.revision());
    try {
      // Let both watches be established before timing the propagation.
      await a.apply([resource('Service', 'warmup', {})]);
      await fromA.count(1);
      await fromB.count(1);

      const t0 = Date.now();
      const viaA = await a.apply([resource('Service', 'web', { v: 1 })]);
      const seenByB = await fromB.waitFor('web from A', (es) => es.some((e) => e.target === 'resource' && e.key.name === 'web'));
      const elapsedAB = Date.now() - t0;
      assert.ok(elapsedAB < 1000, `B saw A's change after ${elapsedAB} ms`);
      assert.equal(seenByB.at(-1)?.revision, viaA.revision);
      assert.deepEqual(await b.get('Service', 'default', 'web'), resource('Service', 'web', { v: 1 }));

      const t1 = Date.now();
      const viaB = await b.delete('Service', 'default', 'web');
      await fromA.waitFor('the delete from B', (es) => es.some((e) => e.type === 'delete' && e.revision === viaB.revision));
      const elapsedBA = Date.now() - t1;
      assert.ok(elapsedBA < 1000, `A saw B's change after ${elapsedBA} ms`);

      const id = await b.register({ service: 'web', address: '10.0.0.3', port: 80 }, 10_000);
      assert.deepEqual((await a.listEndpoints('web')).items.map((e) => e.id), [id]);
      await a.heartbeat(id);
      await a.deregister(id);
      await fromB.waitFor('the deregistration by A', (es) => es.some((e: StoreEvent) => e.target === 'endpoint' && e.type === 'delete' && e.id === id));
    } finally {
      fromA.close();
      fromB.close();
      await a.close();
      await b.close();
    }
  });

  test('when etcd is unreachable, calls reject naming the endpoint and health is degraded; it recovers', async () => {
    const server = await startServer();
    const store = new EtcdStore({ hosts: server.url, prefix: uniquePrefix(), callTimeoutMs: 1500 });
    const w = new EventCollector(store, await store.revision());
    try {
      await store.apply([resource('Service', 'before', {})]);
      await w.count(1);
      assert.equal((await store.health()).ok, true);

      await server.pause();
      const isUnavailable = (err: unknown) =>
        err instanceof StoreError && err.code === 'STRATA_STORE_UNAVAILABLE' && err.message.includes(`127.0.0.1:${server.clientPort}`);
      await assert.rejects(store.apply([resource('Service', 'during', {})]), isUnavailable);
      await assert.rejects(store.get('Service', 'default', 'before'), isUnavailable);
      await assert.rejects(store.register({ service: 'web', address: '10.0.0.1', port: 80 }, 5000), isUnavailable);
      const h = await store.health();
      assert.equal(h.ok, false);
      assert.match(h.detail, new RegExp(`127\\.0\\.0\\.1:${server.clientPort}.*degraded`));

      await server.resume();
      const deadline = Date.now() + 30_000;
      while (!(await store.health()).ok) {
        assert.ok(Date.now() < deadline, 'health did not recover within 30 s');
        await new Promise((r) => setTimeout(r, 200));
      }
      let applied: number | undefined;
      while (applied === undefined) {
        try {
          applied = (await store.apply([resource('Service', 'after', {})])).revision;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const events = await w.waitFor('the change after recovery', (es) => es.some((e) => e.revision === applied));
      assert.deepEqual(events.map((e) => (e.target === 'resource' ? e.key.name : e.id)), ['before', 'after']);
    } finally {
      w.close();
      await store.close();
    }
  });

  test('a registration is a key attached to an etcd lease of the TTL in seconds; deregister revokes it', async () => {
    const server = await etcd();
    const store = new EtcdStore({ hosts: server.url, prefix: uniquePrefix() });
    const raw = new Etcd3({ hosts: server.url });
    try {
      const id = await store.register({ service: 'api', address: '10.0.0.5', port: 9000 }, 2000);
      const kv = (await raw.get(`${store.prefix}endpoints/api/${id}`).exec()).kvs[0];
      assert.ok(kv, 'the registration key exists');
      assert.equal(kv.lease, id);
      const ttl = await raw.leaseClient.leaseTimeToLive({ ID: id });
      assert.equal(Number(ttl.grantedTTL), 2);
      await store.deregister(id);
      await store.deregister(id);
      assert.equal((await raw.get(`${store.prefix}endpoints/api/${id}`).exec()).kvs.length, 0);
    } finally {
      raw.close();
      await store.close();
    }
  });
  test('a watch from a revision etcd has compacted away reports STRATA_STORE_COMPACTED', async () => {
    const server = await etcd();
    const store = new EtcdStore({ hosts: server.url, prefix: uniquePrefix() });
    const raw = new Etcd3({ hosts: server.url });
    try {
      const old = await store.apply([resource('Service', 'web', { v: 1 })]);
      const now = await store.apply([resource('Service', 'web', { v: 2 })]);
      await raw.kv.compact({ revision: now.revision, physical: true });
      const w = new EventCollector(store, old.revision - 1);
      await w.waitFor('the compaction error', () => w.errors.length > 0);
      assert.equal(w.errors[0]?.code, 'STRATA_STORE_COMPACTED', w.errors[0]?.message);
      assert.match(w.errors[0]?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${server.clientPort}`));
      w.close();
    } finally {
      raw.close();
      await store.close();
    }
  });
});
