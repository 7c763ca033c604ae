/**
 * `strata check` as a user runs it: a port the test holds, an invalid config file, the JSON
 * form, and a control plane started by the test (reachable → ok; a closed port → fail).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CHECK_NAMES } from '../src/check/checks.js';
import type { Check } from '../src/check/checks.js';
import { ROOT, STRATA_BIN, freePort, freePorts, waitFor } from './lib/harness.js';

const exec = promisify(execFile);

/** Run the CLI with no $STRATA_SERVER, so the default control URL is the default. */
async function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [STRATA_BIN, ...args], { cwd: ROOT, env: { ...process.env, STRATA_SERVER: '' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const linesOf = (out: string, name: string): string[] => out.split('\n').filter((l) => new RegExp(`^(ok|warn|fail) +${name} `).test(l));

test('check --help, and a bad --port or -o is exit 2 with a clear message', async () => {
  const help = await strata('check', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: strata check/);
  assert.match(help.stdout, /--port/);
  const main = await strata('--help');
  assert.match(main.stdout, /\bcheck\b.*[Pp]reflight/);
  for (const bad of ['abc', '0', '70000', '-1', '']) {
    const r = await strata('check', `--port=${bad}`);
    assert.equal(r.code, 2, `--port=${bad}: ${r.stderr}`);
    assert.match(r.stderr, /strata check: --port must be a port number 1-65535/);
  }
  const fmt = await strata('check', '-o', 'yaml');
  assert.equal(fmt.code, 2);
  assert.match(fmt.stderr, /-o must be one of table, json/);
});

test('a port held by another process is a fail line naming it, and exit 1', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  try {
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const free = await freePort();
    const r = await strata('check', '--port', String(port), '--port', String(free));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const ports = linesOf(r.stdout, 'ports');
    const busy = ports.find((l) => l.includes(`${port} (--port)`));
    assert.match(busy ?? '', new RegExp(`^fail ports +${port} \\(--port\\) in use → fix: stop the process using it \\(\`ss -ltnp 'sport = :${port}'\`\\)`));
    assert.match(ports.find((l) => l.includes(`${free} (--port)`)) ?? '', /^ok +ports +\d+ \(--port\) free$/);
    assert.match(r.stdout, /\d+ ok, \d+ warn, [1-9]\d* fail\n$/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('an invalid config file is a fail line naming the file and the field', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-check-'));
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
`,
    );
    const r = await strata('check', '-f', file);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const config = linesOf(r.stdout, 'config');
    assert.ok(config.length >= 1, r.stdout);
    assert.match(config[0] ?? '', /^fail config +\S*bad\.yaml: Sidecar\/s: spec\.outbound\.proxyPort: .* → fix: edit \S*bad\.yaml: Sidecar\/s spec\.outbound\.proxyPort/);

    const good = await strata('check', '-f', join(ROOT, 'examples', 'sidecar.yaml'), '-o', 'json');
    const checks = JSON.parse(good.stdout) as Check[];
    assert.ok(checks.some((c) => c.name === 'config' && c.status === 'ok' && /sidecar\.yaml: valid/.test(c.detail)), good.stdout);
    assert.ok(checks.some((c) => c.name === 'ports' && /sidecar\.yaml admin\.port/.test(c.detail)), 'the config listeners are checked');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('-o json prints every check, each warn and fail with its fix', async () => {
  const r = await strata('check', '-o', 'json');
  assert.ok(r.code === 0 || r.code === 1, r.stderr);
  const checks = JSON.parse(r.stdout) as Check[];
  assert.ok(Array.isArray(checks));
  for (const name of CHECK_NAMES) assert.ok(checks.some((c) => c.name === name), `${name} is reported`);
  for (const c of checks) {
    assert.ok(['ok', 'warn', 'fail'].includes(c.status), JSON.stringify(c));
    assert.equal(typeof c.detail, 'string');
    if (c.status !== 'ok') assert.ok(c.fix, `${c.name}: ${c.detail} has a fix`);
  }
  assert.equal(r.code, checks.some((c) => c.status === 'fail') ? 1 : 0);
});

test('a running control plane is ok (and its port is not a conflict); a closed --control is a fail', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-check-control-'));
  const [apiPort, xdsPort] = (await freePorts(2)) as [number, number];
  const proc = spawn(
    process.execPath,
    [STRATA_BIN, 'control', '--data-dir', join(dir, 'data'), '--api-port', String(apiPort), '--xds-port', String(xdsPort)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  try {
    await waitFor('control ready', () => {
      if (proc.exitCode !== null) throw new Error(`control exited: ${out}`);
      return out.includes('strata control ready');
    }, 30_000);
    const up = await strata('check', '--control', `http://127.0.0.1:${apiPort}`);
    const [control] = linesOf(up.stdout, 'control');
    assert.match(control ?? '', new RegExp(`^ok +control +http://127\\.0\\.0\\.1:${apiPort}: store sqlite healthy, revision \\d+`), up.stdout);
    assert.match(up.stdout, new RegExp(`^ok +ports +${apiPort} \\(control API\\) in use by a running strata control$`, 'm'));

    const closed = await freePort();
    const down = await strata('check', '--control', `http://127.0.0.1:${closed}`, '-o', 'json');
    assert.equal(down.code, 1, down.stdout + down.stderr);
    const c = (JSON.parse(down.stdout) as Check[]).find((x) => x.name === 'control');
    assert.equal(c?.status, 'fail', JSON.stringify(c));
    assert.match(c?.detail ?? '', new RegExp(`127\\.0\\.0\\.1:${closed} unreachable`));
    assert.ok(c?.fix);
  } finally {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 10_000).unref())]);
    if (code === 'stuck') {
      proc.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
