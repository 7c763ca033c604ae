// The control plane end to end: REST API → store → xDS → an unmodified proxyless gRPC client.
// Its own file: grpc-js-xds keeps process-wide state (bootstrap, xDS client, registered resolver).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ApiClient } from './api/client.js';
import { grpcBootstrap } from './bootstrap.js';
import { ControlPlane } from './control-plane.js';
import { SqliteStore } from './store/sqlite-store.js';
import { call, echoServer, eventually } from './xds/test-grpc-echo.js';
import { CDS, EDS, LDS, RDS } from './xds/test-resources.js';

describe('strata control: store → xDS → proxyless gRPC client', { timeout: 90_000 }, () => {
  const NODE_ID = 'control-plane-test';
  const echo: { port: number; server: grpc.Server }[] = [];
  let dir = '';
  let store: SqliteStore | undefined;
  let cp: ControlPlane | undefined;
  let api: ApiClient;
  let client: grpc.Client | undefined;

  before(async () => {
    echo.push(await echoServer('e1'), await echoServer('e2'));
    dir = mkdtempSync(join(tmpdir(), 'strata-control-'));
    store = new SqliteStore({ dir: join(dir, 'data') });
    cp = new ControlPlane({ store, apiPort: 0, xdsPort: 0, address: '127.0.0.1' });
    const ports = await cp.start();
    api = new ApiClient(`http://127.0.0.1:${ports.api}`);
    const b = grpcBootstrap({ service: 'echo-client', servers: [`127.0.0.1:${ports.xds}`], nodeId: NODE_ID });
    assert.ok(b.ok);
    const bootstrap = join(dir, 'bootstrap.json');
    writeFileSync(bootstrap, JSON.stringify(b.value));
    process.env['GRPC_XDS_BOOTSTRAP'] = bootstrap;
    const xds = await import('@grpc/grpc-js-xds');
    xds.register();
  });

  after(async () => {
    client?.close();
    for (const e of echo) e.server.forceShutdown();
    await cp?.close();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('applies a Service, registers and deregisters an endpoint; the client follows', async () => {
    const [e1, e2] = echo as [(typeof echo)[0], (typeof echo)[0]];
    const applied = await api.applyText(
      [
        'apiVersion: strata.dev/v1alpha1',
        'kind: Service',
        'metadata: { name: echo }',
        'spec:',
        '  protocol: grpc',
        '  endpoints:',
        `    - { address: 127.0.0.1, port: ${e1.port} }`,
      ].join('\n'),
      'echo.yaml',
    );
    assert.equal(applied.results[0]?.status, 'configured');
    const { id } = await api.register({ service: 'echo', address: '127.0.0.1', port: e2.port, ttlMs: 60_000 });

    client = new grpc.Client('xds:///echo', grpc.credentials.createInsecure());
    const seen = new Set<string>();
    await eventually('calls reach both echo servers', async () => {
      seen.add(await call(client!, 15_000));
      return seen.size === 2;
    }, 40_000);
    assert.deepEqual([...seen].sort(), ['e1', 'e2']);

    const st = cp!.ads.status().find((c) => c.nodeId === NODE_ID);
    assert.ok(st, 'client listed in status()');
    assert.equal(st.lastNack, undefined, `NACK: ${st.lastNack?.reason}`);
    for (const t of [LDS, RDS, CDS, EDS]) assert.ok(st.types.find((s) => s.typeUrl === t)?.ackedVersion, `ACKed ${t}`);

    await api.deregister(id);
    await eventually('calls follow the deregistration', async () => {
      const answers = await Promise.all(Array.from({ length: 10 }, () => call(client!)));
      return answers.every((a) => a === 'e1');
    });
    for (let i = 0; i < 10; i++) assert.equal(await call(client), 'e1');
    assert.deepEqual(cp!.lastErrors(), []);
    assert.equal(cp!.ads.status().find((c) => c.nodeId === NODE_ID)?.lastNack, undefined);
  });
});
