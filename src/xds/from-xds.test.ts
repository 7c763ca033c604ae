import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FieldError } from '../errors.js';
import {
  clusterSpecFromXds,
  decodeCluster,
  decodeClusterAny,
  decodeClusterLoadAssignment,
  decodeClusterLoadAssignmentAny,
  decodeRouteConfiguration,
  decodeRouteConfigurationAny,
  nackMessage,
} from './from-xds.js';
import type { XdsDecoded } from './from-xds.js';
import { clusterToXds, endpointsToXds, routesToXds } from './to-xds.js';
import { CLUSTER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, pack } from './protos.js';
import type { XdsMessage } from './protos.js';
import { FULL_CLUSTER, HOSTS } from './test-support.js';

function errorsOf<T>(d: XdsDecoded<T>): string[] {
  assert.ok('errors' in d, `expected errors, got ${JSON.stringify(d)}`);
  return d.errors.map((e: FieldError) => `${e.path}: ${e.message}`);
}

const route = (fields: XdsMessage): XdsMessage => ({
  name: 'rc',
  virtual_hosts: [{ name: 'vh', domains: ['a'], routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'c' }, ...fields }] }],
});

test('CLA errors name every bad field with its path', () => {
  const errors = errorsOf(
    decodeClusterLoadAssignment({
      cluster_name: 'orders',
      endpoints: [
        { locality: {}, load_balancing_weight: { value: 1 }, lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] },
        { lb_endpoints: [] },
        {
          locality: { zone: 'z' },
          load_balancing_weight: { value: 2 },
          lb_endpoints: [
            { endpoint: { address: {} } },
            { endpoint: { address: { socket_address: { address: 'orders.local', port_value: 70000 } } } },
          ],
        },
      ],
    }),
  );
  assert.deepEqual(errors, [
    'endpoints[1].locality: not set',
    'endpoints[1].load_balancing_weight: not set',
    'endpoints[2].lb_endpoints[0].endpoint.address.socket_address: not set',
    'endpoints[2].lb_endpoints[1].endpoint.address.socket_address.address: "orders.local" is not an IP literal',
    'endpoints[2].lb_endpoints[1].endpoint.address.socket_address.port_value: must be 1-65535',
  ]);
});

test('Cluster errors: discovery type, config source, balancer, Strata metadata', () => {
  const x = clusterToXds(FULL_CLUSTER);
  const bad = {
    ...x,
    type: 'STATIC',
    eds_cluster_config: { eds_config: { path: '/x' } },
    lb_policy: 'LEAST_REQUEST',
    metadata: { filter_metadata: { strata: { fields: { protocol: { stringValue: 'smtp' } } } } },
  };
  assert.deepEqual(errorsOf(decodeCluster(bad)), [
    'type: unsupported discovery type STATIC (only EDS)',
    'eds_cluster_config.eds_config: config source must be ads or self',
    'lb_policy: unsupported LEAST_REQUEST (ROUND_ROBIN or RING_HASH)',
    'metadata.filter_metadata.strata.protocol: must be one of http, http2, grpc, tcp',
  ]);
  assert.deepEqual(errorsOf(decodeCluster({})), ['name: not set', 'type: unsupported discovery type STATIC (only EDS)', 'eds_cluster_config: not set']);
});

test('a CLA for another cluster is reported, not silently ignored', () => {
  const errors = errorsOf(clusterSpecFromXds(clusterToXds(FULL_CLUSTER), { ...endpointsToXds(FULL_CLUSTER), cluster_name: 'other' }));
  assert.deepEqual(errors, ['ClusterLoadAssignment.cluster_name: "other" does not match cluster "orders"']);
});

test('route errors: path specifier, regex, header matchers, actions, weights, retries, foreign filters', () => {
  const p = 'virtual_hosts[0].routes[0]';
  assert.deepEqual(errorsOf(decodeRouteConfiguration(route({ match: {} }))), [`${p}.match: path specifier not set (prefix, path or safe_regex)`]);
  const regex = errorsOf(decodeRouteConfiguration(route({ match: { safe_regex: { regex: '(' } } })));
  assert.equal(regex.length, 1);
  assert.match(regex[0]!, /^virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid regex/);
  assert.deepEqual(
    errorsOf(decodeRouteConfiguration(route({ match: { prefix: '/', headers: [{ name: 'x', suffix_match: 'y' }, { name: 'z' }] } }))),
    [`${p}.match.headers[0].suffix_match: not supported`, `${p}.match.headers[1].header_match_specifier: not set`],
  );
  assert.deepEqual(errorsOf(decodeRouteConfiguration(route({ route: undefined, redirect: { path_redirect: '/' } }))), [`${p}.redirect: unsupported route action`]);
  assert.deepEqual(
    errorsOf(decodeRouteConfiguration(route({ route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 0 } }] } } }))),
    [`${p}.route.weighted_clusters.clusters: total weight must be greater than 0`],
  );
  assert.deepEqual(
    errorsOf(decodeRouteConfiguration(route({ route: { cluster: 'c', retry_policy: { retry_on: '5xx,refused-stream' } } }))),
    [`${p}.route.retry_policy.retry_on: unsupported retry condition "refused-stream"`],
  );
  const foreign = pack('type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', {});
  assert.deepEqual(errorsOf(decodeRouteConfiguration(route({ typed_per_filter_config: { 'envoy.filters.http.router': foreign } }))), [
    `${p}.typed_per_filter_config["envoy.filters.http.router"]: unsupported filter config type.googleapis.com/envoy.extensions.filters.http.router.v3.Router (not optional)`,
  ]);
  assert.deepEqual(errorsOf(decodeRouteConfiguration({ virtual_hosts: [{ domains: [], routes: 'x' }] })), [
    'name: not set',
    'virtual_hosts[0].name: not set',
    'virtual_hosts[0].domains: must not be empty',
    'virtual_hosts[0].routes: expected a list',
  ]);
});

test('malformed Any: wrong type URL, undecodable bytes', () => {
  assert.deepEqual(errorsOf(decodeClusterAny(pack(ROUTE_CONFIGURATION_TYPE_URL, routesToXds('r', HOSTS)))), [
    `type_url: expected ${CLUSTER_TYPE_URL}, got ${ROUTE_CONFIGURATION_TYPE_URL}`,
  ]);
  const garbage = errorsOf(decodeRouteConfigurationAny({ type_url: ROUTE_CONFIGURATION_TYPE_URL, value: Uint8Array.from([0xff, 0xff, 0xff]) }));
  assert.equal(garbage.length, 1);
  assert.match(garbage[0]!, /^\(?.*cannot decode/);
});

test('nackMessage joins every error with its path', () => {
  const d = decodeClusterLoadAssignment({ endpoints: [{ lb_endpoints: [] }] });
  assert.ok('errors' in d);
  assert.equal(nackMessage(d.errors), 'cluster_name: not set; endpoints[0].locality: not set; endpoints[0].load_balancing_weight: not set');
});

// ---------------------------------------------------------------------------------------------
// The decoders never throw, whatever they are given.

const decoders: ((v: unknown) => XdsDecoded<unknown>)[] = [
  decodeCluster,
  decodeClusterLoadAssignment,
  decodeRouteConfiguration,
  decodeClusterAny,
  decodeClusterLoadAssignmentAny,
  decodeRouteConfigurationAny,
  (v) => clusterSpecFromXds(v, v),
];

function assertResult(d: XdsDecoded<unknown>): void {
  assert.equal(typeof d.name, 'string');
  assert.ok('value' in d || ('errors' in d && d.errors.length > 0));
}

test('from-xds never throws on arbitrary values', () => {
  fc.assert(
    fc.property(fc.anything({ maxDepth: 4, withBoxedValues: true, withNullPrototype: true, withTypedArray: true }), (v) => {
      for (const decode of decoders) assertResult(decode(v));
    }),
    { numRuns: 300 },
  );
});

/** Replace the value at a random path inside a valid resource with an arbitrary value. */
function mutate(root: unknown, steps: number[], replacement: unknown): unknown {
  if (steps.length === 0 || root === null || typeof root !== 'object' || root instanceof Uint8Array) return replacement;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(root) ? [...root] : { ...(root as Record<string, unknown>) };
  const keys = Object.keys(copy);
  if (keys.length === 0) return replacement;
  const key = keys[steps[0]! % keys.length]!;
  (copy as Record<string, unknown>)[key] = mutate((copy as Record<string, unknown>)[key], steps.slice(1), replacement);
  return copy;
}

test('from-xds never throws on valid resources with one field replaced by anything', () => {
  const valid = [clusterToXds(FULL_CLUSTER), endpointsToXds(FULL_CLUSTER), routesToXds('r', HOSTS)];
  fc.assert(
    fc.property(
      fc.constantFrom(0, 1, 2),
      fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
      fc.anything({ maxDepth: 3 }),
      (which, steps, replacement) => {
        const mutated = mutate(valid[which], steps, replacement);
        for (const decode of decoders.slice(0, 3)) assertResult(decode(mutated));
      },
    ),
    { numRuns: 500 },
  );
});
