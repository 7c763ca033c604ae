import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REQUIRED_COMMANDS, checkPackages } from './packages.js';
import { fakeContext, only } from './test-support.js';

const PROVISION = fileURLToPath(new URL('../../../scripts/provision.sh', import.meta.url));

test('the command list covers every command scripts/provision.sh installs, with the same package', () => {
  const text = readFileSync(PROVISION, 'utf8');
  const need = [...text.matchAll(/^\s*\[([\w-]+)\]=([\w.+-]+)\s*$/gm)].map((m) => [m[1], m[2]]);
  assert.ok(need.length >= 10, 'provision.sh declares its commands');
  for (const [cmd, pkg] of need) assert.equal(REQUIRED_COMMANDS[cmd as string], pkg, `${cmd} → ${pkg}`);
});

test('all commands found → one ok line', async () => {
  const commands = Object.fromEntries(Object.keys(REQUIRED_COMMANDS).map((c) => [c, `/usr/bin/${c}`]));
  const c = only(await checkPackages(fakeContext({ commands })));
  assert.equal(c.status, 'ok');
  assert.match(c.detail, new RegExp(`all ${Object.keys(REQUIRED_COMMANDS).length} commands found`));
});

test('missing commands → one warn line, one install command with each package once', async () => {
  const commands = Object.fromEntries(Object.keys(REQUIRED_COMMANDS).filter((c) => !['wrk', 'nghttp', 'h2load', 'nginx'].includes(c)).map((c) => [c, `/usr/bin/${c}`]));
  const c = only(await checkPackages(fakeContext({ commands })));
  assert.equal(c.status, 'warn');
  assert.equal(c.detail, 'not found: h2load (nghttp2-client), nghttp (nghttp2-client), nginx (nginx-light), wrk; needed by tests and benchmarks');
  assert.equal(c.fix, 'sudo apt-get install -y nghttp2-client nginx-light wrk');
  const one = only(await checkPackages(fakeContext(), { wrk: 'wrk' }));
  assert.equal(one.detail, 'wrk not found; needed by tests and benchmarks');
  assert.equal(one.fix, 'sudo apt-get install -y wrk');
});
