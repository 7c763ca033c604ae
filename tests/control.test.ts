/**
 * `strata control` as a process: serves the REST API, keeps what was applied across a
 * restart (SQLite under --data-dir), and shuts down cleanly on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, STRATA_BIN, freePorts, waitFor, startControl } from './lib/harness.js';

const exec = promisify(execFile);


test('strata control: apply, get, survive a restart, stop on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-control-'));
  const [apiPort, xdsPort] = (await freePorts(2)) as [number, number];
  const server = `http://127.0.0.1:${apiPort}`;
  const file = join(dir, 'mesh.yaml');
  writeFileSync(
    file,
    `apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: echo }
spec:
  protocol: grpc
  endpoints: [ { address: 127.0.0.1, port: 5555 } ]
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: echo }
spec:
  service: echo
  rules: [ { match: { path: { prefix: / } }, backends: [ { service: echo } ] } ]
`,
  );
  let cp = startControl(['--data-dir', join(dir, 'data')], apiPort, xdsPort);
  try {
    await waitFor('control ready', () => cp.out().includes('strata control ready'), 30_000);
    const applied = await exec(process.execPath, [STRATA_BIN, 'apply', '-f', file, '--server', server], { cwd: ROOT });
    assert.match(applied.stdout, /Service\/echo configured/);
    assert.match(applied.stdout, /Route\/echo configured/);
    cp.kill('SIGTERM');
    assert.equal(await cp.exited, 0, cp.out());

    cp = startControl(['--data-dir', join(dir, 'data')], apiPort, xdsPort);
    await waitFor('control ready again', () => cp.out().includes('strata control ready'), 30_000);
    const got = await exec(process.execPath, [STRATA_BIN, 'get', 'services', '-o', 'json', '--server', server], { cwd: ROOT });
    const items = JSON.parse(got.stdout) as { metadata: { name: string } }[] | { items: { metadata: { name: string } }[] };
    const names = (Array.isArray(items) ? items : items.items).map((r) => r.metadata.name);
    assert.deepEqual(names, ['echo'], 'applied resources survive a restart');
    cp.kill('SIGTERM');
    assert.equal(await cp.exited, 0, cp.out());
  } finally {
    cp.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
