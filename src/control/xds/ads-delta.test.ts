import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdsServer } from './ads-server.js';
import { SnapshotCache, resourceVersion } from './snapshot-cache.js';
import { AdsTestClient } from './test-client.js';
import type { DeltaTestStream } from './test-client.js';
import { CDS, EDS, clusterSpec, meshResources } from './test-resources.js';
import type { DeltaDiscoveryResponse } from './ads-proto.js';

const names = (res: DeltaDiscoveryResponse): string[] => res.resources.map((r) => r.name).sort();

describe('AdsServer delta', { timeout: 30_000 }, () => {
  const cache = new SnapshotCache();
  const server = new AdsServer({ cache });
  let client: AdsTestClient;
  const streams: DeltaTestStream[] = [];

  before(async () => {
    const port = await server.listen('127.0.0.1', 0);
    client = new AdsTestClient(port);
  });
  after(async () => {
    for (const s of streams) s.close();
    client.close();
    await server.close();
  });

  const open = (): DeltaTestStream => {
    const s = client.delta();
    streams.push(s);
    return s;
  };

  it('subscribes, ACKs silently, unsubscribes, lists removed resources, records NACKs', async () => {
    cache.set('node-d', meshResources({ clusters: [clusterSpec('a', [1001]), clusterSpec('b', [1002])] }));
    const s = open();
    s.send({ node: { id: 'node-d', locality: { region: 'r1' } }, type_url: CDS });
    const cds1 = await s.next();
    assert.deepEqual(names(cds1), ['a', 'b']);
    assert.deepEqual(cds1.removed_resources ?? [], []);
    for (const r of cds1.resources) assert.equal(r.version, resourceVersion(r.resource));
    s.send({ type_url: CDS, response_nonce: cds1.nonce });
    await s.none(400);
    const st = server.status().find((c) => c.nodeId === 'node-d');
    assert.equal(st?.kind, 'delta');
    assert.deepEqual(st?.locality, { region: 'r1' });
    assert.equal(st?.types.find((t) => t.typeUrl === CDS)?.ackedVersion, cds1.system_version_info);

    // EDS: only what is subscribed.
    s.send({ type_url: EDS, resource_names_subscribe: ['a'] });
    const eds1 = await s.next();
    assert.deepEqual(names(eds1), ['a']);
    s.send({ type_url: EDS, response_nonce: eds1.nonce });
    s.send({ type_url: EDS, resource_names_subscribe: ['b'] });
    const eds2 = await s.next();
    assert.deepEqual(names(eds2), ['b'], 'only the newly subscribed resource');
    s.send({ type_url: EDS, response_nonce: eds2.nonce });

    // Unsubscribe b: changes to b are no longer pushed; a change to a is, alone.
    s.send({ type_url: EDS, resource_names_unsubscribe: ['b'] });
    await s.none(300);
    const b2 = { ...clusterSpec('b', [1002, 1003]), circuitBreaker: { maxConnections: 5, maxPending: 5, maxRequests: 5 } };
    cache.set('node-d', meshResources({ clusters: [clusterSpec('a', [1001]), b2] }));
    const cdsB = await s.next();
    assert.equal(cdsB.type_url, CDS);
    assert.deepEqual(names(cdsB), ['b'], 'only the changed cluster');
    s.send({ type_url: CDS, response_nonce: cdsB.nonce });
    await s.none(300); // b's endpoints changed too, but b is unsubscribed from EDS

    // Deletion: removed_resources on both types the client holds.
    cache.set('node-d', meshResources({ clusters: [b2] }));
    const cds3 = await s.next();
    assert.equal(cds3.type_url, CDS);
    assert.deepEqual(cds3.resources ?? [], []);
    assert.deepEqual(cds3.removed_resources, ['a']);
    const eds3 = await s.next();
    assert.equal(eds3.type_url, EDS);
    assert.deepEqual(eds3.removed_resources, ['a']);

    // NACK: recorded, nothing resent.
    s.send({ type_url: CDS, response_nonce: cds3.nonce, error_detail: { code: 3, message: 'no thanks' } });
    await s.none(300);
    const nacked = server.status().find((c) => c.nodeId === 'node-d');
    assert.equal(nacked?.lastNack?.reason, 'no thanks');
    assert.equal(nacked?.types.find((t) => t.typeUrl === CDS)?.ackedVersion, cdsB.system_version_info);
  });

  it('honours initial_resource_versions on reconnect', async () => {
    const mesh = meshResources({ clusters: [clusterSpec('x', [3001]), clusterSpec('y', [3002]), clusterSpec('z', [3003])] });
    cache.set('node-r', mesh);
    const cds = mesh.get(CDS)!;
    const s = open();
    s.send({
      node: { id: 'node-r', locality: {} },
      type_url: CDS,
      initial_resource_versions: { x: resourceVersion(cds.get('x')!), y: 'outdated', gone: 'v0' },
    });
    const first = await s.next();
    assert.deepEqual(names(first), ['y', 'z']);
    assert.deepEqual(first.removed_resources, ['gone']);
  });
});
