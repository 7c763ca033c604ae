// A real, unmodified proxyless gRPC client (@grpc/grpc-js-xds) against the ADS server.
// Its own file: grpc-js-xds keeps process-wide state (bootstrap, xDS client, registered resolver).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AdsServer } from './ads-server.js';
import { SnapshotCache } from './snapshot-cache.js';
import { grpcBootstrap } from '../bootstrap.js';
import type { GrpcBootstrap } from '../bootstrap.js';
import { call, echoServer, eventually } from './test-grpc-echo.js';
import { CDS, EDS, LDS, RDS, clusterSpec, meshResources } from './test-resources.js';

describe('proxyless gRPC client (@grpc/grpc-js-xds)', { timeout: 60_000 }, () => {
  const NODE_ID = 'proxyless-test';
  const cache = new SnapshotCache();
  const ads = new AdsServer({ cache });
  const echo: { port: number; server: grpc.Server }[] = [];
  let dir = '';
  let client: grpc.Client | undefined;

  const bootstrapFor = (adsPort: number): GrpcBootstrap => {
    // The same bootstrap `strata bootstrap grpc` prints.
    const b = grpcBootstrap({ service: 'echo-client', servers: [`127.0.0.1:${adsPort}`], nodeId: NODE_ID });
    assert.ok(b.ok);
    return b.value;
  };

  before(async () => {
    echo.push(await echoServer('e1'), await echoServer('e2'));
    const adsPort = await ads.listen('127.0.0.1', 0);
    dir = mkdtempSync(join(tmpdir(), 'strata-xds-'));
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(
      bootstrap,
      JSON.stringify(bootstrapFor(adsPort)),
    );
    process.env['GRPC_XDS_BOOTSTRAP'] = bootstrap;
    const xds = await import('@grpc/grpc-js-xds');
    xds.register();
  });

  after(async () => {
    client?.close();
    for (const e of echo) e.server.forceShutdown();
    await ads.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('dials xds:///echo, balances over both endpoints, follows endpoint and route changes', async () => {
    const [e1, e2] = echo as [(typeof echo)[0], (typeof echo)[0]];
    cache.set(NODE_ID, meshResources({ clusters: [clusterSpec('echo', [e1.port, e2.port])], services: { echo: 'echo' } }));
    client = new grpc.Client('xds:///echo', grpc.credentials.createInsecure());

    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(await call(client, 15_000));
    assert.deepEqual([...seen].sort(), ['e1', 'e2']);

    const st = ads.status().find((c) => c.nodeId === NODE_ID);
    assert.ok(st, 'client listed in status()');
    assert.equal(st.kind, 'sotw');
    assert.equal(st.lastNack, undefined, `NACK: ${st.lastNack?.reason}`);
    for (const t of [LDS, RDS, CDS, EDS]) assert.ok(st.types.find((s) => s.typeUrl === t)?.ackedVersion, `ACKed ${t}`);

    // Endpoint change: only e1 left.
    cache.set(NODE_ID, meshResources({ clusters: [clusterSpec('echo', [e1.port])], services: { echo: 'echo' } }));
    await eventually('calls follow the endpoint change', async () => {
      const answers = await Promise.all(Array.from({ length: 10 }, () => call(client!)));
      return answers.every((a) => a === 'e1');
    });
    for (let i = 0; i < 10; i++) assert.equal(await call(client), 'e1');

    // Route change: the route now goes to a new cluster whose only endpoint is e2.
    cache.set(NODE_ID, meshResources({ clusters: [clusterSpec('echo', [e1.port]), clusterSpec('echo-b', [e2.port])], services: { echo: 'echo-b' } }));
    await eventually('calls follow the route change', async () => {
      const answers = await Promise.all(Array.from({ length: 10 }, () => call(client!)));
      return answers.every((a) => a === 'e2');
    });
    assert.equal(ads.status().find((c) => c.nodeId === NODE_ID)?.lastNack, undefined);
  });
});
