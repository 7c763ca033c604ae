import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import '../../src/proxy/balancer/index.js';
import '../../src/proxy/filters/index.js';
import type { Resource } from '../../src/config/resources.js';
import { compileMesh } from '../../src/control/mesh-compile.js';
import { SHARED_SERVICE, clientDependencies, endpointAddress, extraEndpoint, meshDocs, serviceName, sharedRouteDoc, toYamlStream } from './mesh.js';

const shape = { services: 25, endpointsPerService: 3, extraDependencies: 4, seed: 7 };

test('the generated mesh compiles: one cluster per service with its endpoints, routes that split', () => {
  const docs = parseAllDocuments(toYamlStream(meshDocs(shape))).map((d) => d.toJS() as Record<string, unknown>);
  assert.equal(docs.length, 25 + 1 + 2);
  const resources = docs.map((d) => ({ ...d, metadata: { namespace: 'default', ...(d['metadata'] as object) } }) as unknown as Resource);
  const mesh = compileMesh(resources, []);
  assert.ok(mesh.ok, JSON.stringify(!mesh.ok && mesh.errors));
  assert.equal(mesh.value.clusters.length, 25);
  assert.equal(mesh.value.clusters.reduce((a, c) => a + c.endpoints.length, 0), 75);
  assert.equal(serviceName(0), SHARED_SERVICE);
});

test('endpoint addresses are distinct IP literals', () => {
  const seen = new Set<string>();
  for (let s = 0; s < 1000; s++) for (let k = 0; k < 10; k++) seen.add(endpointAddress(s, k, 10).address);
  assert.equal(seen.size, 10_000);
  assert.match(extraEndpoint(3).address, /^10\.255\.\d+\.\d+$/);
  assert.notDeepEqual(extraEndpoint(1), extraEndpoint(2));
});

test('dependencies: the shared service plus distinct others, the same for the same seed', () => {
  const a = clientDependencies(50, shape);
  assert.deepEqual(a, clientDependencies(50, shape));
  for (const deps of a) {
    assert.equal(deps[0], SHARED_SERVICE);
    assert.equal(new Set(deps).size, 5);
  }
  assert.notDeepEqual(a, clientDependencies(50, { ...shape, seed: 8 }));
  assert.equal(clientDependencies(3, { ...shape, services: 3 })[0]?.length, 3);
});

test('the route change changes only the canary header value', () => {
  assert.notDeepEqual(sharedRouteDoc(1), sharedRouteDoc(2));
  assert.equal(JSON.stringify(sharedRouteDoc(1)).replace('"r1"', '"r2"'), JSON.stringify(sharedRouteDoc(2)));
});
