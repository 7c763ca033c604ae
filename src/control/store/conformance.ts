/**
 * @module control/store/conformance
 * The behaviour every Store must show, as node:test tests. A store's test file calls
 * `runStoreConformance(name, factory)` and adds its own tests; the helpers here (resource
 * builders, an event collector that waits with a deadline) are shared with them.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { API_VERSION } from '../../config/resources.js';
import type { Resource } from '../../config/resources.js';
import { StoreError } from './store.js';
import type { Store, StoreEvent, WatchHandle } from './store.js';

export interface StoreFixture {
  store: Store;
  /** Close the store (if still open) and remove what the factory created. */
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreFixture>;

/** Generous: the tests run on a loaded 2-core machine. */
export const EVENT_TIMEOUT_MS = 20_000;

export function resource(kind: string, name: string, spec: unknown = {}, namespace = 'default'): Resource {
  return { apiVersion: API_VERSION, kind, metadata: { name, namespace }, spec };
}

export const describeEvent = (e: StoreEvent): string =>
  e.target === 'resource'
    ? `${e.type} ${e.key.kind}/${e.key.namespace}/${e.key.name}@${e.revision}`
    : `${e.type} endpoint ${e.service}/${e.id}@${e.revision}`;

/** Collects the events of one watch; `waitFor` resolves once the collected events satisfy a predicate. */
export class EventCollector {
  readonly events: StoreEvent[] = [];
  readonly errors: StoreError[] = [];
  readonly handle: WatchHandle;
  private waiters: (() => void)[] = [];

  constructor(store: Store, fromRevision: number) {
    this.handle = store.watch(
      fromRevision,
      (e) => {
        this.events.push(e);
        this.wake();
      },
      (err) => {
        this.errors.push(err);
        this.wake();
      },
    );
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  async waitFor(what: string, done: (events: StoreEvent[]) => boolean, timeoutMs = EVENT_TIMEOUT_MS): Promise<StoreEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; got [${this.events.map(describeEvent).join(', ')}]`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events;
  }

  /** Wait until `n` events have arrived. */
  count(n: number, timeoutMs?: number): Promise<StoreEvent[]> {
    return this.waitFor(`${n} events`, (es) => es.length >= n, timeoutMs);
  }

  close(): void {
    this.handle.close();
  }
}

/** Register the shared store tests under `describe(name)`. */
export function runStoreConformance(name: string, factory: StoreFactory): void {
  describe(`${name}: store conformance`, () => {
    const fixtures: StoreFixture[] = [];
    const open = async (): Promise<Store> => {
      const f = await factory();
      fixtures.push(f);
      return f.store;
    };
    after(async () => {
      for (const f of fixtures) await f.cleanup();
    });

    test('apply, get, list and delete resources', async () => {
      const store = await open();
      assert.equal(await store.get('Service', 'default', 'web'), undefined);
      const web = resource('Service', 'web', { ports: [{ port: 80 }] });
      const api = resource('Service', 'api', { ports: [{ port: 8080 }] }, 'other');
      const route = resource('Route', 'web', { rules: [] });
      const applied = await store.apply([web, api, route]);
      assert.equal(applied.changed.length, 3);
      assert.ok(applied.revision > 0);
      assert.deepEqual(await store.get('Service', 'default', 'web'), web);
      assert.deepEqual(await store.get('Service', 'other', 'api'), api);

      const all = await store.list();
      assert.equal(all.revision, applied.revision);
      assert.deepEqual(all.items, [route, web, api].sort((a, b) => `${a.kind}/${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.kind}/${b.metadata.namespace}/${b.metadata.name}`)));
      assert.deepEqual((await store.list('Service')).items, [web, api]);
      assert.deepEqual((await store.list('Service', 'other')).items, [api]);
      assert.deepEqual((await store.list('TrafficPolicy')).items, []);

      const del = await store.delete('Service', 'default', 'web');
      assert.deepEqual(del.deleted, [{ kind: 'Service', namespace: 'default', name: 'web' }]);
      assert.ok(del.revision > applied.revision);
      assert.equal(await store.get('Service', 'default', 'web'), undefined);
      const again = await store.delete('Service', 'default', 'web');
      assert.deepEqual(again.deleted, []);
      assert.equal(await store.revision(), del.revision);
    });

    test('apply replaces a resource; an unchanged apply changes nothing', async () => {
      const store = await open();
      const first = await store.apply([resource('Service', 'web', { v: 1 })]);
      const same = await store.apply([resource('Service', 'web', { v: 1 })]);
      assert.deepEqual(same.changed, []);
      assert.equal(same.revision, first.revision);
      const next = await store.apply([resource('Service', 'web', { v: 2 }), resource('Service', 'db', {})]);
      assert.deepEqual(next.changed, [
        { kind: 'Service', namespace: 'default', name: 'web' },
        { kind: 'Service', namespace: 'default', name: 'db' },
      ]);
      assert.ok(next.revision > first.revision);
      assert.deepEqual((await store.get('Service', 'default', 'web'))?.spec, { v: 2 });
    });

    test('a batch with a duplicate key is rejected whole: nothing stored, revision unchanged', async () => {
      const store = await open();
      const before = await store.apply([resource('Service', 'keep', {})]);
      await assert.rejects(
        store.apply([resource('Service', 'a', { v: 1 }), resource('Route', 'b', {}), resource('Service', 'a', { v: 2 })]),
        (err: unknown) => err instanceof StoreError && err.code === 'STRATA_STORE_INVALID' && /\[2\].*duplicate of \[0\]/.test(err.message),
      );
      await assert.rejects(store.apply([resource('Service', 'ok', {}), resource('Service', 'bad/name', {})]), (err: unknown) =>
        err instanceof StoreError && err.code === 'STRATA_STORE_INVALID' && err.errors[0]?.path === '[1].metadata.name',
      );
      assert.equal(await store.get('Service', 'default', 'a'), undefined);
      assert.equal(await store.get('Route', 'default', 'b'), undefined);
      assert.equal(await store.get('Service', 'default', 'ok'), undefined);
      assert.equal(await store.revision(), before.revision);
    });

    test('the revision increases with every change and is shared by one batch', async () => {
      const store = await open();
      const r0 = await store.revision();
      const a = await store.apply([resource('Service', 'a', {}), resource('Service', 'b', {})]);
      const b = await store.apply([resource('Service', 'a', { v: 2 })]);
      const c = await store.deleteMany([
        { kind: 'Service', namespace: 'default', name: 'a' },
        { kind: 'Service', namespace: 'default', name: 'b' },
        { kind: 'Service', namespace: 'default', name: 'missing' },
      ]);
      assert.ok(r0 < a.revision && a.revision < b.revision && b.revision < c.revision, `${r0} < ${a.revision} < ${b.revision} < ${c.revision}`);
      assert.equal(c.deleted.length, 2);
      assert.equal(await store.revision(), c.revision);
      assert.deepEqual((await store.list('Service')).items, []);
    });

    test('watch replays the changes after a revision, then delivers live changes in order', async () => {
      const store = await open();
      const r1 = await store.apply([resource('Service', 'a', { v: 1 })]);
      const r2 = await store.apply([resource('Service', 'b', {}), resource('Route', 'r', {})]);
      const r3 = await store.delete('Service', 'default', 'a');
      const w = new EventCollector(store, r1.revision);
      try {
        await w.count(3);
        const live = await store.apply([resource('Service', 'c', { v: 3 })]);
        const live2 = await store.delete('Service', 'default', 'b');
        const events = await w.count(5);
        assert.deepEqual(
          events.map((e) => [e.type, e.target === 'resource' ? e.key.name : e.id, e.revision]),
          [
            ['put', 'b', r2.revision],
            ['put', 'r', r2.revision],
            ['delete', 'a', r3.revision],
            ['put', 'c', live.revision],
            ['delete', 'b', live2.revision],
          ],
        );
        const put = events[3];
        assert.ok(put?.target === 'resource' && put.type === 'put');
        assert.deepEqual(put.resource, resource('Service', 'c', { v: 3 }));
        assert.deepEqual(w.errors, []);
      } finally {
        w.close();
      }
    });

    test('a watch from the current revision sees only later changes; a closed watch sees nothing more', async () => {
      const store = await open();
      await store.apply([resource('Service', 'old', {})]);
      const from = await store.revision();
      const closed = new EventCollector(store, from);
      const open_ = new EventCollector(store, from);
      try {
        const first = await store.apply([resource('Service', 'one', {})]);
        await closed.count(1);
        closed.close();
        await store.apply([resource('Service', 'two', {})]);
        await store.apply([resource('Service', 'three', {})]);
        const events = await open_.count(3);
        assert.deepEqual(events.map((e) => (e.target === 'resource' ? e.key.name : e.id)), ['one', 'two', 'three']);
        assert.equal(events[0]?.revision, first.revision);
        assert.deepEqual(closed.events.map(describeEvent), [describeEvent(events[0] as StoreEvent)]);
      } finally {
        closed.close();
        open_.close();
      }
    });

    test('endpoint registrations: register, list, heartbeat, deregister, with watch events', async () => {
      const store = await open();
      const from = await store.revision();
      const w = new EventCollector(store, from);
      try {
        const id = await store.register({ service: 'web', address: '10.0.0.1', port: 8080, metadata: { zone: 'a' } }, 30_000);
        const id2 = await store.register({ service: 'db', address: '10.0.0.2', port: 5432 }, 30_000);
        assert.notEqual(id, id2);
        const web = await store.listEndpoints('web');
        assert.equal(web.items.length, 1);
        assert.deepEqual(web.items[0], { service: 'web', address: '10.0.0.1', port: 8080, metadata: { zone: 'a' }, id, ttlMs: 30_000 });
        assert.equal((await store.listEndpoints()).items.length, 2);
        await store.heartbeat(id);
        await store.deregister(id);
        assert.deepEqual((await store.listEndpoints('web')).items, []);
        await assert.rejects(store.heartbeat(id), (err: unknown) => err instanceof StoreError && err.code === 'STRATA_STORE_NOT_FOUND');
        const events = await w.count(3);
        assert.deepEqual(events.map((e) => [e.target, e.type, e.target === 'endpoint' ? e.service : '', e.target === 'endpoint' ? e.id : '']), [
          ['endpoint', 'put', 'web', id],
          ['endpoint', 'put', 'db', id2],
          ['endpoint', 'delete', 'web', id],
        ]);
        await assert.rejects(store.register({ service: 'web', address: '', port: 0 }, 1000), (err: unknown) =>
          err instanceof StoreError && err.code === 'STRATA_STORE_INVALID',
        );
      } finally {
        w.close();
      }
    });

    test('a registration without heartbeats expires with a delete event', async () => {
      const store = await open();
      const from = await store.revision();
      const w = new EventCollector(store, from);
      try {
        const id = await store.register({ service: 'web', address: '10.0.0.9', port: 80 }, 1000);
        const events = await w.waitFor('the expiry delete event', (es) => es.some((e) => e.target === 'endpoint' && e.type === 'delete' && e.id === id));
        assert.deepEqual(events.map((e) => `${e.target} ${e.type}`), ['endpoint put', 'endpoint delete']);
        assert.deepEqual((await store.listEndpoints('web')).items, []);
        await assert.rejects(store.heartbeat(id), (err: unknown) => err instanceof StoreError && err.code === 'STRATA_STORE_NOT_FOUND');
      } finally {
        w.close();
      }
    });

    test('heartbeats keep a registration alive past its TTL', async () => {
      const store = await open();
      const ttl = 2000;
      const id = await store.register({ service: 'web', address: '10.0.0.7', port: 80 }, ttl);
      const until = Date.now() + ttl * 2.5;
      while (Date.now() < until) {
        await store.heartbeat(id);
        await new Promise((r) => setTimeout(r, ttl / 5));
      }
      assert.deepEqual((await store.listEndpoints('web')).items.map((e) => e.id), [id]);
      await store.deregister(id);
    });

    test('close ends the store: calls reject, no more events', async () => {
      const store = await open();
      const w = new EventCollector(store, await store.revision());
      await store.apply([resource('Service', 'a', {})]);
      await w.count(1);
      await store.close();
      await assert.rejects(store.get('Service', 'default', 'a'), (err: unknown) => err instanceof StoreError && err.code === 'STRATA_STORE_CLOSED');
      await assert.rejects(store.apply([resource('Service', 'b', {})]), (err: unknown) => err instanceof StoreError && err.code === 'STRATA_STORE_CLOSED');
      assert.equal((await store.health()).ok, false);
      assert.equal(w.events.length, 1);
      await store.close();
    });

    test('health reports ok with a detail', async () => {
      const store = await open();
      const h = await store.health();
      assert.equal(h.ok, true, h.detail);
      assert.ok(h.detail.length > 0);
    });
  });
}
