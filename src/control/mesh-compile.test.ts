import assert from 'node:assert/strict';
import { test } from 'node:test';
import '../proxy/balancer/index.js';
import '../proxy/filters/index.js';
import type { Resource } from '../config/resources.js';
import { compileMesh } from './mesh-compile.js';

const service = (name: string, spec: Record<string, unknown>): Resource =>
  ({ apiVersion: 'strata.dev/v1alpha1', kind: 'Service', metadata: { name, namespace: 'default' }, spec }) as unknown as Resource;

test('services become clusters and virtual hosts; registered endpoints join their cluster', () => {
  const r = compileMesh(
    [service('echo', { protocol: 'grpc', endpoints: [{ address: '10.0.0.1', port: 80 }] }), service('db', { protocol: 'tcp', endpoints: [] })],
    [
      { service: 'echo', address: '10.0.0.2', port: 80 },
      { service: 'echo', address: '10.0.0.1', port: 80 },
      { service: 'nobody', address: '10.0.0.9', port: 80 },
    ],
  );
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.value.clusters.map((c) => c.name), ['db', 'echo']);
  const echo = r.value.clusters.find((c) => c.name === 'echo');
  assert.deepEqual(echo?.endpoints.map((e) => `${e.address}:${e.port}`), ['10.0.0.1:80', '10.0.0.2:80']);
  assert.deepEqual(r.value.virtualHosts.map((h) => h.name), ['echo']);
});

test('a Sidecar is not required; broken references are field errors', () => {
  const route = { apiVersion: 'strata.dev/v1alpha1', kind: 'Route', metadata: { name: 'r', namespace: 'default' }, spec: { service: 'missing', rules: [{ backends: [{ service: 'echo' }] }] } } as unknown as Resource;
  const r = compileMesh([service('echo', { endpoints: [] }), route], []);
  assert.equal(r.ok, false);
  assert.ok(!r.ok && r.errors.some((e) => e.resource === 'Route/r' && e.path === 'spec.service'), JSON.stringify(!r.ok && r.errors));
});
