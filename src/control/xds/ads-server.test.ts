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

  it('pushes only the changed EDS/RDS resources; a (re)subscription or a new stream gets every named one', async () => {
    const mesh = (aPorts: number[], bPorts: number[], svc: string, withC = true): ReturnType<typeof meshResources> =>
      meshResources({
        clusters: [clusterSpec('a', aPorts), clusterSpec('b', bPorts), ...(withC ? [clusterSpec('c', [3003])] : [])],
        services: { svc, svc2: 'b' },
      });
    cache.set('node-p', mesh([3001], [3002], 'a'));
    const s = open();
    const ack = (req: { type_url: string; resource_names?: string[] }, res: DiscoveryResponse): void =>
      s.send({ ...req, version_info: res.version_info, response_nonce: res.nonce });
    const sub = async (type_url: string, resource_names?: string[]): Promise<DiscoveryResponse> => {
      const req = { type_url, ...(resource_names && { resource_names }) };
      s.send({ node: { id: 'node-p', locality: {} }, ...req });
      const res = await s.next();
      ack(req, res);
      return res;
    };
    assert.deepEqual(names(await sub(CDS)), ['a', 'b', 'c']);
    assert.deepEqual(names(await sub(EDS, ['a', 'b', 'c'])), ['a', 'b', 'c']);
    assert.deepEqual(names(await sub(LDS)), ['svc', 'svc2']);
    assert.deepEqual(names(await sub(RDS, ['svc-routes', 'svc2-routes'])), ['svc-routes', 'svc2-routes']);
    await s.none(200);

    // One endpoint set changes: one EDS response carrying that ClusterLoadAssignment alone.
    cache.set('node-p', mesh([3001], [3002, 3012], 'a'));
    const eds = await s.next();
    assert.equal(eds.type_url, EDS);
    assert.deepEqual(names(eds), ['b']);
    assert.equal(eds.version_info, cache.get('node-p', EDS).version);
    ack({ type_url: EDS, resource_names: ['a', 'b', 'c'] }, eds);
    await s.none(200);

    // One route changes: only that RouteConfiguration.
    cache.set('node-p', mesh([3001], [3002, 3012], 'c'));
    const rds = await s.next();
    assert.equal(rds.type_url, RDS);
    assert.deepEqual(names(rds), ['svc-routes']);
    ack({ type_url: RDS, resource_names: ['svc-routes', 'svc2-routes'] }, rds);
    await s.none(200);

    // A changed subscription gets every named resource, changed or not.
    s.send({ type_url: EDS, resource_names: ['a', 'b'], version_info: eds.version_info, response_nonce: eds.nonce });
    const resub = await s.next();
    assert.deepEqual(names(resub), ['a', 'b']);
    ack({ type_url: EDS, resource_names: ['a', 'b'] }, resub);
    // A change to a resource no longer subscribed sends nothing; CDS (full state) still carries all.
    cache.set('node-p', mesh([3001], [3002, 3012], 'c', false));
    const cds = await s.next();
    assert.equal(cds.type_url, CDS);
    assert.deepEqual(names(cds), ['a', 'b']);
    ack({ type_url: CDS }, cds);
    await s.none(200);

    // A new stream gets every named resource.
    const s2 = open();
    s2.send({ node: { id: 'node-p', locality: {} }, type_url: EDS, resource_names: ['a', 'b'] });
    const first = await s2.next();
    assert.deepEqual(names(first), ['a', 'b']);
    s2.send({ type_url: EDS, resource_names: ['a', 'b'], version_info: first.version_info, response_nonce: first.nonce });
    // Both streams then hear of the next change, each with the changed resource only.
    cache.set('node-p', mesh([3001, 3011], [3002, 3012], 'c', false));
    assert.deepEqual(names(await s.next()), ['a']);
    assert.deepEqual(names(await s2.next()), ['a']);
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
