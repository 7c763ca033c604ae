import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { decodeResource } from '../../xds/protos.js';
import { AdsServer } from './ads-server.js';
import { SnapshotCache } from './snapshot-cache.js';
import { AdsTestClient } from './test-client.js';
import type { SotwTestStream } from './test-client.js';
import { CDS, EDS, LDS, RDS, clusterSpec, meshResources } from './test-resources.js';
import type { DiscoveryResponse } from './ads-proto.js';

const names = (res: DiscoveryResponse): string[] =>
  res.resources.map((r) => {
    const m = decodeResource(r.type_url, r.value);
    return String(m['name'] ?? m['cluster_name']);
  }).sort();

describe('AdsServer state of the world', { timeout: 30_000 }, () => {
  const cache = new SnapshotCache();
  const server = new AdsServer({ cache, controlPlaneId: 'test' });
  let client: AdsTestClient;
  const streams: SotwTestStream[] = [];

  before(async () => {
    const port = await server.listen('127.0.0.1', 0);
    client = new AdsTestClient(port);
  });
  after(async () => {
    for (const s of streams) s.close();
    client.close();
    await server.close();
  });

  const open = (): SotwTestStream => {
    const s = client.sotw();
    streams.push(s);
    return s;
  };

  it('serves CDS, stays silent on ACK, pushes changes in order, records NACKs, ignores stale nonces', async () => {
    cache.set('node-a', meshResources({ clusters: [clusterSpec('a', [1001]), clusterSpec('b', [1002])], services: { svc: 'a' } }));
    const s = open();
    const node = { id: 'node-a', locality: { zone: 'z1' } };
    s.send({ node, type_url: CDS });
    const cds1 = await s.next();
    assert.equal(cds1.type_url, CDS);
    assert.equal(cds1.version_info, '1');
    assert.deepEqual(names(cds1), ['a', 'b']);
    s.send({ type_url: CDS, version_info: cds1.version_info, response_nonce: cds1.nonce });
    await s.none(400);

    const st = server.status().find((c) => c.nodeId === 'node-a');
    assert.ok(st);
    assert.equal(st.kind, 'sotw');
    assert.deepEqual(st.locality, { zone: 'z1' });
    assert.ok(st.connectedSince instanceof Date);
    assert.equal(st.types.find((t) => t.typeUrl === CDS)?.ackedVersion, '1');

    // Subscribe to the other types; EDS/RDS get only the named resources.
    s.send({ type_url: EDS, resource_names: ['a'] });
    const eds1 = await s.next();
    assert.deepEqual(names(eds1), ['a']);
    s.send({ type_url: EDS, resource_names: ['a'], version_info: eds1.version_info, response_nonce: eds1.nonce });
    s.send({ type_url: LDS });
    const lds1 = await s.next();
    assert.deepEqual(names(lds1), ['svc']);
    s.send({ type_url: LDS, version_info: lds1.version_info, response_nonce: lds1.nonce });
    s.send({ type_url: RDS, resource_names: ['svc-routes'] });
    const rds1 = await s.next();
    assert.deepEqual(names(rds1), ['svc-routes']);
    s.send({ type_url: RDS, resource_names: ['svc-routes'], version_info: rds1.version_info, response_nonce: rds1.nonce });
    await s.none(300);

    // Change every type: pushed CDS → EDS → LDS → RDS; the deleted cluster is omitted.
    cache.set('node-a', meshResources({ clusters: [clusterSpec('a', [1001, 1003]), clusterSpec('c', [1004])], services: { svc: 'c', svc2: 'a' } }));
    const pushed = [await s.next(), await s.next(), await s.next(), await s.next()];
    assert.deepEqual(pushed.map((r) => r.type_url), [CDS, EDS, LDS, RDS]);
    const [cds2] = pushed as [DiscoveryResponse];
    assert.equal(cds2.version_info, '2');
    assert.deepEqual(names(cds2), ['a', 'c']);
    assert.deepEqual(names(pushed[2]!), ['svc', 'svc2']);
    assert.deepEqual(names(pushed[3]!), ['svc-routes']);

    // NACK: recorded in status, nothing resent, the ACKed version stays.
    s.send({ type_url: CDS, version_info: '1', response_nonce: cds2.nonce, error_detail: { code: 3, message: 'cluster c: bad lb_policy' } });
    await s.none(400);
    const afterNack = server.status().find((c) => c.nodeId === 'node-a');
    assert.equal(afterNack?.lastNack?.reason, 'cluster c: bad lb_policy');
    assert.equal(afterNack?.lastNack?.typeUrl, CDS);
    const cdsStatus = afterNack?.types.find((t) => t.typeUrl === CDS);
    assert.equal(cdsStatus?.ackedVersion, '1');
    assert.equal(cdsStatus?.lastNack, 'cluster c: bad lb_policy');

    // Stale nonce: even a subscription change under an old nonce is ignored.
    s.send({ type_url: EDS, resource_names: ['a', 'c'], response_nonce: eds1.nonce });
    await s.none(400);

    // ACK of the new version clears the type's NACK.
    s.send({ type_url: CDS, version_info: cds2.version_info, response_nonce: cds2.nonce });
    await s.none(300);
    const acked = server.status().find((c) => c.nodeId === 'node-a')?.types.find((t) => t.typeUrl === CDS);
    assert.equal(acked?.ackedVersion, '2');
    assert.equal(acked?.lastNack, undefined);

    // An unchanged set() pushes nothing.
    cache.set('node-a', meshResources({ clusters: [clusterSpec('a', [1001, 1003]), clusterSpec('c', [1004])], services: { svc: 'c', svc2: 'a' } }));
    await s.none(300);
  });

  it('ends only the bad stream on garbage; a good stream keeps being served', async () => {
    cache.set('node-g', meshResources({ clusters: [clusterSpec('g', [2001])] }));
    const good = open();
    good.send({ node: { id: 'node-g', locality: {} }, type_url: CDS });
    const first = await good.next();
    good.send({ type_url: CDS, version_info: first.version_info, response_nonce: first.nonce });

    const badType = open();
    badType.send({ node: { id: 'node-bad', locality: {} }, type_url: 'type.googleapis.com/not.a.Type' });
    const noNode = open();
    noNode.send({ type_url: CDS });
    const raw = client.raw();
    raw.send(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));

    const [s1, s2, s3] = await Promise.all([badType.ended, noNode.ended, raw.ended]);
    assert.equal(s1.code, GrpcStatus.INVALID_ARGUMENT);
    assert.match(s1.details, /unsupported type_url "type.googleapis.com\/not.a.Type"/);
    assert.equal(s2.code, GrpcStatus.INVALID_ARGUMENT);
    assert.match(s2.details, /node/);
    assert.notEqual(s3.code, GrpcStatus.OK);
    raw.close();

    cache.set('node-g', meshResources({ clusters: [clusterSpec('g', [2001]), clusterSpec('h', [2002])] }));
    const pushed = await good.next();
    assert.deepEqual(names(pushed), ['g', 'h']);
    assert.ok(server.status().some((c) => c.nodeId === 'node-g'));
    assert.ok(!server.status().some((c) => c.nodeId === 'node-bad'));
  });
});
