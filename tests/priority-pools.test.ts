/**
 * Per-class upstream pools: requests of two classes to one upstream travel on different TCP
 * connections (seen as different remote ports at the upstream); requests of one class reuse
 * their class's keep-alive connection.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePorts, request, startSidecar, startUpstream } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

let up: Upstream;
let sc: SidecarProcess;
let local: number;
let shared: number;
const ports: { cls: string; port: number | undefined }[] = [];

before(async () => {
  up = await startUpstream('api', (req, res) => {
    ports.push({ cls: String(req.headers['x-strata-priority']), port: req.socket.remotePort });
    res.writeHead(200).end('ok');
    return true;
  });
  const [admin, lp, admin2, lp2] = (await freePorts(4)) as [number, number, number, number];
  local = lp;
  shared = lp2;
  const config = (adminPort: number, port: number, pools: string): string => `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: web }
spec:
  service: web
  outbound: { ports: [{ port: ${port}, service: api }] }
  admin: { port: ${adminPort} }
  priority: { pools: ${pools} }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: api }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${up.port} }]
`;
  sc = await startSidecar(config(admin, lp, 'per-class'), admin);
  sidecars.push(await startSidecar(config(admin2, lp2, 'shared'), admin2));
});

const sidecars: SidecarProcess[] = [];

after(async () => {
  await sc?.stop();
  for (const s of sidecars) await s.stop();
  await up?.close();
});

async function send(port: number, cls: string): Promise<number | undefined> {
  const before = ports.length;
  const r = await request({ port, path: '/', headers: { 'x-strata-priority': cls } });
  assert.equal(r.status, 200);
  assert.equal(ports.length, before + 1);
  return ports.at(-1)?.port;
}

test('two classes to one upstream use different connections; one class reuses its own', async () => {
  const bulk1 = await send(local, 'bulk');
  const ls1 = await send(local, 'latency-sensitive');
  const bulk2 = await send(local, 'bulk');
  const ls2 = await send(local, 'latency-sensitive');
  assert.notEqual(bulk1, ls1, 'separate TCP connections per class');
  assert.equal(bulk1, bulk2, 'bulk reuses its keep-alive connection');
  assert.equal(ls1, ls2, 'latency-sensitive reuses its keep-alive connection');
});

test('pools: shared puts every class on one connection', async () => {
  const a = await send(shared, 'bulk');
  const b = await send(shared, 'latency-sensitive');
  assert.equal(a, b);
});

test('sidecar to sidecar (HTTP/2): the class crosses the hop, each class on its own session', async () => {
  const [aAdmin, aLocal, bAdmin, bInbound] = (await freePorts(4)) as [number, number, number, number];
  const b = await startSidecar(
    `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: api }
spec:
  service: api
  inbound: { port: ${bInbound}, address: 127.0.0.1, appPort: ${up.port} }
  admin: { port: ${bAdmin} }
  priority: { inbound: { limit: { static: 50 } } }
`,
    bAdmin,
  );
  sidecars.push(b);
  const a = await startSidecar(
    `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: web }
spec:
  service: web
  outbound: { ports: [{ port: ${aLocal}, service: api }] }
  admin: { port: ${aAdmin} }
  priority: {}
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: api }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${bInbound}, sidecar: true }]
`,
    aAdmin,
  );
  sidecars.push(a);
  const start = ports.length;
  await send(aLocal, 'bulk');
  await send(aLocal, 'latency-sensitive');
  await send(aLocal, 'bulk');
  assert.deepEqual(ports.slice(start).map((p) => p.cls), ['bulk', 'latency-sensitive', 'bulk'], 'the class reached the far app');
  const clusters = JSON.parse((await request({ port: aAdmin, path: '/clusters' })).body) as { name: string; connections: number }[];
  assert.equal(clusters.find((c) => c.name === 'api')?.connections, 2, 'one HTTP/2 session per class');
  const stats = (await request({ port: bAdmin, path: '/stats' })).body;
  assert.match(stats, /strata_priority_admitted_total\{scope="inbound",class="bulk"\} 2/);
  assert.match(stats, /strata_priority_admitted_total\{scope="inbound",class="latency-sensitive"\} 1/);
});
