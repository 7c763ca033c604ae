import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECK_NAMES } from './checks.js';
import { anyFailed, formatChecks, runChecks } from './run.js';
import { fakeContext } from './test-support.js';

test('runChecks: every check name appears, in report order', async () => {
  const checks = await runChecks(fakeContext({ uid: 0 }));
  const names = [...new Set(checks.map((c) => c.name))];
  assert.deepEqual(names, [...CHECK_NAMES]);
  for (const c of checks) if (c.status !== 'ok') assert.ok(c.fix, `${c.name}: ${c.detail} has a fix`);
});

test('runChecks: the control plane found running makes its port ok in the ports check', async () => {
  const ctx = fakeContext({
    busy: { '127.0.0.1:15080': 'EADDRINUSE' },
    http: { 'http://127.0.0.1:15080/api/v1/status': { status: 200, body: JSON.stringify({ revision: 1, store: { kind: 'sqlite', ok: true, detail: '' } }) } },
  });
  const checks = await runChecks(ctx);
  assert.equal(checks[0]?.detail, '15080 (control API) in use by a running strata control');
  assert.equal(anyFailed(checks), false);
});

test('formatChecks: aligned lines with the fix, then counts', () => {
  const text = formatChecks([
    { name: 'ports', status: 'ok', detail: '15080 (control API) free' },
    { name: 'packages', status: 'warn', detail: 'wrk not found', fix: 'sudo apt-get install -y wrk' },
    { name: 'config', status: 'fail', detail: 'a.yaml: x: bad', fix: 'edit a.yaml: x: bad' },
  ]);
  assert.equal(
    text,
    [
      'ok   ports     15080 (control API) free',
      'warn packages  wrk not found → fix: sudo apt-get install -y wrk',
      'fail config    a.yaml: x: bad → fix: edit a.yaml: x: bad',
      '1 ok, 1 warn, 1 fail',
      '',
    ].join('\n'),
  );
  assert.equal(anyFailed([{ name: 'x', status: 'warn', detail: '', fix: 'y' }]), false);
});
