import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkControl } from './control.js';
import { fakeContext, only } from './test-support.js';

const STATUS = 'http://127.0.0.1:15080/api/v1/status';
const report = (ok: boolean, detail = ''): { status: number; body: string } => ({
  status: 200,
  body: JSON.stringify({ revision: 7, store: { kind: 'sqlite', ok, detail }, xds: [] }),
});

test('reachable with a healthy store → ok with kind and revision, and the control is marked running', async () => {
  const r = await checkControl(fakeContext({ http: { [STATUS]: report(true) } }));
  const c = only(r.checks);
  assert.equal(c.status, 'ok');
  assert.equal(c.detail, 'http://127.0.0.1:15080: store sqlite healthy, revision 7, 0 xDS client(s)');
  assert.equal(r.running?.port, '15080');
});

test('a trailing slash on the URL is fine', async () => {
  const r = await checkControl(fakeContext({ http: { [STATUS]: report(true) } }, { control: 'http://127.0.0.1:15080/' }));
  assert.equal(only(r.checks).status, 'ok');
});

test('degraded store → warn with a fix naming strata status', async () => {
  const c = only((await checkControl(fakeContext({ http: { [STATUS]: report(false, 'disk I/O error') } }))).checks);
  assert.equal(c.status, 'warn');
  assert.match(c.detail, /store sqlite degraded \(disk I\/O error\), revision 7/);
  assert.match(c.fix ?? '', /strata status --server http:\/\/127\.0\.0\.1:15080/);
});

test('unreachable: warn for the default address, fail when named explicitly', async () => {
  const def = await checkControl(fakeContext());
  assert.equal(def.running, undefined);
  const w = only(def.checks);
  assert.equal(w.status, 'warn');
  assert.match(w.detail, /unreachable: ECONNREFUSED/);
  assert.match(w.fix ?? '', /npx strata control/);
  const f = only((await checkControl(fakeContext({}, { control: 'http://127.0.0.1:1', controlExplicit: true }))).checks);
  assert.equal(f.status, 'fail');
  assert.match(f.detail, /http:\/\/127\.0\.0\.1:1 unreachable/);
});

test('a timeout and a server that is not strata read as unreachable', async () => {
  const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
  const t = only((await checkControl(fakeContext({ http: { [STATUS]: timeout } }))).checks);
  assert.equal(t.status, 'warn');
  assert.match(t.detail, /no answer within 2000 ms/);
  const other = await checkControl(fakeContext({ http: { [STATUS]: { status: 404, body: '<html>nope</html>' } } }, { controlExplicit: true }));
  assert.equal(other.running, undefined);
  assert.equal(only(other.checks).status, 'fail');
  assert.match(only(other.checks).detail, /^http:\/\/127\.0\.0\.1:15080 answers \(HTTP 404\) but is not a strata control plane$/);
});
