import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ClusterSpec, EndpointSpec, HeaderMatch, RouteSpec, VirtualHostSpec } from '../config/snapshot.js';
import { clusterToXds, endpointsToXds, routesToXds } from './to-xds.js';
import { clusterSpecFromXds, decodeRouteConfiguration } from './from-xds.js';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL } from './protos.js';
import { overTheWire } from './test-support.js';

const word = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const ms = fc.integer({ min: 0, max: 3_600_000 });
const positive = fc.integer({ min: 1, max: 100_000 });
const regex = fc.constantFrom('/a/[0-9]+', '.*', '[a-f0-9]{8}', 'x|y', '/items/(\\d+)/?');
const locality = fc.oneof(fc.constant(''), word, fc.tuple(word, word).map((p) => p.join('/')), fc.tuple(word, word, word).map((p) => p.join('/')));

const endpoint: fc.Arbitrary<EndpointSpec> = fc.record({
  address: fc.oneof(fc.ipV4(), fc.constantFrom('::1', 'fd00::1', '2001:db8::42')),
  port: fc.integer({ min: 1, max: 65535 }),
  weight: fc.integer({ min: 1, max: 1000 }),
  locality,
  sidecar: fc.boolean(),
});

const cluster: fc.Arbitrary<ClusterSpec> = fc.record(
  {
    name: word,
    protocol: fc.constantFrom('http' as const, 'http2' as const, 'grpc' as const, 'tcp' as const),
    endpoints: fc.array(endpoint, { maxLength: 8 }),
    loadBalancer: fc.oneof(
      fc.record({ policy: fc.constantFrom('round-robin', 'least-request', 'peak-ewma') }),
      fc.record(
        { policy: fc.constant('ring-hash'), hashOn: fc.oneof(word.map((header) => ({ header })), word.map((cookie) => ({ cookie }))), ringSize: positive },
        { requiredKeys: ['policy'] },
      ),
    ),
    circuitBreaker: fc.record({ maxConnections: positive, maxPending: positive, maxRequests: positive }),
    outlierDetection: fc.record({
      consecutive5xx: fc.nat(100),
      consecutiveGatewayErrors: fc.nat(100),
      intervalMs: ms,
      baseEjectionMs: ms,
      maxEjectionMs: ms,
      maxEjectionPercent: fc.nat(100),
    }),
    healthCheck: fc
      .tuple(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 0, max: 499 }))
      .chain(([lo, span]) =>
        fc.record({
          path: word.map((w) => `/${w}`),
          intervalMs: ms,
          timeoutMs: ms,
          unhealthyThreshold: fc.nat(10),
          healthyThreshold: fc.nat(10),
          expectedStatuses: fc.constant([lo, Math.min(599, lo + span)] as [number, number]),
        }),
      ),
    retryBudget: fc.record({ budgetPercent: fc.double({ min: 0, max: 100, noNaN: true }), minRetryConcurrency: fc.nat(100) }),
    localityPreference: fc.boolean(),
    tls: fc.record({ serverName: word, caFile: word.map((w) => `/etc/${w}.pem`), insecureSkipVerify: fc.boolean() }, { requiredKeys: ['insecureSkipVerify'] })
      .map((t) => (t.insecureSkipVerify ? { ...t, caFile: undefined } : t))
      .map((t) => Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as ClusterSpec['tls'] & object),
  },
  { requiredKeys: ['name', 'protocol', 'endpoints', 'loadBalancer', 'circuitBreaker', 'retryBudget', 'localityPreference'] },
);

/** Endpoints come back grouped by locality, in order of first appearance. */
function grouped(endpoints: EndpointSpec[]): EndpointSpec[] {
  const order = [...new Set(endpoints.map((e) => e.locality))];
  return order.flatMap((l) => endpoints.filter((e) => e.locality === l));
}

test('any cluster survives spec → xDS → bytes → spec', () => {
  fc.assert(
    fc.property(cluster, (generated) => {
      const c = structuredClone(generated); // plain prototypes, as specs have
      const decoded = clusterSpecFromXds(overTheWire(CLUSTER_TYPE_URL, clusterToXds(c)), overTheWire(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, endpointsToXds(c)));
      if ('errors' in decoded) assert.fail(JSON.stringify(decoded.errors));
      assert.deepEqual(decoded.value, { ...c, endpoints: grouped(c.endpoints) });
    }),
    { numRuns: 200 },
  );
});

const header: fc.Arbitrary<HeaderMatch> = fc.record(
  {
    name: word,
    match: fc.oneof(word.map((exact) => ({ exact })), word.map((prefix) => ({ prefix })), regex.map((r) => ({ regex: r })), fc.constant({ present: true })),
    invert: fc.constant(true),
  },
  { requiredKeys: ['name', 'match'] },
);

const filterConfig = fc.dictionary(word, fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown), { maxKeys: 4 });

const routeSpec: fc.Arbitrary<RouteSpec> = fc
  .record({
    name: word,
    match: fc.record(
      {
        path: fc.oneof(word.map((w) => ({ exact: `/${w}` })), word.map((w) => ({ prefix: `/${w}` })), regex.map((r) => ({ regex: r }))),
        methods: fc.uniqueArray(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), { minLength: 1, maxLength: 3 }),
        headers: fc.array(header, { minLength: 1, maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
    forward: fc.boolean(),
    backends: fc.array(fc.record({ cluster: word, weight: fc.integer({ min: 1, max: 100 }) }), { minLength: 1, maxLength: 3 }),
    prefixRewrite: fc.option(word.map((w) => `/${w}/`), { nil: undefined }),
    hostRewrite: fc.option(word, { nil: undefined }),
    direct: fc.record({ status: fc.integer({ min: 200, max: 599 }), body: fc.string({ maxLength: 20 }), headers: fc.dictionary(word, word, { maxKeys: 3 }) }),
    timeoutMs: ms,
    retry: fc.option(
      fc.record({
        attempts: fc.nat(5),
        on: fc.uniqueArray(fc.constantFrom('connect-failure' as const, 'reset' as const, '5xx' as const, 'gateway-error' as const, 'retriable-status' as const), { maxLength: 5 }),
        perTryTimeoutMs: ms,
        backoff: fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.nat(10_000)).map(([baseMs, extra]) => ({ baseMs, maxMs: baseMs + extra })),
        retryNonIdempotent: fc.boolean(),
      }),
      { nil: undefined },
    ),
    filters: fc.array(fc.record({ name: fc.constantFrom('header-mutation', 'fault', 'local-rate-limit'), config: filterConfig }), { maxLength: 3 }),
  })
  .map((r) => {
    const spec: RouteSpec = { name: r.name, match: r.match, action: { kind: 'direct', ...r.direct }, timeoutMs: 0, filters: r.filters };
    if (r.forward) {
      spec.action = { kind: 'forward', backends: r.backends };
      if (r.prefixRewrite !== undefined) spec.action.prefixRewrite = r.prefixRewrite;
      if (r.hostRewrite !== undefined) spec.action.hostRewrite = r.hostRewrite;
      spec.timeoutMs = r.timeoutMs;
      if (r.retry) spec.retry = r.retry;
    }
    return spec;
  });

const hosts: fc.Arbitrary<VirtualHostSpec[]> = fc.array(
  fc.record({ name: word, domains: fc.uniqueArray(fc.oneof(word, fc.constant('*')), { minLength: 1, maxLength: 3 }), routes: fc.array(routeSpec, { maxLength: 4 }) }),
  { maxLength: 3 },
);

test('any route table survives spec → xDS → bytes → spec', () => {
  fc.assert(
    fc.property(hosts, (generated) => {
      const h = structuredClone(generated);
      const decoded = decodeRouteConfiguration(overTheWire(ROUTE_CONFIGURATION_TYPE_URL, routesToXds('rc', h)));
      if ('errors' in decoded) assert.fail(JSON.stringify(decoded.errors));
      assert.deepEqual(decoded.value, h);
    }),
    { numRuns: 200 },
  );
});
