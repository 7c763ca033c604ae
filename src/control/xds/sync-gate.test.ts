import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import { AdsServer } from './ads-server.js';
import { SnapshotCache } from './snapshot-cache.js';
import { SyncGate } from './sync-gate.js';
import { AdsTestClient } from './test-client.js';
import { CDS, clusterSpec, meshResources } from './test-resources.js';

test('SyncGate admits up to its limit, the rest in arrival order as slots free', () => {
  const gate = new SyncGate(2, 60_000);
  const started: number[] = [];
  for (const id of [1, 2, 3, 4]) gate.enter(id, () => started.push(id));
  assert.deepEqual(started, [1, 2]);
  assert.deepEqual(gate.counts(), { active: 2, waiting: 2 });
  gate.leave(4); // gave up waiting
  gate.leave(1);
  assert.deepEqual(started, [1, 2, 3]);
  gate.leave(2);
  gate.leave(3);
  gate.leave(3); // twice is harmless
  assert.deepEqual(gate.counts(), { active: 0, waiting: 0 });
  assert.throws(() => new SyncGate(0, 1), /limit must be at least 1/);
});

test('SyncGate frees a slot held past its timeout', async () => {
  const gate = new SyncGate(1, 20);
  const started: number[] = [];
  gate.enter(1, () => started.push(1));
  const keepAlive = setTimeout(() => undefined, 10_000); // the gate's own timer does not hold the process
  await new Promise<void>((resolve) => gate.enter(2, () => resolve()));
  clearTimeout(keepAlive);
  assert.deepEqual(started, [1]);
  assert.deepEqual(gate.counts(), { active: 1, waiting: 0 });
  gate.leave(2);
});

describe('AdsServer with one sync slot', { timeout: 30_000 }, () => {
  const cache = new SnapshotCache({ groupOf: () => 'all' });
  const server = new AdsServer({ cache, maxConcurrentSyncs: 1 });
  let client: AdsTestClient;

  before(async () => {
    cache.set('all', meshResources({ clusters: [clusterSpec('a', [1001])], services: { svc: 'a' } }));
    client = new AdsTestClient(await server.listen('127.0.0.1', 0));
  });
  after(async () => {
    client.close();
    await server.close();
  });

  it('a second client waits for its initial configuration until the first has ACKed', async () => {
    const a = client.sotw();
    const b = client.sotw();
    try {
      a.send({ node: { id: 'a' }, type_url: CDS });
      const first = await a.next();
      b.send({ node: { id: 'b' }, type_url: CDS });
      await b.none(300); // held: a has not ACKed yet
      a.send({ type_url: CDS, version_info: first.version_info, response_nonce: first.nonce });
      const second = await b.next();
      assert.equal(second.type_url, CDS);
      assert.equal(second.resources.length, 1);
    } finally {
      a.close();
      b.close();
    }
  });

  it('a client that leaves while waiting or syncing frees its place', async () => {
    const a = client.sotw();
    const b = client.sotw();
    const c = client.sotw();
    try {
      a.send({ node: { id: 'a2' }, type_url: CDS });
      await a.next();
      b.send({ node: { id: 'b2' }, type_url: CDS });
      b.close(); // leaves while waiting
      await b.ended;
      c.send({ node: { id: 'c2' }, type_url: CDS });
      await c.none(300);
      a.close(); // leaves while syncing, never ACKed
      await a.ended;
      assert.equal((await c.next()).type_url, CDS);
    } finally {
      c.close();
    }
  });
});
