/**
 * `strata up -f mesh.yaml` and `strata demo`: a whole mesh of child processes on this
 * machine. Traffic flows across the services, the status table is printed, SIGINT stops
 * every child; an invalid mesh file is refused with every error located, nothing started;
 * the demo shows successful requests answered by both pricing versions and stops by itself.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive, freePorts, interruptAll, request, ROOT, spawnStrata, waitFor } from './lib/harness.js';
import type { StrataProcess } from './lib/harness.js';

const DEMO_APP = join(ROOT, 'dist', 'src', 'demo', 'app.js');

type Proc = StrataProcess;

const started: Proc[] = [];
const dirs: string[] = [];

function strata(args: string[], cwd = ROOT): Proc {
  const p = spawnStrata(args, { cwd });
  started.push(p);
  return p;
}


/** Every child PID the runner reported (control plane, sidecars, apps). */
function childPids(out: string): number[] {
  return [...out.matchAll(/(?:control plane ready on \S+ \(xds \S+\), pid|sidecar ready \([^)]*\), pid|app started, pid) (\d+)/g)].map((m) => Number(m[1]));
}

after(async () => {
  await interruptAll(started, 20_000);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('strata up -f: control plane, resources, workloads with sidecars; traffic flows; SIGINT stops every child', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-up-test-'));
  dirs.push(dir);
  let ports = await freePorts(6);
  // db has 2 replicas, on dbPort and dbPort + 1.
  while (ports.includes((ports[4] as number) + 1)) ports = await freePorts(6);
  const [apiPort, xdsPort, webPort, apiAppPort, dbPort, webProxy] = ports;
  const file = join(dir, 'mesh.yaml');
  writeFileSync(
    file,
    `control: { apiPort: ${apiPort}, xdsPort: ${xdsPort} }
resources:
  - apiVersion: strata.dev/v1alpha1
    kind: Service
    metadata: { name: api }
    spec: { protocol: http }
  - apiVersion: strata.dev/v1alpha1
    kind: Route
    metadata: { name: api }
    spec:
      service: api
      rules: [ { match: { path: { prefix: / } }, backends: [ { service: api } ], retries: { attempts: 2, on: [connect-failure, gateway-error] } } ]
workloads:
  - service: web
    port: ${webPort}
    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(DEMO_APP)}]
    env: { DEMO_CALLS: "api" }
    proxyPort: ${webProxy}
  - service: api
    port: ${apiAppPort}
    command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(DEMO_APP)}]
    env: { DEMO_CALLS: "db" }
    dependencies: [db]
  - service: db
    port: ${dbPort}
    replicas: 2
    command: ${JSON.stringify(`${JSON.stringify(process.execPath)} ${JSON.stringify(DEMO_APP)}`)}
    env: { DEMO_VERSION: v7 }
`,
  );
  const up = strata(['up', '-f', file, '--logs', 'prefix']);
  await waitFor('mesh up', () => {
    if (up.proc.exitCode !== null) throw new Error(`strata up exited ${up.proc.exitCode}:\n${up.out()}`);
    return up.out().includes('mesh is up');
  }, 180_000, 200);
  const out = up.out();
  assert.match(out, /control plane ready on http:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /applied 2 resources/);
  assert.match(out, /\[web\] demo web v1 listening/, 'app output is prefixed with its name');
  // The status table: a header and one row per replica, all ready and registered.
  assert.match(out, /SERVICE\s+REPLICA\s+APP\s+INBOUND\s+HTTP_PROXY\s+ADMIN\s+STATE\s+READY\s+REGISTERED/);
  for (const [svc, replica, port] of [['web', 0, webPort], ['api', 0, apiAppPort], ['db', 0, dbPort], ['db', 1, (dbPort as number) + 1]] as const) {
    assert.match(out, new RegExp(`\\n${svc}\\s+${replica}\\s+${port}\\s+\\d+\\s+\\d+\\s+\\d+\\s+running\\s+yes\\s+yes\\s+\\d+/\\d+`), `row ${svc}/${replica}:\n${out}`);
  }
  const pids = childPids(out);
  assert.equal(pids.length, 1 + 2 * 4, out);

  // web → api → db (either replica), through the sidecars.
  const res = await waitFor('a request crosses the mesh', async () => {
    const r = await request({ port: webProxy as number, path: 'http://web/hello', host: 'web', timeoutMs: 10_000 });
    return r.status === 200 ? r : undefined;
  }, 60_000, 200);
  const body = JSON.parse(res.body) as { versions: Record<string, Record<string, number>> };
  assert.deepEqual(body.versions, { web: { v1: 1 }, api: { v1: 1 }, db: { v7: 1 } });

  up.proc.kill('SIGINT');
  assert.equal(await up.exited, 0, up.out());
  assert.match(up.out(), /control plane stopped/);
  for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} gone`);
});

test('strata up -f: an invalid mesh file is refused with every error located, nothing started', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-up-test-'));
  dirs.push(dir);
  const [apiPort, xdsPort] = (await freePorts(2)) as [number, number];
  const file = join(dir, 'mesh.yaml');
  writeFileSync(
    file,
    `control: { apiPort: ${apiPort}, xdsPort: ${xdsPort}, colour: blue }
resources:
  - apiVersion: strata.dev/v1alpha1
    kind: Service
    metadata: { name: ok }
    spec: { protocol: carrier-pigeon }
workloads:
  - service: web
    port: 8080
    command: [node, app.js]
  - service: Bad_Name
    port: 70000
    command: []
    replica: 2
`,
  );
  const bad = strata(['up', '-f', file]);
  assert.equal(await bad.exited, 1, bad.out());
  const out = bad.out();
  assert.match(out, /mesh\.yaml is invalid, nothing started/);
  assert.match(out, /mesh\.yaml: control\.colour: unknown field "colour"/);
  assert.match(out, /mesh\.yaml: resources\[0\]\.spec\.protocol: must be one of http, http2, grpc, tcp/);
  assert.match(out, /mesh\.yaml: workloads\[1\]\.service: must be a DNS label/);
  assert.match(out, /mesh\.yaml: workloads\[1\]\.port: must be between 1 and 65535 \(got 70000\)/);
  assert.match(out, /mesh\.yaml: workloads\[1\]\.command: /);
  assert.match(out, /mesh\.yaml: workloads\[1\]\.replica: unknown field "replica" \(did you mean "replicas"\?\)/);
  assert.doesNotMatch(out, /control plane ready/);

  // Valid file, but the control plane refuses the resources: nothing else starts, control is stopped.
  writeFileSync(
    file,
    `control: { apiPort: ${apiPort}, xdsPort: ${xdsPort} }
resources:
  - apiVersion: strata.dev/v1alpha1
    kind: Route
    metadata: { name: web }
    spec: { service: web, rules: [ { backends: [ { service: nowhere } ] } ] }
workloads:
  - { service: web, port: 8080, command: [node, app.js] }
`,
  );
  const refused = strata(['up', '-f', file]);
  assert.equal(await refused.exited, 1, refused.out());
  assert.match(refused.out(), /the control plane refused the resources, nothing started/);
  assert.match(refused.out(), /unknown service "web"/);
  assert.doesNotMatch(refused.out(), /sidecar ready|app started/);
  for (const pid of childPids(refused.out())) assert.ok(!alive(pid), `control plane pid ${pid} gone`);

  const missing = strata(['up']);
  assert.equal(await missing.exited, 2);
  assert.match(missing.out(), /-f mesh\.yaml is required/);
});

test('strata demo: six services, steady load, both pricing versions answer; stops after --duration', { timeout: 300_000 }, async () => {
  const demo = strata(['demo', '--base-port', '0', '--duration', '12', '--rps', '10', '--interval', '1']);
  const line = await waitFor('a load line with successes from both pricing versions', () => {
    if (demo.proc.exitCode !== null) throw new Error(`strata demo exited ${demo.proc.exitCode}:\n${demo.out()}`);
    for (const m of demo.out().matchAll(/requests (\d+) \(total \d+\)\s+ok ([\d.]+)%.*pricing v1 (\d+) \(\d+%\) \/ v2 (\d+) \(\d+%\)/g)) {
      if (Number(m[1]) > 0 && Number(m[2]) > 0 && Number(m[3]) > 0 && Number(m[4]) > 0) return m[0];
    }
    return undefined;
  }, 200_000, 200);
  assert.ok(line);
  const out = demo.out();
  for (const svc of ['frontend', 'catalog', 'cart', 'pricing-v1', 'pricing-v2', 'inventory']) assert.match(out, new RegExp(`${svc}: endpoint registered`));
  assert.match(out, /Try:\n\s+npx strata status --server http:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /curl -s -x http:\/\/127\.0\.0\.1:\d+ http:\/\/frontend\//);
  const pids = childPids(out);
  assert.equal(pids.length, 13, out);
  assert.equal(await demo.exited, 0, demo.out());
  assert.match(demo.out(), /time is up/);
  for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} gone`);
});

test('strata up killed with SIGKILL: its children do not outlive it', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-up-test-'));
  dirs.push(dir);
  const [apiPort, xdsPort, appPort] = (await freePorts(3)) as [number, number, number];
  const file = join(dir, 'mesh.yaml');
  writeFileSync(
    file,
    `control: { apiPort: ${apiPort}, xdsPort: ${xdsPort} }
workloads:
  - { service: solo, port: ${appPort}, command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(DEMO_APP)}] }
`,
  );
  const up = strata(['up', '-f', file]);
  await waitFor('mesh up', () => {
    if (up.proc.exitCode !== null) throw new Error(`strata up exited ${up.proc.exitCode}:\n${up.out()}`);
    return up.out().includes('mesh is up');
  }, 120_000, 200);
  const pids = childPids(up.out());
  assert.equal(pids.length, 3, up.out());
  up.proc.kill('SIGKILL');
  await up.exited;
  await waitFor('every child gone', () => pids.every((p) => !alive(p)), 30_000, 200);
});
