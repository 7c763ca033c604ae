/**
 * Request priority delivered over xDS: a sidecar started with `--xds` whose file has only its
 * own limits (`priority: { outbound: … }`) classifies requests by the PriorityPolicy applied
 * to `strata control`, follows a later change of the rule, and refuses (NACKs) a class whose
 * congestion control this machine does not offer, keeping the classes it had.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, STRATA_BIN, configDump, freePorts, request, startControl, startSidecar, startUpstream, waitFor } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

const exec = promisify(execFile);

const mesh = (upstreamPort: number, checkoutClass: string): string => `apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: backend }
spec:
  protocol: http
  endpoints: [ { address: 127.0.0.1, port: ${upstreamPort} } ]
---
apiVersion: strata.dev/v1alpha1
kind: PriorityClass
metadata: { name: gold }
spec: { rank: 400, dscp: 34, congestion: reno }
---
apiVersion: strata.dev/v1alpha1
kind: PriorityPolicy
metadata: { name: shop }
spec:
  defaultClass: bulk
  rules:
    - { name: checkout, match: { path: { prefix: /checkout } }, class: ${checkoutClass} }
`;

function unavailableCongestion(): string | undefined {
  let available: string[];
  try {
    available = readFileSync('/proc/sys/net/ipv4/tcp_available_congestion_control', 'utf8').trim().split(/\s+/);
  } catch {
    return undefined;
  }
  return ['vegas', 'westwood', 'htcp', 'illinois', 'veno'].find((a) => !available.includes(a));
}

test('strata proxy --xds: priority classes and rules from strata control, limits from the file', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-priority-xds-'));
  const [apiPort, xdsPort, adminPort, localPort] = (await freePorts(4)) as [number, number, number, number];
  const server = `http://127.0.0.1:${apiPort}`;
  const up: Upstream = await startUpstream('backend');
  const cp = startControl(['--data-dir', join(dir, 'data')], apiPort, xdsPort);
  let sc: SidecarProcess | undefined;
  const apply = async (text: string): Promise<string> => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, text);
    return (await exec(process.execPath, [STRATA_BIN, 'apply', '-f', file, '--server', server], { cwd: ROOT })).stdout;
  };
  /** The class the upstream saw for a request to `path` through the sidecar. */
  const classOf = async (path: string): Promise<string | undefined> => {
    const r = await request({ port: localPort, path, timeoutMs: 5000 });
    if (r.status !== 200) return undefined;
    const h = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    return h['x-strata-priority'];
  };
  try {
    await waitFor('control ready', () => cp.out().includes('strata control ready'), 30_000);
    sc = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: client }
spec:
  service: client
  outbound:
    ports: [ { port: ${localPort}, service: backend } ]
  admin: { port: ${adminPort} }
  priority:
    outbound: { limit: { static: 64 } }
`,
      adminPort,
      ['--xds', `127.0.0.1:${xdsPort}`, '--node-id', 'priority-xds'],
      { untilReady: false },
    );
    assert.match(await apply(mesh(up.port, 'gold')), /PriorityPolicy\/shop (created|configured)/);

    await waitFor('the policy classifies /checkout as gold', async () => (await classOf('/checkout/1')) === 'gold', 40_000, 100);
    assert.equal(await classOf('/browse'), 'bulk', 'defaultClass from the policy');
    const dump = (await configDump(adminPort)) as unknown as { snapshot: { priority: { classes: { name: string }[]; outbound: { limit: unknown } } } };
    assert.deepEqual(dump.snapshot.priority.classes.map((c) => c.name), ['gold', 'latency-sensitive', 'default', 'bulk']);
    assert.deepEqual(dump.snapshot.priority.outbound.limit, { kind: 'static', limit: 64 }, 'the file keeps its own limits');

    // A second apply changes the rule: the class follows.
    await apply(mesh(up.port, 'latency-sensitive'));
    await waitFor('the rule change reaches the sidecar', async () => (await classOf('/checkout/2')) === 'latency-sensitive', 40_000, 100);

    // A class this machine cannot apply: the control plane stores it (its sidecars' machines
    // may differ), this sidecar NACKs it and keeps classifying with what it had.
    const missing = unavailableCongestion();
    if (missing) {
      const out = await apply(mesh(up.port, 'gold').replace('congestion: reno', `congestion: ${missing}`));
      assert.match(out, /PriorityClass\/gold configured/);
      await waitFor(
        'strata status shows the NACK',
        async () => {
          const st = JSON.parse((await exec(process.execPath, [STRATA_BIN, 'status', '--server', server, '-o', 'json'], { cwd: ROOT })).stdout) as {
            xds: { nodeId: string; lastNack?: { reason: string } }[];
          };
          const reason = st.xds.find((c) => c.nodeId === 'priority-xds')?.lastNack?.reason ?? '';
          return reason.includes(`strata.priority.api_listener.api_listener.value.classes[0].congestion: TCP congestion control '${missing}' is not available`);
        },
        40_000,
        100,
      );
      assert.equal(await classOf('/checkout/3'), 'latency-sensitive', 'the previous rules stay');
    }
  } finally {
    await sc?.stop();
    cp.kill('SIGTERM');
    await cp.exited;
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
