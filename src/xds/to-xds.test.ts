import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import type { ClusterSpec } from '../config/snapshot.js';
import { apiListenerToXds, clusterToXds, domainsToXds, endpointsToXds, hashPoliciesOf, retryToXds, routesToXds } from './to-xds.js';
import { decodeRouteConfiguration } from './from-xds.js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  HTTP_CONNECTION_MANAGER_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
  ROUTER_FILTER_NAME,
  ROUTER_FILTER_TYPE_URL,
  TYPED_STRUCT_TYPE_URL,
  FILTER_CONFIG_TYPE_URL,
  pack,
  unpack,
} from './protos.js';
import type { XdsAny, XdsMessage } from './protos.js';
import { ALL_CLUSTERS, FULL_CLUSTER, HOSTS, LEAST_REQUEST_CLUSTER, RING_HASH_CLUSTER, overTheWire } from './test-support.js';

const rec = (v: unknown): XdsMessage => {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `expected a message, got ${JSON.stringify(v)}`);
  return v as XdsMessage;
};
const list = (v: unknown): unknown[] => {
  assert.ok(Array.isArray(v), `expected a list, got ${JSON.stringify(v)}`);
  return v;
};

test('API listener: v3 HttpConnectionManager, RDS over ADS, router filter last with typed_config', () => {
  const listener = overTheWire(LISTENER_TYPE_URL, apiListenerToXds('echo', 'echo-routes'));
  assert.equal(listener.name, 'echo');
  const any = rec(rec(listener.api_listener).api_listener) as unknown as XdsAny;
  assert.equal(any.type_url, HTTP_CONNECTION_MANAGER_TYPE_URL);
  const hcm = unpack(any);
  const rds = rec(hcm.rds);
  assert.equal(rds.route_config_name, 'echo-routes');
  assert.ok(rec(rds.config_source).ads !== undefined, 'RDS config source is ads');
  const filters = list(hcm.http_filters).map(rec);
  assert.ok(filters.length >= 1);
  const router = filters[filters.length - 1]!;
  assert.equal(router.name, ROUTER_FILTER_NAME);
  const typed = rec(router.typed_config);
  assert.equal(typed.type_url, ROUTER_FILTER_TYPE_URL);
});

test('route config: every route sets a path specifier; catch-all carries prefix "" on the wire', () => {
  const rc = overTheWire(ROUTE_CONFIGURATION_TYPE_URL, routesToXds('outbound', HOSTS));
  let catchAll = 0;
  for (const vh of list(rc.virtual_hosts).map(rec)) {
    for (const r of list(vh.routes).map(rec)) {
      const match = rec(r.match);
      assert.ok(['prefix', 'path', 'safe_regex'].includes(String(match.path_specifier)), `route ${String(r.name)}`);
      if (match.prefix === '') catchAll++;
    }
  }
  assert.equal(catchAll, 2);
});

test('domains also answer with any port, the wildcard stays alone', () => {
  assert.deepEqual(domainsToXds(['orders', 'orders.default.svc', '*']), ['orders', 'orders:*', 'orders.default.svc', 'orders.default.svc:*', '*']);
});

test('methods become a :method header matcher; weighted clusters; retry_on uses Envoy names', () => {
  const rc = routesToXds('outbound', HOSTS);
  const route = rec(list(rec(list(rc.virtual_hosts)[0]).routes)[0]);
  const headers = list(rec(route.match).headers).map(rec);
  assert.deepEqual(headers[0], { name: ':method', string_match: { safe_regex: { regex: 'GET|POST' } } });
  const action = rec(route.route);
  assert.deepEqual(list(rec(action.weighted_clusters).clusters), [
    { name: 'orders-v1', weight: { value: 90 } },
    { name: 'orders-v2', weight: { value: 10 } },
  ]);
  const retry = rec(action.retry_policy);
  assert.equal(retry.retry_on, 'connect-failure,reset,5xx,gateway-error,retriable-status-codes');
  assert.deepEqual(retry.num_retries, { value: 3 });
  assert.deepEqual(retry.per_try_timeout, { seconds: 0, nanos: 800_000_000 });
  assert.equal(retry.retriable_request_headers, undefined, 'this rule retries non-idempotent methods too');
  assert.deepEqual(action.timeout, { seconds: 2, nanos: 500_000_000 });
});

test('filters travel as optional FilterConfig wrapping a Strata TypedStruct', () => {
  const route = rec(list(rec(list(routesToXds('o', HOSTS).virtual_hosts)[0]).routes)[0]);
  const perFilter = rec(route.typed_per_filter_config);
  assert.deepEqual(Object.keys(perFilter), ['strata.header-mutation', 'strata.fault', 'strata.header-mutation#2']);
  const outer = rec(perFilter['strata.fault']) as unknown as XdsAny;
  assert.equal(outer.type_url, FILTER_CONFIG_TYPE_URL);
  const filterConfig = unpack(outer);
  assert.equal(filterConfig.is_optional, true);
  const inner = rec(filterConfig.config) as unknown as XdsAny;
  assert.equal(inner.type_url, TYPED_STRUCT_TYPE_URL);
  assert.equal(unpack(inner).type_url, 'type.strata.dev/strata.filters.fault');
});

test('cluster: EDS over ADS, ROUND_ROBIN or RING_HASH only, native breakers / outlier detection / health check / TLS', () => {
  for (const c of ALL_CLUSTERS) {
    const x = overTheWire(CLUSTER_TYPE_URL, clusterToXds(c));
    assert.equal(x.name, c.name);
    assert.equal(x.type, 'EDS');
    assert.ok(rec(rec(x.eds_cluster_config).eds_config).ads !== undefined);
    assert.ok([undefined, 'ROUND_ROBIN', 'RING_HASH'].includes(x.lb_policy as string), `${c.name}: ${String(x.lb_policy)}`);
  }
  assert.equal(clusterToXds(LEAST_REQUEST_CLUSTER).lb_policy, 'ROUND_ROBIN');
  assert.equal(clusterToXds(RING_HASH_CLUSTER).lb_policy, 'RING_HASH');
  const full = clusterToXds(FULL_CLUSTER);
  const threshold = rec(list(rec(full.circuit_breakers).thresholds)[0]);
  assert.deepEqual(threshold.max_requests, { value: 200 });
  assert.deepEqual(rec(full.outlier_detection).consecutive_5xx, { value: 7 });
  const hc = rec(list(full.health_checks)[0]);
  assert.deepEqual(rec(hc.http_health_check).expected_statuses, [{ start: 200, end: 400 }]);
  assert.equal(rec(full.transport_socket).name, 'envoy.transport_sockets.tls');
});

test('CLA: cluster_name matches, every locality entry has locality and weight, IP literals, sidecar metadata', () => {
  for (const c of ALL_CLUSTERS) {
    const cla = overTheWire(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, endpointsToXds(c));
    assert.equal(cla.cluster_name, c.name);
    for (const entry of list(cla.endpoints ?? []).map(rec)) {
      assert.ok(entry.locality !== undefined, 'locality set');
      const weight = Number(rec(entry.load_balancing_weight).value);
      assert.ok(weight > 0, 'locality weight set');
      for (const lb of list(entry.lb_endpoints).map(rec)) {
        const address = rec(rec(rec(lb.endpoint).address).socket_address).address;
        assert.notEqual(isIP(String(address)), 0);
      }
    }
  }
  const cla = endpointsToXds(FULL_CLUSTER);
  const entries = list(cla.endpoints).map(rec);
  assert.deepEqual(entries.map((e) => e.locality), [
    { region: 'eu-west', zone: 'eu-west-1a' },
    { region: 'eu-west', zone: 'eu-west-1b', sub_zone: 'rack7' },
    {},
    { zone: 'zone-c' },
  ]);
  assert.deepEqual(entries.map((e) => e.load_balancing_weight), [{ value: 4 }, { value: 2 }, { value: 1 }, { value: 5 }]);
  const first = rec(list(entries[0]!.lb_endpoints)[0]);
  assert.deepEqual(rec(rec(first.metadata).filter_metadata).strata, { fields: { sidecar: { boolValue: true } } });
});

// ---------------------------------------------------------------------------------------------
// An unmodified @grpc/grpc-js-xds client's own resource decoders accept what we produce.

interface ResourceType {
  decode(context: unknown, resource: XdsAny): { name: string; value?: unknown; error?: string };
}
const requireXds = createRequire(import.meta.url);
(requireXds('@grpc/grpc-js-xds') as { register(): void }).register();
function grpcResourceType(file: string, cls: string): ResourceType {
  const mod = requireXds(`@grpc/grpc-js-xds/build/src/xds-resource-type/${file}-resource-type.js`) as Record<string, { get(): ResourceType }>;
  return mod[cls]!.get();
}
const decodeContext = { server: { serverUri: 'localhost:1', channelCredentials: { type: 'insecure' }, serverFeatures: [], ignoreResourceDeletion: false } };
const withoutTls = (c: ClusterSpec): ClusterSpec => {
  const copy = { ...c };
  delete copy.tls;
  return copy;
};

test('grpc-js-xds accepts the API listener, plain-text clusters, every CLA and proxyless route configs', () => {
  const listeners = grpcResourceType('listener', 'ListenerResourceType');
  const clusters = grpcResourceType('cluster', 'ClusterResourceType');
  const endpoints = grpcResourceType('endpoint', 'EndpointResourceType');
  const routes = grpcResourceType('route-config', 'RouteConfigurationResourceType');
  const l = listeners.decode(decodeContext, pack(LISTENER_TYPE_URL, apiListenerToXds('echo', 'echo-routes')));
  assert.equal(l.error, undefined);
  for (const c of ALL_CLUSTERS) {
    const cr = clusters.decode(decodeContext, pack(CLUSTER_TYPE_URL, clusterToXds(withoutTls(c))));
    assert.equal(cr.error, undefined, c.name);
    const er = endpoints.decode(decodeContext, pack(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, endpointsToXds(c)));
    assert.equal(er.error, undefined, c.name);
  }
  const rr = routes.decode(decodeContext, pack(ROUTE_CONFIGURATION_TYPE_URL, routesToXds('o', HOSTS, { proxyless: true })));
  assert.equal(rr.error, undefined);
  // Without the proxyless option the direct responses make gRPC NACK the whole route config.
  const nacked = routes.decode(decodeContext, pack(ROUTE_CONFIGURATION_TYPE_URL, routesToXds('o', HOSTS)));
  assert.match(nacked.error ?? '', /direct_response/);
});

test('routes to ring-hash clusters carry the hash policy; gRPC accepts it and decoding ignores it', () => {
  const hosts = [
    {
      name: 'h',
      domains: ['h'],
      routes: [
        {
          name: 'r',
          match: {},
          action: { kind: 'forward' as const, backends: [{ cluster: 'sessions', weight: 1 }, { cluster: 'carts', weight: 1 }, { cluster: 'orders', weight: 1 }] },
          timeoutMs: 0,
          filters: [],
        },
      ],
    },
  ];
  const rc = routesToXds('o', hosts, { hashPolicies: hashPoliciesOf(ALL_CLUSTERS) });
  const action = rec(rec(list(rec(list(rc.virtual_hosts)[0]).routes)[0]).route);
  assert.deepEqual(action.hash_policy, [{ header: { header_name: 'x-user' } }, { cookie: { name: 'sid' } }]);
  const routes = grpcResourceType('route-config', 'RouteConfigurationResourceType');
  assert.equal(routes.decode(decodeContext, pack(ROUTE_CONFIGURATION_TYPE_URL, rc)).error, undefined);
  const decoded = decodeRouteConfiguration(overTheWire(ROUTE_CONFIGURATION_TYPE_URL, rc));
  assert.ok('value' in decoded);
  assert.deepEqual(decoded.value, hosts);
});

test('retry policies: idempotent methods only unless the rule allows others', () => {
  const spec = { attempts: 2, on: ['5xx' as const], perTryTimeoutMs: 0, backoff: { baseMs: 25, maxMs: 250 }, retryNonIdempotent: false };
  // Envoy then retries idempotent methods only, as the sidecar does.
  assert.deepEqual(list(rec(retryToXds(spec)).retriable_request_headers).map(rec), [
    { name: ':method', string_match: { safe_regex: { regex: '^(GET|HEAD|OPTIONS|TRACE|PUT|DELETE)$' } } },
  ]);
  assert.equal(rec(retryToXds({ ...spec, retryNonIdempotent: true })).retriable_request_headers, undefined);
});
