/**
 * Request priority across processes: classification at a gateway (`strata gateway`) and at a
 * sidecar; both the header and the baggage member reach the upstream; a class from a trusted
 * hop is honoured; a class sent from outside the mesh is overwritten unless a rule trusts it;
 * malformed priority headers never fail a request.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, STRATA_BIN, freePorts, request, startSidecar, startUpstream, waitFor } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

const POLICY = `apiVersion: strata.dev/v1alpha1
kind: PriorityPolicy
metadata: { name: ingress }
spec:
  rules:
    - name: partners
      match: { apiKey: { values: [partner-key] } }
      trustIncoming: true
    - { name: checkout, match: { path: { prefix: /checkout } }, class: latency-sensitive }
    - { name: export, match: { path: { prefix: /export } }, class: bulk }
`;

const service = (port: number): string => `apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: api }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${port} }]
`;

interface GatewayProcess {
  stop(): Promise<void>;
  stderr(): string;
}

/** `strata gateway --config F --port P --admin-port A --default-service api`, resolved once /ready is 200. */
async function startGateway(yaml: string, port: number, admin: number): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-gw-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, yaml);
  const proc = spawn(process.execPath, [STRATA_BIN, 'gateway', '--config', file, '--port', String(port), '--admin-port', String(admin), '--address', '127.0.0.1', '--default-service', 'api'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  let dead = false;
  void exited.then(() => (dead = true));
  const stop = async (): Promise<void> => {
    if (!dead) {
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('gateway ready', async () => {
      if (dead) throw new Error(`gateway exited: ${err}`);
      return (await request({ port: admin, path: '/ready', timeoutMs: 2000 })).status === 200;
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { stop, stderr: () => err };
}

describe('priority classification and propagation', () => {
  let up: Upstream;
  let gw: GatewayProcess;
  let sc: SidecarProcess;
  let gwPort: number;
  let localPort: number;

  before(async () => {
    up = await startUpstream('api');
    const [gp, ga, sa, lp] = (await freePorts(4)) as [number, number, number, number];
    gwPort = gp;
    localPort = lp;
    gw = await startGateway([POLICY, service(up.port)].join('---\n'), gp, ga);
    sc = await startSidecar(
      [
        `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: web }
spec:
  service: web
  outbound: { ports: [{ port: ${lp}, service: api }] }
  admin: { port: ${sa} }
`,
        POLICY,
        service(up.port),
      ].join('---\n'),
      sa,
    );
  });

  after(async () => {
    await gw?.stop();
    await sc?.stop();
    await up?.close();
  });

  /** One request; returns the priority headers the upstream saw. */
  async function seen(port: number, path: string, headers: Record<string, string> = {}, host = 'api'): Promise<{ cls: unknown; baggage: unknown }> {
    const r = await request({ port, path, headers, host });
    assert.equal(r.status, 200, r.body);
    const got = (JSON.parse(r.body) as { headers: Record<string, unknown> }).headers;
    return { cls: got['x-strata-priority'], baggage: got['baggage'] };
  }

  test('gateway: the policy classifies and both headers reach the upstream', async () => {
    assert.deepEqual(await seen(gwPort, '/checkout/cart'), { cls: 'latency-sensitive', baggage: 'strata.priority=latency-sensitive' });
    assert.deepEqual(await seen(gwPort, '/export/all'), { cls: 'bulk', baggage: 'strata.priority=bulk' });
    assert.deepEqual(await seen(gwPort, '/'), { cls: 'default', baggage: 'strata.priority=default' });
  });

  test('gateway: a class sent from outside is overwritten (header and baggage), other baggage members kept', async () => {
    const r = await seen(gwPort, '/', { 'x-strata-priority': 'latency-sensitive', baggage: 'user=alice;p=1,strata.priority=latency-sensitive,tenant=t1' });
    assert.deepEqual(r, { cls: 'default', baggage: 'user=alice;p=1,tenant=t1,strata.priority=default' });
  });

  test('gateway: a rule with trustIncoming lets a partner choose its class', async () => {
    assert.deepEqual(await seen(gwPort, '/', { 'x-api-key': 'partner-key', 'x-strata-priority': 'latency-sensitive' }), {
      cls: 'latency-sensitive',
      baggage: 'strata.priority=latency-sensitive',
    });
    assert.equal((await seen(gwPort, '/', { 'x-api-key': 'partner-key', baggage: 'strata.priority=bulk' })).cls, 'bulk', 'from the baggage too');
    assert.equal((await seen(gwPort, '/', { 'x-api-key': 'partner-key' })).cls, 'default', 'sent none: the default class');
  });

  test('gateway: routes by Host, falling back to the default service', async () => {
    assert.equal((await seen(gwPort, '/export', {}, 'unknown.example.com')).cls, 'bulk');
  });

  test('sidecar: a class from a trusted hop is honoured (header wins over baggage)', async () => {
    assert.equal((await seen(localPort, '/export', { 'x-strata-priority': 'latency-sensitive' })).cls, 'latency-sensitive');
    assert.deepEqual(await seen(localPort, '/checkout', { baggage: 'a=b,strata.priority=bulk' }), { cls: 'bulk', baggage: 'a=b,strata.priority=bulk' });
    assert.deepEqual(await seen(localPort, '/', { 'x-strata-priority': 'bulk', baggage: 'strata.priority=latency-sensitive' }), {
      cls: 'bulk',
      baggage: 'strata.priority=bulk',
    });
  });

  test('sidecar: no class or an unknown one → classified by the policy', async () => {
    assert.equal((await seen(localPort, '/checkout')).cls, 'latency-sensitive');
    assert.equal((await seen(localPort, '/export', { 'x-strata-priority': 'platinum' })).cls, 'bulk');
    assert.equal((await seen(localPort, '/', { baggage: 'strata.priority=gold' })).cls, 'default');
  });

  test('malformed priority headers never fail a request: ignored, then classified', async () => {
    const bad: Record<string, string>[] = [
      { 'x-strata-priority': '   ', baggage: ',,,=;;' },
      { 'x-strata-priority': '"latency-sensitive"', baggage: 'strata.priority=%E0%A4%A' },
      { 'x-strata-priority': 'x'.repeat(4000), baggage: `strata.priority=${'y'.repeat(4000)}` },
      { baggage: 'strata.priority' },
    ];
    for (const port of [gwPort, localPort]) {
      for (const headers of bad) assert.equal((await seen(port, '/export', headers)).cls, 'bulk', JSON.stringify(headers));
    }
  });
});
