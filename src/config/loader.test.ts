import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decoded } from '../errors.js';
import { loadConfig } from './loader.js';
import { watchConfig } from './watch.js';
import type { Snapshot } from './snapshot.js';
import { EXAMPLE_PATH, SIDECAR, docs, errorAt, errorsOf, registerFakes, route, service, valueOf } from './test-support.js';

registerFakes();

/** Generous: the machine may be loaded. Waits end as soon as the callback arrives. */
const CHANGE_TIMEOUT_MS = 15_000;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'strata-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Collects watch callbacks; next() waits for the next one. */
class Changes {
  readonly seen: Decoded<Snapshot>[] = [];
  private readonly queued: Decoded<Snapshot>[] = [];
  private readonly waiters: ((r: Decoded<Snapshot>) => void)[] = [];

  readonly push = (r: Decoded<Snapshot>): void => {
    this.seen.push(r);
    const waiter = this.waiters.shift();
    if (waiter) waiter(r);
    else this.queued.push(r);
  };

  next(): Promise<Decoded<Snapshot>> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no change reported within ${CHANGE_TIMEOUT_MS} ms`)), CHANGE_TIMEOUT_MS);
      this.waiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ONE = docs(SIDECAR, service('a'));
const TWO = docs(SIDECAR, service('a'), service('b'));

test('loadConfig reads the example file', async () => {
  const s = valueOf(await loadConfig(EXAMPLE_PATH));
  assert.equal(s.source, EXAMPLE_PATH);
  assert.deepEqual(s.clusters.map((c) => c.name), ['backend', 'backend-canary', 'db']);
});

test('loadConfig reads every config file of a directory, in name order', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, '00-sidecar.yaml'), SIDECAR);
  writeFileSync(join(dir, '10-services.yml'), docs(service('a'), service('b')));
  writeFileSync(join(dir, '20-route.json'), JSON.stringify({ apiVersion: 'strata.dev/v1alpha1', kind: 'Route', metadata: { name: 'a' }, spec: { service: 'a', rules: [{ backends: [{ service: 'b' }] }] } }));
  writeFileSync(join(dir, 'README.md'), 'not config');
  mkdirSync(join(dir, 'nested.yaml'));
  const s = valueOf(await loadConfig(dir));
  assert.equal(s.source, dir);
  assert.deepEqual(s.clusters.map((c) => c.name), ['a', 'b']);
  assert.deepEqual(s.virtualHosts[0]!.routes[0]!.action, { kind: 'forward', backends: [{ cluster: 'b', weight: 1 }] });
});

test('loadConfig names the file of every error', async (t) => {
  const dir = tempDir(t);
  const bad = join(dir, 'a.yaml');
  const alsoBad = join(dir, 'b.yaml');
  writeFileSync(bad, 'kind: [unclosed\n');
  writeFileSync(alsoBad, docs(SIDECAR, 'apiVersion: strata.dev/v1alpha1\nkind: Gateway\nmetadata: { name: g }\nspec: {}\n'));
  const errors = errorsOf(await loadConfig(dir));
  assert.ok(errors.some((e) => e.source === bad && /YAML syntax error at \d+:\d+/.test(e.message)));
  assert.equal(errorAt(errors, 'kind', 'Gateway/g')?.source, alsoBad);
});

test('compile errors name the file that holds the resource', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), docs(SIDECAR, service('a')));
  writeFileSync(join(dir, 'b.yaml'), route('r', '  service: a\n  rules:\n    - backends: [{ service: missing }]\n'));
  writeFileSync(join(dir, 'c.yaml'), service('a'));
  const errors = errorsOf(await loadConfig(dir));
  assert.deepEqual(errorAt(errors, 'spec.rules[0].backends[0].service'), {
    source: join(dir, 'b.yaml'),
    resource: 'Route/r',
    path: 'spec.rules[0].backends[0].service',
    message: 'unknown service "missing" (services in namespace default: a)',
  });
  const dup = errorAt(errors, 'metadata.name', 'Service/a');
  assert.equal(dup?.source, join(dir, 'c.yaml'));
  assert.match(dup?.message ?? '', new RegExp(`first defined by Service/a \\(${join(dir, 'a.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, document #2\\)`));
});

test('a missing file, an empty directory: error results, not exceptions', async (t) => {
  const dir = tempDir(t);
  const missing = join(dir, 'nope.yaml');
  assert.deepEqual(errorsOf(await loadConfig(missing)), [{ source: missing, path: '', message: 'cannot read: no such file or directory' }]);
  assert.match(errorsOf(await loadConfig(dir))[0]!.message, /no \*\.yaml, \*\.yml or \*\.json files/);
});

test('watchConfig reports a rewrite', async (t) => {
  const file = join(tempDir(t), 'sidecar.yaml');
  writeFileSync(file, ONE);
  const changes = new Changes();
  const w = watchConfig(file, changes.push);
  t.after(() => w.close());
  writeFileSync(file, TWO);
  const s = valueOf(await changes.next());
  assert.deepEqual(s.clusters.map((c) => c.name), ['a', 'b']);
});

test('watchConfig reports a file replaced by rename', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'sidecar.yaml');
  writeFileSync(file, ONE);
  const changes = new Changes();
  const w = watchConfig(file, changes.push);
  t.after(() => w.close());
  const tmp = join(dir, '.sidecar.yaml.swp');
  writeFileSync(tmp, TWO);
  renameSync(tmp, file);
  const s = valueOf(await changes.next());
  assert.deepEqual(s.clusters.map((c) => c.name), ['a', 'b']);
});

test('watchConfig stays quiet when the content is unchanged', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'sidecar.yaml');
  writeFileSync(file, ONE);
  const changes = new Changes();
  const w = watchConfig(file, changes.push);
  t.after(() => w.close());
  writeFileSync(file, ONE);
  const tmp = join(dir, 'tmp');
  writeFileSync(tmp, ONE);
  renameSync(tmp, file);
  await delay(600); // bounded: well past the debounce, so those events have been handled
  assert.equal(changes.seen.length, 0);
  // A real change afterwards is the first (and only) report.
  writeFileSync(file, TWO);
  assert.equal(valueOf(await changes.next()).clusters.length, 2);
  assert.equal(changes.seen.length, 1);
});

test('watchConfig reports an invalid rewrite as errors, then the fix', async (t) => {
  const file = join(tempDir(t), 'sidecar.yaml');
  writeFileSync(file, ONE);
  const changes = new Changes();
  const w = watchConfig(file, changes.push);
  t.after(() => w.close());
  writeFileSync(file, `${ONE}---\nkind: [\n`);
  const errors = errorsOf(await changes.next());
  assert.equal(errors[0]?.source, file);
  assert.match(errors[0]?.message ?? '', /YAML syntax error/);
  writeFileSync(file, TWO);
  assert.equal(valueOf(await changes.next()).clusters.length, 2);
});

test('watchConfig on a directory sees a new file', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.yaml'), ONE);
  const changes = new Changes();
  const w = watchConfig(dir, changes.push);
  t.after(() => w.close());
  writeFileSync(join(dir, 'b.yaml'), service('b'));
  assert.deepEqual(valueOf(await changes.next()).clusters.map((c) => c.name), ['a', 'b']);
});

test('watchConfig reports a deleted file as an error result', async (t) => {
  const file = join(tempDir(t), 'sidecar.yaml');
  writeFileSync(file, ONE);
  const changes = new Changes();
  const w = watchConfig(file, changes.push);
  t.after(() => w.close());
  rmSync(file);
  assert.match(errorsOf(await changes.next())[0]?.message ?? '', /cannot read: no such file/);
});
