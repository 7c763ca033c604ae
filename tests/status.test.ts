/**
 * `strata status` as a user runs it: a child process against an in-process control plane with
 * a raw ADS client connected, which ACKs and then NACKs CDS.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiClient } from '../src/control/api/client.js';
import { ApiServer } from '../src/control/api/server.js';
import type { StatusReport } from '../src/control/api/server.js';
import { ControlPlane } from '../src/control/control-plane.js';
import { SqliteStore } from '../src/control/store/sqlite-store.js';
import { AdsTestClient } from '../src/control/xds/test-client.js';
import type { SotwTestStream } from '../src/control/xds/test-client.js';
import { CLUSTER_TYPE_URL } from '../src/xds/protos.js';
import { ROOT, STRATA_BIN, freePort, waitFor } from './lib/harness.js';

const exec = promisify(execFile);
const NODE_ID = 'status-test-node';

const service = (name: string, port: number): string =>
  [
    'apiVersion: strata.dev/v1alpha1',
    'kind: Service',
    `metadata: { name: ${name} }`,
    'spec:',
    '  protocol: grpc',
    `  endpoints: [ { address: 127.0.0.1, port: ${port} } ]`,
  ].join('\n');

async function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [STRATA_BIN, ...args], { cwd: ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let dir = '';
let store: SqliteStore;
let cp: ControlPlane;
let api: ApiClient;
let server = '';
let ads: AdsTestClient;
let stream: SotwTestStream | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'strata-status-'));
  store = new SqliteStore({ dir: join(dir, 'data') });
  cp = new ControlPlane({ store, apiPort: 0, xdsPort: 0, address: '127.0.0.1', debounceMs: 10 });
  const ports = await cp.start();
  server = `http://127.0.0.1:${ports.api}`;
  api = new ApiClient(server);
  ads = new AdsTestClient(ports.xds);
});

after(async () => {
  stream?.close();
  ads.close();
  await cp.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('strata status: the store, the revision and a connected xDS client with its ACKed and NACKed versions', { timeout: 60_000 }, async () => {
  await api.applyText(service('alpha', 5001), 'alpha.yaml');
  await waitFor('control plane serves the apply', () => cp.revision() > 0);

  stream = ads.sotw();
  stream.send({ node: { id: NODE_ID }, type_url: CLUSTER_TYPE_URL });
  const cds1 = await stream.next();
  stream.send({ type_url: CLUSTER_TYPE_URL, version_info: cds1.version_info, response_nonce: cds1.nonce });
  await waitFor('ACK recorded', async () => (await api.status()).xds?.find((c) => c.nodeId === NODE_ID)?.types.find((t) => t.typeUrl === CLUSTER_TYPE_URL)?.ackedVersion === cds1.version_info);

  const json = await strata('status', '-o', 'json', '--server', server);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as StatusReport;
  assert.equal(report.store.kind, 'sqlite');
  assert.equal(report.store.ok, true);
  assert.equal(report.revision, cp.revision());
  const node = report.xds?.find((c) => c.nodeId === NODE_ID);
  assert.ok(node, json.stdout);
  assert.equal(node.kind, 'sotw');
  assert.equal(node.group, 'mesh');
  assert.ok(!Number.isNaN(Date.parse(node.connectedSince)), node.connectedSince);
  const cds = node.types.find((t) => t.typeUrl === CLUSTER_TYPE_URL);
  assert.equal(cds?.ackedVersion, cds1.version_info);
  assert.equal(cds?.sentVersion, cds1.version_info);
  assert.equal(node.lastNack, undefined);

  // A change pushes a new CDS version; the client refuses it.
  await api.applyText(service('beta', 5002), 'beta.yaml');
  const cds2 = await stream.next(10_000);
  assert.notEqual(cds2.version_info, cds1.version_info);
  const reason = 'cluster beta: unsupported lb_policy RING_OF_FIRE with a reason long enough to be truncated in the table';
  stream.send({ type_url: CLUSTER_TYPE_URL, version_info: cds1.version_info, response_nonce: cds2.nonce, error_detail: { code: 3, message: reason } });
  await waitFor('NACK recorded', async () => (await api.status()).xds?.find((c) => c.nodeId === NODE_ID)?.lastNack !== undefined);

  const nacked = (await api.status()).xds?.find((c) => c.nodeId === NODE_ID);
  assert.equal(nacked?.lastNack?.typeUrl, CLUSTER_TYPE_URL);
  assert.equal(nacked?.lastNack?.reason, reason);
  assert.equal(nacked?.types.find((t) => t.typeUrl === CLUSTER_TYPE_URL)?.ackedVersion, cds1.version_info, 'the ACKed version stays');

  const table = await strata('status', '--server', server);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^store sqlite healthy.*revision \d+$/);
  assert.match(lines[1] ?? '', /^NODE\s+WORKLOAD\s+KIND\s+SCOPE\s+CONNECTED-SINCE\s+CDS\s+EDS\s+LDS\s+RDS\s+LAST-NACK$/);
  const row = lines.find((l) => l.startsWith(NODE_ID));
  assert.ok(row, table.stdout);
  assert.match(row, new RegExp(`^${NODE_ID}\\s+\\S+\\s+sotw\\s+mesh\\s+\\S+\\s+${cds1.version_info}\\s+-\\s+-\\s+-\\s+CDS: cluster beta: unsupported lb_policy`));
  assert.ok(row.endsWith('…'), `long NACK reason truncated: ${row}`);
  assert.ok(!row.includes('in the table'), row);
});

test('strata status: a clear message when the control plane is unreachable', async () => {
  const port = await freePort();
  const r = await strata('status', '--server', `http://127.0.0.1:${port}`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^strata status: cannot reach the control plane at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  assert.equal(r.stdout, '');
});

test('strata status: a bad -o is a usage error', async () => {
  const r = await strata('status', '-o', 'yaml', '--server', server);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /-o must be one of table, json/);
});

test('GET /api/v1/status without a status provider reports the store part only', async () => {
  const bare = new ApiServer({ store });
  const port = await bare.listen('127.0.0.1', 0);
  try {
    const report = await new ApiClient(`http://127.0.0.1:${port}`).status();
    assert.deepEqual(Object.keys(report).sort(), ['revision', 'store']);
    assert.equal(report.revision, await store.revision());
    assert.equal(report.store.kind, 'sqlite');
    assert.equal(report.store.ok, true);
    const table = await strata('status', '--server', `http://127.0.0.1:${port}`);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /xDS clients: not reported by this server/);
  } finally {
    await bare.close();
  }
});
