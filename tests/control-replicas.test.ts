/**
 * Two `strata control` replicas on one etcd (a real etcd on loopback, started and stopped by
 * the test). Each sidecar lists both replicas, in a different order, so each is connected to
 * a different one:
 * - a change applied through either replica reaches the sidecars of both;
 * - killing a replica moves its sidecar to the other with no failed request on the data plane;
 * - with etcd down the replica keeps serving its last configuration and reports the store as
 *   degraded in `strata status`; once etcd is back, changes flow again.
 * How long a change takes to reach every sidecar is printed (timing targets live in
 * `npm run bench:control`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EtcdTestServer } from '../src/control/store/etcd-test-server.js';
import { ROOT, STRATA_BIN, freePorts, request, startControl, startSidecar, startUpstream, waitFor } from './lib/harness.js';
import type { ControlProcess, SidecarProcess, Upstream } from './lib/harness.js';

const exec = promisify(execFile);

const mesh = (target: string, ports: Record<string, number>): string =>
  [
    ...Object.entries(ports).map(
      ([name, port]) => `apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: ${name} }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${port} } ]
`,
    ),
    `apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: backend }
spec:
  service: backend
  rules: [ { backends: [ { service: ${target} } ] } ]
`,
  ].join('---\n');

const sidecarYaml = (name: string, localPort: number, adminPort: number): string => `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: ${name} }
spec:
  service: ${name}
  dependencies: [ backend ]
  outbound:
    ports: [ { port: ${localPort}, service: backend } ]
  admin: { port: ${adminPort} }
`;

test('two strata control replicas on etcd: changes via either, failover, etcd outage', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-replicas-'));
  const ups: Upstream[] = [await startUpstream('v1'), await startUpstream('v2'), await startUpstream('v3')];
  const [v1, v2, v3] = ups as [Upstream, Upstream, Upstream];
  const backends = { backend: v1.port, 'backend-v2': v2.port, 'backend-v3': v3.port };
  const [a1, x1, a2, x2, l1, adm1, l2, adm2] = (await freePorts(8)) as [number, number, number, number, number, number, number, number];
  let etcd: EtcdTestServer | undefined;
  const replicas: ControlProcess[] = [];
  const sidecars: SidecarProcess[] = [];
  const apply = async (via: ControlProcess, target: string): Promise<number> => {
    const file = join(dir, `mesh-${target}.yaml`);
    writeFileSync(file, mesh(target, backends));
    await exec(process.execPath, [STRATA_BIN, 'apply', '-f', file, '--server', via.server], { cwd: ROOT });
    return performance.now();
  };
  const upstreamOf = async (localPort: number): Promise<string | undefined> => {
    const r = await request({ port: localPort, path: '/', timeoutMs: 5000 });
    return r.status === 200 ? String(r.headers['x-upstream']) : undefined;
  };
  const bothReach = async (name: string, since: number): Promise<number> => {
    const upstream = name === 'backend' ? 'v1' : name === 'backend-v2' ? 'v2' : 'v3';
    await waitFor(`both sidecars route to ${upstream}`, async () => (await upstreamOf(l1)) === upstream && (await upstreamOf(l2)) === upstream, 30_000, 20);
    return performance.now() - since;
  };
  const clientsOf = async (replica: ControlProcess): Promise<string[]> => {
    const { stdout } = await exec(process.execPath, [STRATA_BIN, 'status', '--server', replica.server, '-o', 'json'], { cwd: ROOT });
    return ((JSON.parse(stdout) as { xds: { nodeId: string }[] }).xds ?? []).map((c) => c.nodeId).sort();
  };
  try {
    etcd = await EtcdTestServer.start();
    replicas.push(startControl(['--etcd', etcd.url], a1, x1), startControl(['--etcd', etcd.url], a2, x2));
    const [r1, r2] = replicas as [ControlProcess, ControlProcess];
    await Promise.all([r1.ready(), r2.ready()]);
    sidecars.push(
      await startSidecar(sidecarYaml('one', l1, adm1), adm1, ['--xds', `127.0.0.1:${x1},127.0.0.1:${x2}`, '--node-id', 'one']),
      await startSidecar(sidecarYaml('two', l2, adm2), adm2, ['--xds', `127.0.0.1:${x2},127.0.0.1:${x1}`, '--node-id', 'two']),
    );
    await waitFor('each sidecar on its own replica', async () => (await clientsOf(r1)).join() === 'one' && (await clientsOf(r2)).join() === 'two');

    // A change through either replica reaches both sidecars.
    const viaOne = await bothReach('backend', await apply(r1, 'backend'));
    const viaTwo = await bothReach('backend-v2', await apply(r2, 'backend-v2'));
    process.stdout.write(`# change via replica 1 reached both sidecars in ${viaOne.toFixed(0)} ms; via replica 2 in ${viaTwo.toFixed(0)} ms\n`);

    // Kill replica 1 under load: sidecar one moves to replica 2; no request fails.
    let stop = false;
    let sent = 0;
    const failures: string[] = [];
    const load = (async () => {
      while (!stop) {
        for (const port of [l1, l2]) {
          sent++;
          try {
            const r = await request({ port, path: '/load', timeoutMs: 10_000 });
            if (r.status !== 200) failures.push(`${port}: HTTP ${r.status} ${r.body.slice(0, 200)}`);
          } catch (err) {
            failures.push(`${port}: ${(err as Error).message}`);
          }
        }
      }
    })();
    await waitFor('traffic flowing', () => sent > 20);
    r1.kill('SIGKILL');
    await r1.exited;
    await waitFor('sidecar one fails over to replica 2', async () => (await clientsOf(r2)).join() === 'one,two', 60_000, 100);
    const afterFailover = sent;
    await waitFor('traffic keeps flowing after the failover', () => sent > afterFailover + 20);
    stop = true;
    await load;
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests failed`);
    const viaSurvivor = await bothReach('backend-v3', await apply(r2, 'backend-v3'));
    process.stdout.write(`# after failover, a change reached both sidecars in ${viaSurvivor.toFixed(0)} ms (${sent} requests, none failed)\n`);

    // etcd down: the replica serves its last configuration and reports degraded.
    await etcd.pause();
    await waitFor('status reports the store degraded', async () => {
      const { stdout } = await exec(process.execPath, [STRATA_BIN, 'status', '--server', r2.server], { cwd: ROOT });
      return /^store etcd DEGRADED .*serving the last configuration/m.test(stdout);
    }, 60_000, 200);
    const json = JSON.parse((await exec(process.execPath, [STRATA_BIN, 'status', '--server', r2.server, '-o', 'json'], { cwd: ROOT })).stdout) as {
      store: { ok: boolean };
      xds: unknown[];
    };
    assert.equal(json.store.ok, false);
    assert.equal(json.xds.length, 2, 'both sidecars still connected');
    for (const port of [l1, l2]) assert.equal(await upstreamOf(port), 'v3', 'the data plane keeps its configuration');
    const refused = await exec(process.execPath, [STRATA_BIN, 'apply', '-f', join(dir, 'mesh-backend.yaml'), '--server', r2.server], { cwd: ROOT }).then(
      () => undefined,
      (err: { code?: number; stderr?: string }) => err,
    );
    assert.ok(refused, 'an apply while etcd is down fails');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr ?? '', /etcd|store/i);

    // etcd back: the replica is healthy and follows changes again.
    await etcd.resume();
    await waitFor('status healthy again', async () => {
      const { stdout } = await exec(process.execPath, [STRATA_BIN, 'status', '--server', r2.server], { cwd: ROOT });
      return /^store etcd healthy/m.test(stdout);
    }, 60_000, 200);
    await bothReach('backend', await apply(r2, 'backend'));
  } finally {
    for (const s of sidecars) await s.stop();
    for (const r of replicas) {
      r.kill('SIGKILL');
      await r.exited;
    }
    await etcd?.stop();
    for (const u of ups) await u.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
