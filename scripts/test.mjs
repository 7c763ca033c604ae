#!/usr/bin/env node
// The project's test command: provision → type check + build → lint → import cycles → tests.
// Usage: npm test [-- FILTER...]   (FILTER: substrings of test file paths to run only those)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function step(name, cmd, args, opts = {}) {
  const t0 = Date.now();
  process.stdout.write(`\n== ${name}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`\n${name} failed (exit ${r.status ?? r.signal}) after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    process.exit(r.status || 1);
  }
}

function findTests(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

step('provision (system packages the tests use)', 'bash', ['scripts/provision.sh', '--check-or-install']);
step('type check + build (tsc)', process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
if (filters.length === 0) {
  step('lint (eslint)', process.execPath, ['node_modules/eslint/bin/eslint.js', '.']);
  step('import cycles (madge)', process.execPath, ['node_modules/madge/bin/cli.js', '--circular', '--extensions', 'js', 'dist/']);
}
let files = findTests(join(root, 'dist')).map((f) => relative(root, f)).sort();
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
step(`tests (${files.length} files)`, process.execPath, ['--test', '--test-concurrency=2', '--enable-source-maps', ...files]);
