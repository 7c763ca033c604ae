import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIDECAR, build, registerFakes } from '../config/test-support.js';
import { checkConfig } from './config.js';
import { fakeContext, only } from './test-support.js';

registerFakes();

test('no -f → one ok line saying nothing was given', () => {
  const c = only(checkConfig(fakeContext()));
  assert.equal(c.status, 'ok');
  assert.match(c.detail, /no -f\/--config given/);
});

test('a valid config → one ok line', () => {
  const c = only(checkConfig(fakeContext({}, { configs: [{ path: 'mesh.yaml', result: build(SIDECAR, 'mesh.yaml') }] })));
  assert.equal(c.status, 'ok');
  assert.match(c.detail, /^mesh\.yaml: valid \(version \w+\): sidecar for 'me', 0 services, 0 routes$/);
});

test('an invalid config → a fail line per error naming file, resource and field, fixed by editing the file', () => {
  const bad = build(SIDECAR.replace('service: me', 'service: me\n  admin: { port: 70000 }\n  outbound: { proxyPort: 0 }'), 'dir/bad.yaml');
  const checks = checkConfig(fakeContext({}, { configs: [{ path: 'dir', result: bad }] }));
  assert.ok(checks.length >= 2, JSON.stringify(checks));
  for (const c of checks) {
    assert.equal(c.status, 'fail');
    assert.match(c.detail, /^dir\/bad\.yaml: Sidecar\/me: spec\./);
    assert.match(c.fix ?? '', /^edit dir\/bad\.yaml: Sidecar\/me spec\./);
  }
  assert.ok(checks.some((c) => /spec\.admin\.port/.test(c.detail)));
  assert.ok(checks.some((c) => /spec\.outbound\.proxyPort/.test(c.detail)));
});

test('an error without a source (a missing file) is attributed to the path given', () => {
  const c = only(checkConfig(fakeContext({}, { configs: [{ path: 'nope.yaml', result: { ok: false, errors: [{ path: '', message: 'no such file' }] } }] })));
  assert.equal(c.status, 'fail');
  assert.equal(c.detail, 'nope.yaml: (root): no such file');
  assert.equal(c.fix, 'edit nope.yaml: no such file');
});
