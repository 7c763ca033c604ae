/**
 * `strata proxy --xds`: the sidecar file gives the listeners, the control plane the services
 * and routes. A request through the sidecar's local port reaches the upstream once the mesh
 * is applied to `strata control`, and follows a later change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, STRATA_BIN, freePorts, request, startSidecar, startUpstream, waitFor, startControl } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

const exec = promisify(execFile);


const mesh = (target: string, a: number, b: number): string => `apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: backend }
spec:
  protocol: http
  endpoints: [ { address: 127.0.0.1, port: ${a} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: backend-v2 }
spec:
  protocol: http
  endpoints: [ { address: 127.0.0.1, port: ${b} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: backend }
spec:
  service: backend
  rules: [ { match: { path: { prefix: / } }, backends: [ { service: ${target} } ] } ]
`;

test('strata proxy --xds: services and routes from strata control', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-proxy-xds-'));
  const [apiPort, xdsPort, adminPort, localPort, deadPort] = (await freePorts(5)) as [number, number, number, number, number];
  const server = `http://127.0.0.1:${apiPort}`;
  const ups: Upstream[] = [await startUpstream('v1'), await startUpstream('v2')];
  const [v1, v2] = ups as [Upstream, Upstream];
  const cp = startControl(['--data-dir', join(dir, 'data')], apiPort, xdsPort);
  let sc: SidecarProcess | undefined;
  try {
    await waitFor('control ready', () => cp.out().includes('strata control ready'), 30_000);
    const sidecarYaml = `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: client }
spec:
  service: client
  outbound:
    ports: [ { port: ${localPort}, service: backend } ]
  admin: { port: ${adminPort} }
`;
    // A dead address first: the client moves on to the next one.
    sc = await startSidecar(sidecarYaml, adminPort, ['--xds', `127.0.0.1:${deadPort},127.0.0.1:${xdsPort}`, '--node-id', 'xds-e2e']);

    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, mesh('backend', v1.port, v2.port));
    const applied = await exec(process.execPath, [STRATA_BIN, 'apply', '-f', file, '--server', server], { cwd: ROOT });
    assert.match(applied.stdout, /Route\/backend configured/);
    await waitFor('request reaches v1 through the sidecar', async () => {
      const r = await request({ port: localPort, path: '/hello', timeoutMs: 5000 });
      return r.status === 200 && r.headers['x-upstream'] === 'v1';
    }, 40_000, 100);
    assert.equal(v1.requests.at(-1)?.url, '/hello');

    writeFileSync(file, mesh('backend-v2', v1.port, v2.port));
    await exec(process.execPath, [STRATA_BIN, 'apply', '-f', file, '--server', server], { cwd: ROOT });
    await waitFor('the route change reaches the sidecar', async () => {
      const r = await request({ port: localPort, path: '/again', timeoutMs: 5000 });
      return r.status === 200 && r.headers['x-upstream'] === 'v2';
    }, 40_000, 100);
  } finally {
    await sc?.stop();
    cp.kill('SIGTERM');
    await cp.exited;
    for (const u of ups) await u.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('strata proxy --xds: not ready before the first configuration; learns the services the app calls', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-proxy-learn-'));
  const [apiPort, xdsPort, adminPort, proxyPort, declaredAdmin, declaredProxy] = (await freePorts(6)) as [number, number, number, number, number, number];
  const server = `http://127.0.0.1:${apiPort}`;
  const ups: Upstream[] = [await startUpstream('v1'), await startUpstream('v2')];
  const [v1, v2] = ups as [Upstream, Upstream];
  let cp: ReturnType<typeof startControl> | undefined;
  const sidecars: SidecarProcess[] = [];
  const viaProxy = (host: string, path = '/'): ReturnType<typeof request> =>
    request({ port: proxyPort, path: `http://${host}${path}`, host, timeoutMs: 15_000 });
  try {
    // The control plane is not up yet: the sidecar runs but is not ready.
    const learner = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: learner }
spec:
  service: learner
  outbound: { proxyPort: ${proxyPort} }
  admin: { port: ${adminPort} }
`,
      adminPort,
      ['--xds', `127.0.0.1:${xdsPort}`, '--node-id', 'learner'],
      { untilReady: false },
    );
    sidecars.push(learner);
    const early = await request({ port: adminPort, path: '/ready' });
    assert.equal(early.status, 503);
    assert.match(early.body, /waiting for configuration from the control plane/);

    cp = startControl(['--data-dir', join(dir, 'data')], apiPort, xdsPort);
    await waitFor('control ready', () => cp!.out().includes('strata control ready'), 30_000);
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, mesh('backend', v1.port, v2.port));
    await exec(process.execPath, [STRATA_BIN, 'apply', '-f', file, '--server', server], { cwd: ROOT });
    await waitFor('the sidecar becomes ready once configured', async () => (await request({ port: adminPort, path: '/ready', timeoutMs: 2000 })).status === 200, 40_000, 100);

    // Nothing declared: the first call to backend is held while the sidecar learns it.
    const first = await viaProxy('backend', '/learned');
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers['x-upstream'], 'v1');
    const clusters = (await request({ port: adminPort, path: '/clusters' })).body;
    assert.match(clusters, /"backend"/);
    assert.doesNotMatch(clusters, /"backend-v2"/, 'only what the app calls is pushed');

    // A name the mesh does not have: 404 after asking; it arrives by push once applied.
    const missing = await viaProxy('later', '/');
    assert.equal(missing.status, 404);
    assert.equal(missing.headers['x-strata-error'], 'STRATA_NO_ROUTE');
    const status = JSON.parse((await exec(process.execPath, [STRATA_BIN, 'status', '--server', server, '-o', 'json'], { cwd: ROOT })).stdout) as {
      xds: { nodeId: string; group: string }[];
    };
    assert.equal(status.xds.find((c) => c.nodeId === 'learner')?.group, 'full:deps:backend,later');
    writeFileSync(file, `apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: later }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${v2.port} } ]
`);
    await exec(process.execPath, [STRATA_BIN, 'apply', '-f', file, '--server', server], { cwd: ROOT });
    await waitFor('the learned service arrives by push', async () => (await viaProxy('later', '/x')).headers['x-upstream'] === 'v2', 40_000, 100);

    // Declared dependencies: exactly those, no learning.
    const declared = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: declared }
spec:
  service: declared
  dependencies: [ later ]
  outbound: { proxyPort: ${declaredProxy} }
  admin: { port: ${declaredAdmin} }
`,
      declaredAdmin,
      ['--xds', `127.0.0.1:${xdsPort}`, '--node-id', 'declared'],
    );
    sidecars.push(declared);
    const dump = (await request({ port: declaredAdmin, path: '/clusters' })).body;
    assert.match(dump, /"later"/);
    assert.doesNotMatch(dump, /"backend"/);
  } finally {
    for (const s of sidecars) await s.stop();
    cp?.kill('SIGTERM');
    await cp?.exited;
    for (const u of ups) await u.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
