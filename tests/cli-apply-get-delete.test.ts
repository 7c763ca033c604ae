/**
 * `strata apply`, `get` and `delete` as a user runs them: child processes against an
 * in-process control plane API on a free port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { SqliteStore } from '../src/control/store/sqlite-store.js';
import { ApiServer } from '../src/control/api/server.js';
import { ROOT, STRATA_BIN, freePort } from './lib/harness.js';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'strata-cli-api-'));
const store = new SqliteStore({ dir: join(dir, 'data') });
const api = new ApiServer({ store });
let server = '';

before(async () => {
  const port = await api.listen('127.0.0.1', await freePort());
  server = `http://127.0.0.1:${port}`;
});

after(async () => {
  await api.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function strata(args: string[], env: Record<string, string> = { STRATA_SERVER: server }): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [STRATA_BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const SERVICE = (name: string) => `apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: ${name} }
spec:
  protocol: http
  endpoints:
    - { address: 127.0.0.1, port: 8080 }
`;
const ROUTE = (name: string, svc: string, backend: string) => `apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: ${name} }
spec:
  service: ${svc}
  rules:
    - backends: [{ service: ${backend} }]
`;

test('apply a directory (references across files), then again: configured, then unchanged', async () => {
  const mesh = join(dir, 'mesh');
  mkdirSync(mesh);
  writeFileSync(join(mesh, 'a-route.yaml'), ROUTE('web', 'web', 'web'));
  writeFileSync(join(mesh, 'b-service.yaml'), SERVICE('web'));
  const first = await strata(['apply', '-f', mesh]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /^Route\/web configured$/m);
  assert.match(first.stdout, /^Service\/web configured$/m);
  const second = await strata(['apply', '-f', mesh, '--server', server], {});
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /^Route\/web unchanged$/m);
});

test('apply with errors prints every one as file: Kind/name: field: message and stores nothing', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, `${SERVICE('api')}---\n${ROUTE('x', 'api', 'nowhere')}`);
  const r = await strata(['apply', '-f', file]);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.includes(`${file}: Route/x: spec.rules[0].backends[0].service: unknown service "nowhere"`), r.stderr);
  assert.equal(await store.get('Service', 'default', 'api'), undefined);
});

test('get: table, yaml, json, one resource; unknown kind', async () => {
  const t = await strata(['get', 'services']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /^KIND\s+NAMESPACE\s+NAME$/m);
  assert.match(t.stdout, /^Service\s+default\s+web$/m);
  const y = await strata(['get', 'route', 'web', '-o', 'yaml']);
  assert.equal(y.code, 0, y.stderr);
  assert.equal((parse(y.stdout) as { spec: { service: string } }).spec.service, 'web');
  const ys = await strata(['get', 'Service', '-o', 'yaml']);
  assert.equal(parseAllDocuments(ys.stdout).length, 1);
  const j = await strata(['get', 'Route', '-o', 'json']);
  assert.equal((JSON.parse(j.stdout) as { metadata: { name: string } }[])[0]?.metadata.name, 'web');
  const missing = await strata(['get', 'Route', 'nope']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Route\/nope not found/);
  const bad = await strata(['get', 'widgets']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown kind "widgets"/);
});

test('delete: a referenced Service is refused with its referrers; then the Route, then the Service', async () => {
  const refused = await strata(['delete', 'Service', 'web']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /still referred to by Route\/web/);
  assert.match(refused.stderr, /Route\/web: spec\.service/);
  const r = await strata(['delete', 'route', 'web']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Route\/web deleted/);
  const s = await strata(['delete', 'Service', 'web', '-n', 'default']);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(await store.get('Service', 'default', 'web'), undefined);
});

test('an unreachable control plane is named', async () => {
  const port = await freePort();
  const r = await strata(['get', 'Service', '--server', `http://127.0.0.1:${port}`], {});
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`cannot reach the control plane at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
});
