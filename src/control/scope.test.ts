import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../proxy/balancer/index.js';
import '../proxy/filters/index.js';
import { decodeResources } from '../config/decode.js';
import { meshToXds, meshToXdsFlavors, routeConfigName } from './control-plane.js';
import { decodeResource } from '../xds/protos.js';
import { compileMesh } from './mesh-compile.js';
import { MESH_GROUP, dependenciesOf, dependenciesOfGroup, flavorOf, groupOfNode, indexMesh, metadataString, parseGroup, renderingOf, scopedSet } from './scope.js';
import { CDS, EDS, LDS, RDS } from './xds/test-resources.js';

const MESH = `
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: web }
spec: { aliases: [www.example], endpoints: [{ address: 10.0.0.1, port: 80 }] }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: web-v2 }
spec: { endpoints: [{ address: 10.0.0.2, port: 80 }] }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: db }
spec: { protocol: tcp, endpoints: [{ address: 10.0.0.3, port: 5432 }] }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: other }
spec: { endpoints: [{ address: 10.0.0.4, port: 80 }] }
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: web-split }
spec:
  service: web
  rules:
    - backends: [{ service: web, weight: 90 }, { service: web-v2, weight: 10 }]
`;

function mesh() {
  const d = decodeResources(MESH, 'mesh.yaml');
  assert.ok(d.ok, JSON.stringify(!d.ok && d.errors));
  const m = compileMesh(d.value, []);
  assert.ok(m.ok, JSON.stringify(!m.ok && m.errors));
  const full = meshToXds(m.value);
  const index = indexMesh(m.value, routeConfigName, (h) => [h.name, ...h.domains.filter((x) => x !== h.name)]);
  return { full, index };
}

const names = (set: ReturnType<typeof scopedSet>, type: string): string[] => [...(set.get(type)?.keys() ?? [])].sort();

test('a dependency brings its listener, route configuration and every cluster its routes reach', () => {
  const { full, index } = mesh();
  const s = scopedSet(full, index, ['web']);
  assert.deepEqual(names(s, LDS), ['web', 'www.example']);
  assert.deepEqual(names(s, RDS), ['web-routes']);
  assert.deepEqual(names(s, CDS), ['web', 'web-v2']);
  assert.deepEqual(names(s, EDS), ['web', 'web-v2']);
  assert.ok(full.get(CDS)?.has('other'), 'the whole mesh has the other service');
});

test('an alias scopes like the name; a TCP service brings its cluster only; unknown names bring nothing', () => {
  const { full, index } = mesh();
  assert.deepEqual(names(scopedSet(full, index, ['www.example']), CDS), ['web', 'web-v2']);
  const db = scopedSet(full, index, ['db', 'nope']);
  assert.deepEqual(names(db, CDS), ['db']);
  assert.deepEqual(names(db, EDS), ['db']);
  assert.deepEqual(names(db, LDS), []);
  const none = scopedSet(full, index, []);
  for (const t of [CDS, EDS, LDS, RDS]) assert.deepEqual(names(none, t), [], `${t} present and empty`);
  assert.equal(none.size, 4);
});

test('groups: no metadata or * is the whole mesh; dependency sets are normalised', () => {
  const meta = (v: string) => ({ fields: { 'strata.dependencies': { stringValue: v, kind: 'stringValue' } } });
  assert.equal(groupOfNode({ id: 'a' }), MESH_GROUP);
  assert.equal(groupOfNode({ id: 'a', metadata: meta('*') }), MESH_GROUP);
  assert.equal(groupOfNode({ id: 'a', metadata: meta('web, DB,web') }), 'deps:db,web');
  assert.equal(groupOfNode({ id: 'b', metadata: meta('db,web') }), 'deps:db,web');
  assert.equal(groupOfNode({ id: 'c', metadata: meta('') }), 'deps:');
  assert.deepEqual(dependenciesOfGroup('deps:'), []);
  assert.deepEqual(dependenciesOfGroup('deps:db,web'), ['db', 'web']);
  assert.equal(dependenciesOfGroup(MESH_GROUP), undefined);
  assert.deepEqual(dependenciesOf({ id: 'x', metadata: { 'strata.dependencies': 'a' } }), ['a']);
  assert.equal(metadataString({ fields: { k: { number_value: 3 } } }, 'k'), undefined);
  assert.equal(metadataString(null, 'k'), undefined);
  assert.equal(metadataString('junk', 'k'), undefined);
});

test('sidecars and Envoy take the full route rendering (in groups of their own); other clients the proxyless one', () => {
  const meta = (fields: Record<string, string>) => ({ fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }])) });
  assert.equal(flavorOf({ id: 'a', metadata: meta({ 'strata.kind': 'sidecar' }) }), 'full');
  assert.equal(flavorOf({ id: 'a', metadata: meta({ 'strata.kind': 'envoy' }) }), 'full');
  assert.equal(flavorOf({ id: 'a', metadata: meta({ 'strata.kind': 'proxyless-grpc' }) }), 'proxyless');
  assert.equal(flavorOf({ id: 'a' }), 'proxyless');
  const key = groupOfNode({ id: 's', metadata: meta({ 'strata.kind': 'sidecar', 'strata.dependencies': 'web' }) });
  assert.equal(key, 'full:deps:web');
  assert.deepEqual(parseGroup(key), { flavor: 'full', rendering: 'sidecar', dependencies: ['web'] });
  assert.equal(groupOfNode({ id: 's', metadata: meta({ 'strata.kind': 'sidecar' }) }), 'full:mesh');
  assert.deepEqual(parseGroup('full:mesh'), { flavor: 'full', rendering: 'sidecar', dependencies: undefined });
  assert.deepEqual(parseGroup('mesh'), { flavor: 'proxyless', rendering: 'proxyless', dependencies: undefined });
  // Envoy: the full routes but not Strata's own resources, so not the sidecars' group.
  assert.equal(renderingOf({ id: 'e', metadata: meta({ 'strata.kind': 'envoy' }) }), 'full');
  assert.equal(renderingOf({ id: 's', metadata: meta({ 'strata.kind': 'sidecar' }) }), 'sidecar');
  const envoy = groupOfNode({ id: 'e', metadata: meta({ 'strata.kind': 'envoy', 'strata.dependencies': 'web' }) });
  assert.equal(envoy, 'envoy:deps:web');
  assert.deepEqual(parseGroup(envoy), { flavor: 'full', rendering: 'full', dependencies: ['web'] });
  assert.deepEqual(parseGroup('envoy:mesh'), { flavor: 'full', rendering: 'full', dependencies: undefined });
  assert.deepEqual(dependenciesOfGroup('envoy:deps:a,b'), ['a', 'b']);

  const d = decodeResources(
    `${MESH}---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: other-maintenance }
spec:
  service: other
  rules:
    - match: { path: { prefix: /down } }
      directResponse: { status: 503, body: maintenance }
    - backends: [{ service: other }]
`,
    'mesh.yaml',
  );
  assert.ok(d.ok, JSON.stringify(!d.ok && d.errors));
  const m = compileMesh(d.value, []);
  assert.ok(m.ok, JSON.stringify(!m.ok && m.errors));
  const { full, proxyless } = meshToXdsFlavors(m.value);
  const routesOf = (set: typeof full): number => {
    const any = set.get(RDS)?.get('other-routes');
    assert.ok(any);
    const rc = decodeResource(any.type_url, any.value) as { virtual_hosts: { routes: unknown[] }[] };
    return rc.virtual_hosts[0]!.routes.length;
  };
  assert.equal(routesOf(full), 2, 'the direct response is served to sidecars');
  assert.equal(routesOf(proxyless), 1, 'and left out for proxyless gRPC');
  assert.equal(full.get(CDS), proxyless.get(CDS), 'clusters are shared, not encoded twice');
  assert.equal(full.get(RDS)?.get('web-routes'), proxyless.get(RDS)?.get('web-routes'), 'route configs without direct responses are shared');
});

test('priority: the strata.priority Listener is in the sidecar rendering only, and in every scoped set cut from it', () => {
  const d = decodeResources(
    `${MESH}---
apiVersion: strata.dev/v1alpha1
kind: PriorityPolicy
metadata: { name: p }
spec:
  rules: [ { match: { path: { prefix: /export } }, class: bulk } ]
`,
    'mesh.yaml',
  );
  assert.ok(d.ok, JSON.stringify(!d.ok && d.errors));
  const m = compileMesh(d.value, []);
  assert.ok(m.ok, JSON.stringify(!m.ok && m.errors));
  const sets = meshToXdsFlavors(m.value);
  assert.ok(sets.sidecar.get(LDS)?.has('strata.priority'));
  assert.equal(sets.full.get(LDS)?.has('strata.priority'), false, 'not for Envoy');
  assert.equal(sets.proxyless.get(LDS)?.has('strata.priority'), false, 'not for proxyless gRPC');
  assert.equal(sets.sidecar.get(LDS)?.get('web'), sets.full.get(LDS)?.get('web'), 'service listeners are shared');
  assert.equal(sets.sidecar.get(RDS), sets.full.get(RDS));
  const index = indexMesh(m.value, routeConfigName, (h) => [h.name, ...h.domains.filter((x) => x !== h.name)]);
  assert.deepEqual(names(scopedSet(sets.sidecar, index, ['web']), LDS), ['strata.priority', 'web', 'www.example']);
  assert.deepEqual(names(scopedSet(sets.sidecar, index, []), LDS), ['strata.priority'], 'mesh-wide: even with no dependency');
  assert.deepEqual(names(scopedSet(sets.full, index, []), LDS), []);
  // No PriorityClass / PriorityPolicy: no listener.
  const plain = compileMesh((decodeResources(MESH, 'mesh.yaml') as { value: Parameters<typeof compileMesh>[0] }).value, []);
  assert.ok(plain.ok);
  assert.equal(meshToXds(plain.value, 'sidecar').get(LDS)?.has('strata.priority'), false);
});

test('Envoy’s rendering asks for LEAST_REQUEST where the balancer is least-request or peak-ewma; the others keep ROUND_ROBIN', () => {
  const d = decodeResources(
    `${MESH}---
apiVersion: strata.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: web }
spec: { service: web, loadBalancer: { policy: least-request } }
---
apiVersion: strata.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: other }
spec: { service: other, loadBalancer: { policy: peak-ewma } }
`,
    'mesh.yaml',
  );
  assert.ok(d.ok, JSON.stringify(!d.ok && d.errors));
  const m = compileMesh(d.value, []);
  assert.ok(m.ok, JSON.stringify(!m.ok && m.errors));
  const flavors = meshToXdsFlavors(m.value);
  const policy = (set: typeof flavors.full, name: string): unknown => {
    const any = set.get(CDS)?.get(name);
    assert.ok(any, name);
    return (decodeResource(any.type_url, any.value) as { lb_policy?: unknown }).lb_policy;
  };
  for (const name of ['web', 'other']) {
    assert.equal(policy(flavors.full, name), 'LEAST_REQUEST', `envoy: ${name}`);
    assert.equal(policy(flavors.sidecar, name), 'ROUND_ROBIN', `sidecar: ${name} (the balancer travels in metadata)`);
    assert.equal(policy(flavors.proxyless, name), 'ROUND_ROBIN', `proxyless: ${name} (gRPC NACKs LEAST_REQUEST)`);
  }
  assert.equal(policy(flavors.full, 'web-v2'), 'ROUND_ROBIN');
  assert.equal(flavors.full.get(CDS)?.get('web-v2'), flavors.proxyless.get(CDS)?.get('web-v2'), 'other clusters are encoded once');
  assert.equal(flavors.sidecar.get(CDS), flavors.proxyless.get(CDS));
});
