import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import '../balancer/index.js';
import { decodeResources } from '../../config/decode.js';
import { clusterSpec, hostsFor } from '../../control/xds/test-resources.js';
import { compileLocal } from './local.js';
import { mergeSnapshot } from './merge.js';
import type { MeshPrioritySpec } from '../../xds/priority-xds.js';

const FILE = `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: client }
spec:
  service: client
  outbound:
    ports: [ { port: 19001, service: orders }, { port: 19002, service: local-only } ]
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: local-only }
spec:
  protocol: http
  endpoints: [ { address: 127.0.0.1, port: 7000 } ]
`;

function local() {
  const d = decodeResources(FILE, 'sidecar.yaml');
  assert.ok(d.ok, JSON.stringify(d));
  const s = compileLocal(d.value, 'sidecar.yaml');
  assert.ok(s.ok, JSON.stringify(s));
  return s.value;
}

describe('sidecar file + xDS → Snapshot', () => {
  it('compiles a file whose outbound ports name services only xDS knows, without placeholders', () => {
    const s = local();
    assert.deepEqual(s.sidecar.localPorts.map((p) => p.service), ['orders', 'local-only']);
    assert.deepEqual(s.clusters.map((c) => c.name), ['local-only']);
    assert.ok(!s.virtualHosts.some((h) => h.name === 'orders'));
  });

  it('keeps the sidecar, adds xDS services, xDS wins on a name clash; version is a content hash', () => {
    const s = local();
    const xds = { clusters: [clusterSpec('orders', [8081]), clusterSpec('local-only', [9999])], virtualHosts: [...hostsFor('orders', 'orders')] };
    const m = mergeSnapshot(s, xds);
    assert.deepEqual(m.sidecar, s.sidecar);
    assert.deepEqual(m.clusters.map((c) => c.name).sort(), ['local-only', 'orders']);
    assert.equal(m.clusters.find((c) => c.name === 'local-only')?.endpoints[0]?.port, 9999);
    assert.equal(m.source, 'xds+sidecar.yaml');
    assert.equal(mergeSnapshot(s, xds).version, m.version);
    assert.notEqual(mergeSnapshot(s, { ...xds, clusters: [clusterSpec('orders', [8082])] }).version, m.version);
  });

  it('priority: classes, rules and default class from xDS replace the file\'s; the file\'s limits stay', () => {
    const withPriority = `${FILE}---
apiVersion: strata.dev/v1alpha1
kind: PriorityClass
metadata: { name: file-only }
spec: { rank: 50 }
---
apiVersion: strata.dev/v1alpha1
kind: PriorityPolicy
metadata: { name: file-policy }
spec:
  rules: [ { match: { path: { prefix: /file } }, class: file-only } ]
`.replace('  service: client\n', '  service: client\n  priority:\n    trustIncoming: false\n    outbound: { limit: { static: 7 } }\n');
    const d = decodeResources(withPriority, 'sidecar.yaml');
    assert.ok(d.ok, JSON.stringify(d));
    const c = compileLocal(d.value, 'sidecar.yaml');
    assert.ok(c.ok, JSON.stringify(c));
    const s = c.value;
    assert.ok(s.priority);
    const mesh: MeshPrioritySpec = {
      classes: [{ name: 'gold', rank: 400, minShare: 0, maxShare: 1, shedOrder: 400 }, { name: 'default', rank: 200, minShare: 0, maxShare: 1, shedOrder: 200 }],
      defaultClass: 'default',
      rules: [{ name: 'p/r', match: { path: { prefix: '/checkout' } }, class: 'gold', trustIncoming: false }],
    };
    const m = mergeSnapshot(s, { clusters: [], virtualHosts: [], priority: mesh });
    assert.deepEqual(m.priority?.classes, mesh.classes, 'the mesh classes, not merged per class with the file\'s');
    assert.deepEqual(m.priority?.rules, mesh.rules);
    assert.equal(m.priority?.defaultClass, 'default');
    assert.equal(m.priority?.trustIncoming, false, 'the Sidecar block stays');
    assert.deepEqual(m.priority?.outbound?.limit, { kind: 'static', limit: 7 });
    assert.equal(m.priority?.pools, 'per-class');
    // Without priority from xDS, the file's is used as is.
    assert.deepEqual(mergeSnapshot(s, { clusters: [], virtualHosts: [] }).priority, s.priority);
    // A file without any priority: on with the defaults once the mesh sends it.
    const plain = mergeSnapshot(local(), { clusters: [], virtualHosts: [], priority: mesh });
    assert.deepEqual(plain.priority, { ...mesh, trustIncoming: true, pools: 'per-class', services: {} });
    assert.equal(mergeSnapshot(local(), { clusters: [], virtualHosts: [] }).priority, undefined);
  });
});
