/**
 * Configuration hot reload (valid → applied atomically; invalid → refused, old config kept)
 * and graceful drain on SIGTERM (readiness false, in-flight requests finish, then exit).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configDump, freePorts, request, rewriteConfig, startSidecar, startUpstream, waitFor } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

function config(admin: number, port: number, upstreamPort: number, extraRule = ''): string {
  return `
apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: c }
spec:
  service: c
  outbound: { ports: [ { port: ${port}, service: up } ] }
  admin: { port: ${admin} }
  limits: { drainTimeoutMs: 10000 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: up }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${upstreamPort} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: up }
spec:
  service: up
  rules:
${extraRule}
    - name: default
      match: { path: { prefix: / } }
      backends: [ { service: up } ]
`;
}

describe('hot reload', () => {
  let sc: SidecarProcess;
  let up: Upstream;
  let admin = 0;
  let port = 0;

  before(async () => {
    up = await startUpstream('up');
    [admin, port] = (await freePorts(2)) as [number, number];
    sc = await startSidecar(config(admin, port, up.port), admin);
  });
  after(async () => {
    await sc?.stop();
    await up?.close();
  });

  test('a valid change is applied without restart', async () => {
    const v1 = (await configDump(admin)).version;
    rewriteConfig(
      sc,
      config(
        admin,
        port,
        up.port,
        `    - name: new-direct
      match: { path: { exact: /added } }
      directResponse: { status: 201, body: "added\\n" }`,
      ),
    );
    await waitFor('new version applied', async () => (await configDump(admin)).version !== v1);
    const r = await request({ port, path: '/added' });
    assert.equal(r.status, 201);
    assert.equal(r.body, 'added\n');
  });

  const rejectWith = async (rule: string): Promise<string> => {
    const before = await configDump(admin);
    const seen = JSON.stringify(before.lastRejected);
    rewriteConfig(sc, config(admin, port, up.port, rule));
    const dump = await waitFor('rejection recorded', async () => {
      const d = await configDump(admin);
      return JSON.stringify(d.lastRejected) !== seen && d.lastRejected ? d : undefined;
    });
    assert.equal(dump.version, before.version, 'the running config must not change');
    return dump.lastRejected?.errors.join('\n') ?? '';
  };

  test('an invalid change is refused with file, resource and field named; the old config keeps serving', async () => {
    const regex = await rejectWith(`    - name: broken
      match: { path: { regex: "([unclosed" } }
      backends: [ { service: up } ]`);
    assert.match(regex, /mesh\.yaml: Route\/up: spec\.rules\[0\]\.match\.path\.regex: invalid regular expression/);
    const dangling = await rejectWith(`    - name: dangling
      match: { path: { prefix: /d } }
      backends: [ { service: missing-service } ]`);
    assert.match(dangling, /Route\/up: spec\.rules\[0\]\.backends\[0\]\.service/);
    assert.match(dangling, /missing-service/);
    const yamlSyntax = await rejectWith('    - name: [unclosed');
    assert.match(yamlSyntax, /mesh\.yaml/);
    // Still serving the last good config.
    assert.equal((await request({ port, path: '/added' })).status, 201);
    assert.equal(JSON.parse((await request({ port, path: '/x' })).body).upstream, 'up');
    const stats = await request({ port: admin, path: '/stats' });
    assert.match(stats.body, /strata_config_reloads_total\{result="rejected"\} [1-9]/);
  });
});

describe('graceful drain', () => {
  test('SIGTERM: readiness goes false, the in-flight request completes, new connections are refused, then exit 0', async () => {
    const up = await startUpstream('up');
    const [admin, port] = (await freePorts(2)) as [number, number];
    const sc = await startSidecar(config(admin, port, up.port), admin);
    try {
      const inflight = request({ port, path: '/slow/1500' });
      await waitFor('request reached upstream', () => up.requests.some((r) => r.url === '/slow/1500'));
      sc.proc.kill('SIGTERM');
      await waitFor('readiness false', async () => {
        try {
          return (await request({ port: admin, path: '/ready', timeoutMs: 1000 })).status === 503;
        } catch {
          return true; // admin already closed
        }
      });
      const r = await inflight;
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).url, '/slow/1500');
      assert.equal(await sc.exited, 0);
      await assert.rejects(request({ port, path: '/after', timeoutMs: 2000 }));
    } finally {
      await sc.stop();
      await up.close();
    }
  });
});
