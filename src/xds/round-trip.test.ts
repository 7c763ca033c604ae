import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterSpec, VirtualHostSpec } from '../config/snapshot.js';
import { clusterToXds, endpointsToXds, routesToXds } from './to-xds.js';
import { clusterSpecFromXds, decodeCluster, decodeClusterAny, decodeRouteConfiguration, decodeRouteConfigurationAny } from './from-xds.js';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, pack } from './protos.js';
import { ALL_CLUSTERS, HOSTS, overTheWire } from './test-support.js';

function clusterRoundTrip(c: ClusterSpec): ClusterSpec {
  const cluster = overTheWire(CLUSTER_TYPE_URL, clusterToXds(c));
  const cla = overTheWire(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, endpointsToXds(c));
  const decoded = clusterSpecFromXds(cluster, cla);
  if ('errors' in decoded) assert.fail(JSON.stringify(decoded.errors));
  return decoded.value;
}

function routesRoundTrip(hosts: VirtualHostSpec[]): VirtualHostSpec[] {
  const decoded = decodeRouteConfiguration(overTheWire(ROUTE_CONFIGURATION_TYPE_URL, routesToXds('outbound', hosts)));
  if ('errors' in decoded) assert.fail(JSON.stringify(decoded.errors));
  assert.equal(decoded.name, 'outbound');
  return decoded.value;
}

for (const c of ALL_CLUSTERS) {
  test(`cluster ${c.name} (${c.loadBalancer.policy}, ${c.protocol}) survives spec → xDS → bytes → spec`, () => {
    assert.deepEqual(clusterRoundTrip(c), c);
  });
}

test('the produced objects decode directly too (before encoding)', () => {
  for (const c of ALL_CLUSTERS) {
    const decoded = decodeCluster(clusterToXds(c));
    assert.ok('value' in decoded, JSON.stringify(decoded));
    assert.deepEqual(decoded.value, { ...c, endpoints: [] });
  }
  const routes = decodeRouteConfiguration(routesToXds('outbound', HOSTS));
  assert.ok('value' in routes);
  assert.deepEqual(routes.value, HOSTS);
});

test('resources packed in Any decode through the *Any decoders', () => {
  const c = ALL_CLUSTERS[0]!;
  const decoded = decodeClusterAny(pack(CLUSTER_TYPE_URL, clusterToXds(c)));
  assert.ok('value' in decoded);
  assert.equal(decoded.name, c.name);
  const routes = decodeRouteConfigurationAny(pack(ROUTE_CONFIGURATION_TYPE_URL, routesToXds('r', HOSTS)));
  assert.ok('value' in routes);
  assert.deepEqual(routes.value, HOSTS);
});

test('routes survive spec → xDS → bytes → spec: splits, regex, headers, methods, retries, timeouts, rewrites, direct responses, filters', () => {
  assert.deepEqual(routesRoundTrip(HOSTS), HOSTS);
});

test('filters keep their order and repeated names', () => {
  const filters = routesRoundTrip(HOSTS)[0]!.routes[0]!.filters;
  assert.deepEqual(filters.map((f) => f.name), ['header-mutation', 'fault', 'header-mutation']);
});

test('a header that must be absent comes back as an inverted presence match (same meaning)', () => {
  const hosts: VirtualHostSpec[] = [
    {
      name: 'h',
      domains: ['h'],
      routes: [
        {
          name: 'r',
          match: { headers: [{ name: 'x-a', match: { present: false } }, { name: 'x-b', match: { present: false }, invert: true }] },
          action: { kind: 'forward', backends: [{ cluster: 'c', weight: 1 }] },
          timeoutMs: 0,
          filters: [],
        },
      ],
    },
  ];
  const headers = routesRoundTrip(hosts)[0]!.routes[0]!.match.headers;
  assert.deepEqual(headers, [
    { name: 'x-a', match: { present: true }, invert: true },
    { name: 'x-b', match: { present: true } },
  ]);
});
