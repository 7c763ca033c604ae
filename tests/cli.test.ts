/**
 * The CLI as a user meets it: help on every verb, `validate` errors, and `strata demo`
 * serving traffic through its sidecars and stopping cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, STRATA_BIN, request, waitFor } from './lib/harness.js';

const exec = promisify(execFile);

async function strata(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [STRATA_BIN, ...args], { cwd: ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('every verb has --help; unknown verbs and flags are refused', async () => {
  const main = await strata(['--help']);
  assert.equal(main.code, 0);
  for (const verb of ['apply', 'bootstrap', 'check', 'control', 'delete', 'demo', 'get', 'proxy', 'status', 'validate']) {
    assert.match(main.stdout, new RegExp(`\\b${verb}\\b`));
    const h = await strata([verb, '--help']);
    assert.equal(h.code, 0, `${verb} --help`);
    assert.match(h.stdout, new RegExp(`Usage: strata ${verb}`));
  }
  const unknown = await strata(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const badFlag = await strata(['proxy', '--no-such-flag']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /no-such-flag/);
});

test('validate: the example is valid; a broken file lists every error with file, resource and field', async () => {
  const good = await strata(['validate', '-f', join(ROOT, 'examples', 'sidecar.yaml')]);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /valid/);
  const dir = mkdtempSync(join(tmpdir(), 'strata-cli-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: s }
spec:
  service: web
  outbound: { proxyPort: 70000 }
---
apiVersion: strata.dev/v1alpha1
kind: Servce
metadata: { name: web }
spec: {}
`,
    );
    const bad = await strata(['validate', '-f', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad\.yaml: Sidecar\/s: spec\.outbound\.proxyPort/);
    assert.match(bad.stderr, /kind/);
    assert.match(bad.stderr, /Servce/);
    const missing = await strata(['proxy', '--config', join(dir, 'nope.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.yaml.*no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('strata demo serves traffic through its sidecars and stops cleanly on SIGINT', async () => {
  const base = await demoBasePort();
  const proc = spawn(process.execPath, [STRATA_BIN, 'demo', '--base-port', String(base), '--rps', '10'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  try {
    await waitFor('demo running', () => {
      if (proc.exitCode !== null) throw new Error(`demo exited: ${err}`);
      return out.includes('Sending 10 requests/s');
    }, 30_000);
    const viaProxy = await request({ port: base + 1, path: '/items/7', host: 'catalog' });
    assert.equal(viaProxy.status, 200);
    assert.equal(viaProxy.headers['x-mesh'], 'strata');
    assert.equal(JSON.parse(viaProxy.body).service, 'catalog');
    await waitFor('background traffic counted', async () => {
      const stats = await request({ port: base, path: '/stats' });
      const m = /strata_requests_total\{direction="outbound",source="frontend",destination="catalog",code="200"\} (\d+)/.exec(stats.body);
      return m && Number(m[1]) >= 10;
    }, 30_000);
    proc.kill('SIGINT');
    assert.equal(await exited, 0);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
});

/**
 * A --base-port for `strata demo` whose every port is free: the demo listens on base, base+1,
 * base+10, base+80 and base+100… (one per service). Picked below the kernel's ephemeral range
 * (32768+), so no outgoing connection or port-0 listener of another test can take one meanwhile.
 */
async function demoBasePort(): Promise<number> {
  const offsets = [0, 1, 10, 80, 100, 101, 102, 103, 104, 105];
  for (let tries = 0; tries < 50; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let ok = true;
    for (const o of offsets) if (!(ok = await isFree(base + o))) break;
    if (ok) return base;
  }
  throw new Error('no free demo port range');
}

async function isFree(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

test('bootstrap grpc prints what a proxyless gRPC client needs, and refuses bad options', async () => {
  const r = await strata(['bootstrap', 'grpc', '--service', 'echo', '--xds-server', '127.0.0.1:15010', '--xds-server', '127.0.0.1:15011', '--locality', 'eu/zone-a']);
  assert.equal(r.code, 0, r.stderr);
  const b = JSON.parse(r.stdout);
  assert.deepEqual(
    b.xds_servers.map((s: { server_uri: string }) => s.server_uri),
    ['127.0.0.1:15010', '127.0.0.1:15011'],
  );
  assert.deepEqual(b.xds_servers[0].channel_creds, [{ type: 'insecure' }]);
  assert.equal(b.node.id, 'echo~proxyless');
  assert.deepEqual(b.node.locality, { region: 'eu', zone: 'zone-a' });
  const noLocality = JSON.parse((await strata(['bootstrap', 'grpc', '--service', 'echo'])).stdout);
  assert.deepEqual(noLocality.node.locality, {}, 'locality must be present even when empty');
  const bad = await strata(['bootstrap', 'grpc', '--service', 'Bad_Name', '--xds-server', 'nope']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--service: must be a DNS label/);
  assert.match(bad.stderr, /--xds-server\[0\]: must be host:port, got 'nope'/);
  assert.equal((await strata(['bootstrap', 'nope', '--service', 'x'])).code, 2);
});

test('a reader that closes the pipe early does not make the CLI crash', async () => {
  const base = await demoBasePort();
  const proc = spawn(process.execPath, [STRATA_BIN, 'demo', '--base-port', String(base), '--rps', '0', '--duration', '2'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // Read the first bytes, then go away like `| head -1` does.
  await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
  proc.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, err);
  assert.doesNotMatch(err, /EPIPE|Unhandled/);
});
