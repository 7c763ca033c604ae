import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/loader.js';
import '../proxy/balancer/index.js';
import '../proxy/filters/index.js';
import { CONFIGS } from './configs.js';
import { BACKEND, DEFAULT_WORKLOAD, EDGE, appPlan, sidecarResources, toYaml } from './topology.js';

const addrs = { edge: '10.9.1.2', backend: '10.9.2.2', rabbitPort: 5999 };

test('sidecarResources: every sidecar file of every configuration loads; layers show up where they should', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-exp-topo-'));
  try {
    for (const c of CONFIGS) {
      const files = sidecarResources(c, DEFAULT_WORKLOAD, addrs);
      assert.deepEqual(Object.keys(files).sort(), c.mesh ? ['catalog', 'frontend', 'search', 'store', 'worker'] : []);
      for (const [name, docs] of Object.entries(files)) {
        const file = join(dir, `${c.id}-${name}.yaml`);
        writeFileSync(file, toYaml(docs));
        const snap = await loadConfig(file);
        assert.ok(snap.ok, `${c.id}/${name}: ${JSON.stringify(!snap.ok && snap.errors)}`);
        const text = toYaml(docs);
        assert.equal(/priority:/.test(text), c.proxy, `${c.id}/${name}: priority block only with the proxy layer`);
        assert.equal(/x-max-priority|maxPriorityQueues/.test(text), c.broker && (name === 'search' || name === 'worker'), `${c.id}/${name}: priority queues only with the broker layer`);
        assert.equal(/soPriority: 65552/.test(text), c.kernel, `${c.id}/${name}: htb classids only with the kernel layer`);
        if (snap.ok && snap.value.priority) {
          const marked = snap.value.priority.classes.filter((k) => k.dscp !== undefined || k.soPriority !== undefined || k.congestion !== undefined);
          assert.equal(marked.length > 0, c.kernel, `${c.id}/${name}: socket options (DSCP, SO_PRIORITY, congestion control) only with the kernel layer`);
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('appPlan: without a mesh the apps call each other and the broker directly', () => {
  const [noMesh, mesh] = [CONFIGS[0]!, CONFIGS[1]!];
  const front = (c: typeof noMesh) => appPlan(c, DEFAULT_WORKLOAD, addrs).find((a) => a.name === 'frontend')!;
  assert.equal(front(noMesh).host, EDGE);
  assert.equal(front(noMesh).env['CATALOG_URL'], 'http://10.9.2.2:8101');
  assert.equal(front(mesh).env['CATALOG_URL'], 'http://127.0.0.1:9101');
  const worker = appPlan(noMesh, DEFAULT_WORKLOAD, addrs).find((a) => a.name === 'worker')!;
  assert.equal(worker.host, BACKEND);
  assert.equal(worker.env['AMQP_URL'], 'amqp://guest:guest@127.0.0.1:5999');
});
