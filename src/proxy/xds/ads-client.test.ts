// The sidecar's ADS client against a real control plane (REST API → store → xDS) and against
// a hand-fed ADS server that serves an invalid Cluster.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { compileSnapshot } from '../../config/compile.js';
import { decodeResources } from '../../config/decode.js';
import type { ClusterSpec, Snapshot } from '../../config/snapshot.js';
import { ApiClient } from '../../control/api/client.js';
import { ControlPlane } from '../../control/control-plane.js';
import { SqliteStore } from '../../control/store/sqlite-store.js';
import { AdsServer } from '../../control/xds/ads-server.js';
import { SnapshotCache, resourceSet } from '../../control/xds/snapshot-cache.js';
import { CDS, EDS, LDS, RDS, clusterSpec, hostsFor } from '../../control/xds/test-resources.js';
import { CLUSTER_TYPE_URL, pack } from '../../xds/protos.js';
import { apiListenerToXds, clusterToXds, endpointsToXds, routesToXds } from '../../xds/to-xds.js';
import { priorityListenerToXds } from '../../xds/priority-xds.js';
import type { MeshPrioritySpec } from '../../xds/priority-xds.js';
import { Sidecar } from '../sidecar.js';
import { AdsClient } from './ads-client.js';
import type { XdsConfig } from './ads-client.js';
import { mergeSnapshot } from './merge.js';
import { freePort } from '../../util/free-port.js';

const LONG = 20_000;

async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = LONG): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out: ${what}`);
}


async function upstream(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => res.end(`${name} ${req.url ?? ''}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return { server, port: typeof a === 'object' && a ? a.port : 0 };
}

/** The sidecar's own file part: a Sidecar with one local port for `service`. */
function localSnapshot(service: string, port: number): Snapshot {
  const text = ['apiVersion: strata.dev/v1alpha1', 'kind: Sidecar', 'metadata: { name: client }', 'spec:', '  service: client'].join('\n');
  const res = decodeResources(text, 'sidecar.yaml');
  assert.ok(res.ok, JSON.stringify(res));
  const snap = compileSnapshot(res.value, 'sidecar.yaml');
  assert.ok(snap.ok, JSON.stringify(snap));
  return { ...snap.value, sidecar: { ...snap.value.sidecar, localPorts: [{ port, address: '127.0.0.1', service, protocol: 'http' }] } };
}

const serviceYaml = (name: string, port: number): string =>
  ['apiVersion: strata.dev/v1alpha1', 'kind: Service', `metadata: { name: ${name} }`, 'spec:', '  protocol: http', '  endpoints:', `    - { address: 127.0.0.1, port: ${port} }`].join('\n');

const routeYaml = (prefix: string, to: string): string =>
  [
    'apiVersion: strata.dev/v1alpha1',
    'kind: Route',
    'metadata: { name: orders }',
    'spec:',
    '  service: orders',
    '  rules:',
    '    - name: r',
    `      match: { path: { prefix: ${prefix} } }`,
    `      backends: [ { service: ${to} } ]`,
  ].join('\n');

async function get(port: number, path: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return `${res.status} ${await res.text()}`;
}

describe('sidecar ADS client against strata control', { timeout: 120_000 }, () => {
  let dir = '';
  let store: SqliteStore | undefined;
  let cp: ControlPlane | undefined;
  let xdsPort = 0;
  let api: ApiClient;
  let client: AdsClient | undefined;
  let sidecar: Sidecar | undefined;
  const ups: { server: Server; port: number }[] = [];
  const updates: XdsConfig[] = [];
  let local: Snapshot;
  let localPort = 0;

  const latest = (): XdsConfig | undefined => updates[updates.length - 1];

  before(async () => {
    ups.push(await upstream('v1'), await upstream('v2'));
    dir = mkdtempSync(join(tmpdir(), 'strata-xds-client-'));
    store = new SqliteStore({ dir: join(dir, 'data') });
    cp = new ControlPlane({ store, apiPort: 0, xdsPort: 0, debounceMs: 10 });
    const ports = await cp.start();
    xdsPort = ports.xds;
    api = new ApiClient(`http://127.0.0.1:${ports.api}`);
    localPort = await freePort();
    local = localSnapshot('orders', localPort);
  });

  after(async () => {
    client?.stop();
    sidecar?.destroy();
    await cp?.close();
    await store?.close();
    for (const u of ups) u.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('delivers the applied services and routes; the merged snapshot runs a sidecar', async () => {
    const [v1, v2] = ups as [(typeof ups)[0], (typeof ups)[0]];
    await api.applyText([serviceYaml('orders', v1.port), serviceYaml('orders-v2', v2.port), routeYaml('/', 'orders')].join('\n---\n'), 'mesh.yaml');
    client = new AdsClient({
      servers: [`127.0.0.1:${xdsPort}`],
      nodeId: 'sidecar-test',
      metadata: { service: 'client' },
      initialBackoffMs: 50,
      maxBackoffMs: 500,
      onUpdate: (c) => updates.push(c),
    });
    client.start();
    await eventually('a config with both services', () => (latest()?.clusters.length ?? 0) === 2);
    const cfg = latest()!;
    assert.deepEqual(cfg.clusters.map((c) => c.name), ['orders', 'orders-v2']);
    assert.deepEqual(cfg.clusters.find((c) => c.name === 'orders')?.endpoints.map((e) => e.port), [v1.port]);
    assert.ok(cfg.virtualHosts.some((h) => h.name === 'orders'), JSON.stringify(cfg.virtualHosts));

    const snap = mergeSnapshot(local, cfg);
    assert.equal(snap.version, mergeSnapshot(local, cfg).version, 'version is a content hash');
    sidecar = new Sidecar(snap);
    await sidecar.start();
    assert.equal(await get(localPort, '/a'), '200 v1 /a');

    const st = cp!.ads.status().find((c) => c.nodeId === 'sidecar-test');
    assert.ok(st);
    assert.equal(st.lastNack, undefined);
    await eventually('every type ACKed', () => {
      const s = cp!.ads.status().find((c) => c.nodeId === 'sidecar-test');
      return [CDS, EDS, LDS, RDS].every((t) => (s?.types.find((x) => x.typeUrl === t)?.ackedVersion ?? '') !== '');
    });
  });

  it('follows a route change', async () => {
    const before = updates.length;
    await api.applyText(routeYaml('/', 'orders-v2'), 'route.yaml');
    await eventually('an update', () => updates.length > before);
    const next = mergeSnapshot(local, latest()!);
    const r = await sidecar!.apply(next);
    assert.deepEqual(r, { ok: true });
    assert.equal(await get(localPort, '/b'), '200 v2 /b');
  });

  it('keeps the last config while the control plane is away and reconnects to a new one', async () => {
    const count = updates.length;
    const kept = latest();
    await cp!.close();
    await eventually('the client notices', () => !client!.status().connected);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(updates.length, count, 'no update while away');
    assert.deepEqual(latest(), kept);
    assert.equal(client!.status().ready, true);

    cp = new ControlPlane({ store: store!, apiPort: 0, xdsPort, debounceMs: 10 });
    const ports = await cp.start();
    api = new ApiClient(`http://127.0.0.1:${ports.api}`);
    await eventually('reconnected', () => client!.status().connected && cp!.ads.status().some((c) => c.nodeId === 'sidecar-test'));
    assert.equal(updates.length, count, 'same content after reconnecting: no update');
    await api.applyText(routeYaml('/', 'orders'), 'route.yaml');
    await eventually('an update from the new control plane', () => updates.length > count);
    const action = latest()?.virtualHosts.find((h) => h.name === 'orders')?.routes[0]?.action;
    assert.ok(action?.kind === 'forward');
    assert.deepEqual(action.backends.map((b) => b.cluster), ['orders']);
    assert.deepEqual(await sidecar!.apply(mergeSnapshot(local, latest()!)), { ok: true });
    assert.equal(await get(localPort, '/c'), '200 v1 /c');
  });
});

describe('sidecar ADS client: an invalid resource is NACKed', { timeout: 60_000 }, () => {
  const cache = new SnapshotCache({ groupOf: () => 'g' });
  const server = new AdsServer({ cache });
  let client: AdsClient | undefined;

  after(async () => {
    client?.stop();
    await server.close();
  });

  it('NACKs with the field path and keeps the previous config', async () => {
    const good = clusterSpec('pay', [8081]);
    cache.set(
      'g',
      resourceSet([
        [CDS, [{ name: 'pay', any: pack(CDS, clusterToXds(good)) }]],
        [EDS, [{ name: 'pay', any: pack(EDS, endpointsToXds(good)) }]],
        [LDS, []],
        [RDS, []],
      ]),
    );
    const port = await server.listen('127.0.0.1', 0);
    const updates: XdsConfig[] = [];
    const nacks: string[] = [];
    const dead = await freePort();
    client = new AdsClient({
      servers: [`127.0.0.1:${dead}`, `127.0.0.1:${port}`],
      nodeId: 'nack-test',
      initialBackoffMs: 50,
      maxBackoffMs: 200,
      onUpdate: (c) => updates.push(c),
      onNack: (_t, m) => nacks.push(m),
    });
    client.start();
    await eventually('first config (after trying the dead server first)', () => updates.length === 1);
    assert.deepEqual(updates[0]?.clusters.map((c) => c.name), ['pay']);

    const bad = { ...clusterToXds(good), type: 'STATIC' };
    delete (bad as Record<string, unknown>)['eds_cluster_config'];
    cache.set('g', resourceSet([[CDS, [{ name: 'pay', any: pack(CLUSTER_TYPE_URL, bad) }]]]));
    await eventually('NACK seen by the server', () => {
      const st = server.status().find((c) => c.nodeId === 'nack-test');
      return st?.lastNack?.typeUrl === CDS;
    });
    const st = server.status().find((c) => c.nodeId === 'nack-test')!;
    assert.match(st.lastNack!.reason, /pay\.type: unsupported discovery type STATIC/);
    const cdsStatus = st.types.find((t) => t.typeUrl === CDS)!;
    assert.notEqual(cdsStatus.ackedVersion, cdsStatus.sentVersion, 'the bad version is not ACKed');
    assert.equal(client.status().versions[CDS], cdsStatus.ackedVersion);
    assert.ok(nacks.length >= 1);
    assert.equal(client.status().lastNack?.typeUrl, CDS);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(updates.length, 1, 'previous config kept');

    // A fixed resource is ACKed and delivered.
    cache.set('g', resourceSet([[CDS, [{ name: 'pay', any: pack(CDS, clusterToXds({ ...good, localityPreference: true })) }]]]));
    await eventually('fixed config delivered', () => updates.length === 2);
    await eventually('ACKed', () => {
      const s = server.status().find((c) => c.nodeId === 'nack-test');
      const t = s?.types.find((x) => x.typeUrl === CDS);
      return t !== undefined && t.ackedVersion === t.sentVersion && t.lastNack === undefined;
    });
  });
});

describe('sidecar ADS client: partial EDS/RDS responses', { timeout: 60_000 }, () => {
  const cache = new SnapshotCache({ groupOf: () => 'g' });
  const server = new AdsServer({ cache });
  let client: AdsClient | undefined;

  after(async () => {
    client?.stop();
    await server.close();
  });

  const ports = (cfg: XdsConfig | undefined): Record<string, number[]> =>
    Object.fromEntries((cfg?.clusters ?? []).map((c) => [c.name, c.endpoints.map((e) => e.port)]));

  it('merges EDS/RDS responses by name and forgets names that leave the subscription', async () => {
    const set = (clusters: ClusterSpec[], eds: ClusterSpec[], route: string): void => {
      cache.set(
        'g',
        resourceSet([
          [CDS, clusters.map((c) => ({ name: c.name, any: pack(CDS, clusterToXds(c)) }))],
          [EDS, eds.map((c) => ({ name: c.name, any: pack(EDS, endpointsToXds(c)) }))],
          [LDS, [{ name: 'svc', any: pack(LDS, apiListenerToXds('svc', 'svc-routes')) }]],
          [RDS, [{ name: 'svc-routes', any: pack(RDS, routesToXds('svc-routes', hostsFor('svc', route))) }]],
        ]),
      );
    };
    const pay = clusterSpec('pay', [8081]);
    const ship = clusterSpec('ship', [8082]);
    set([pay, ship], [pay, ship], 'pay');
    const port = await server.listen('127.0.0.1', 0);
    const updates: XdsConfig[] = [];
    client = new AdsClient({ servers: [`127.0.0.1:${port}`], nodeId: 'merge-test', initialBackoffMs: 50, onUpdate: (c) => updates.push(c) });
    client.start();
    const latest = (): XdsConfig | undefined => updates[updates.length - 1];
    await eventually('first config', () => latest()?.clusters.length === 2 && latest()?.virtualHosts.length === 1);
    assert.deepEqual(ports(latest()), { pay: [8081], ship: [8082] });

    // The server sends the changed ClusterLoadAssignment alone; the other one stays.
    const ship2 = clusterSpec('ship', [8082, 8083]);
    set([pay, ship2], [pay, ship2], 'pay');
    await eventually('endpoint update', () => ports(latest())['ship']?.length === 2);
    assert.deepEqual(ports(latest()), { pay: [8081], ship: [8082, 8083] });
    const routeTo = (cfg: XdsConfig | undefined): string[] => {
      const a = cfg?.virtualHosts[0]?.routes[0]?.action;
      return a?.kind === 'forward' ? a.backends.map((b) => b.cluster) : [];
    };
    set([pay, ship2], [pay, ship2], 'ship');
    await eventually('route update', () => routeTo(latest())[0] === 'ship');
    assert.deepEqual(ports(latest()), { pay: [8081], ship: [8082, 8083] });

    // ship leaves CDS: its endpoints are forgotten. When it comes back without a
    // ClusterLoadAssignment, the stale one must not complete the configuration.
    set([pay], [pay], 'pay');
    await eventually('ship removed', () => latest()?.clusters.length === 1);
    const count = updates.length;
    set([pay, ship2], [pay], 'pay');
    await eventually('EDS resubscribed with ship', () => {
      const st = server.status().find((c) => c.nodeId === 'merge-test');
      const eds = st?.types.find((t) => t.typeUrl === EDS);
      return eds !== undefined && eds.subscribed.includes('ship') && eds.ackedVersion === eds.sentVersion;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(updates.length, count, 'no configuration without ship endpoints');
    set([pay, ship], [pay, ship], 'pay');
    await eventually('ship back with its endpoints', () => latest()?.clusters.length === 2);
    assert.deepEqual(ports(latest()), { pay: [8081], ship: [8082] });
  });
});

describe('sidecar ADS client: priority from strata.priority', { timeout: 60_000 }, () => {
  const cache = new SnapshotCache({ groupOf: () => 'g' });
  const server = new AdsServer({ cache });
  let client: AdsClient | undefined;

  after(async () => {
    client?.stop();
    await server.close();
  });

  const gold = (congestion: string): MeshPrioritySpec => ({
    classes: [{ name: 'gold', rank: 400, congestion, minShare: 0, maxShare: 1, shedOrder: 400 }, { name: 'default', rank: 200, minShare: 0, maxShare: 1, shedOrder: 200 }],
    defaultClass: 'default',
    rules: [{ name: 'p/r', match: { path: { prefix: '/checkout' } }, class: 'gold', trustIncoming: false }],
  });

  it('delivers the mesh priority beside the routes; a class this machine lacks is NACKed, the previous one stays', async () => {
    const pay = clusterSpec('pay', [8081]);
    const set = (priority: MeshPrioritySpec | undefined): void => {
      cache.set(
        'g',
        resourceSet([
          [CDS, [{ name: 'pay', any: pack(CDS, clusterToXds(pay)) }]],
          [EDS, [{ name: 'pay', any: pack(EDS, endpointsToXds(pay)) }]],
          [
            LDS,
            [
              { name: 'pay', any: pack(LDS, apiListenerToXds('pay', 'pay-routes')) },
              ...(priority ? [{ name: 'strata.priority', any: pack(LDS, priorityListenerToXds(priority)) }] : []),
            ],
          ],
          [RDS, [{ name: 'pay-routes', any: pack(RDS, routesToXds('pay-routes', hostsFor('pay', 'pay'))) }]],
        ]),
      );
    };
    set(gold('reno'));
    const port = await server.listen('127.0.0.1', 0);
    const updates: XdsConfig[] = [];
    client = new AdsClient({
      servers: [`127.0.0.1:${port}`],
      nodeId: 'priority-test',
      initialBackoffMs: 50,
      classChecks: { available: ['reno', 'cubic'], netAdmin: true, supported: true },
      onUpdate: (c) => updates.push(c),
    });
    client.start();
    await eventually('first config', () => updates.length === 1);
    assert.deepEqual(updates[0]?.priority, gold('reno'));
    assert.deepEqual(updates[0]?.virtualHosts.map((h) => h.name), ['pay'], 'strata.priority names no route configuration');

    set(gold('vegas'));
    await eventually('NACK seen by the server', () => server.status().find((c) => c.nodeId === 'priority-test')?.lastNack?.typeUrl === LDS);
    assert.match(
      server.status().find((c) => c.nodeId === 'priority-test')!.lastNack!.reason,
      /^strata\.priority\.api_listener\.api_listener\.value\.classes\[0\]\.congestion: TCP congestion control 'vegas' is not available/,
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(updates.length, 1, 'previous config kept');

    set(gold('cubic'));
    await eventually('fixed priority delivered', () => updates.length === 2);
    assert.equal(updates[1]?.priority?.classes[0]?.congestion, 'cubic');
    set(undefined);
    await eventually('priority removed', () => updates.length === 3);
    assert.equal(updates[2]?.priority, undefined);
  });
});
