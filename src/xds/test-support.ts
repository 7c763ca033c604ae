/**
 * @module xds/test-support
 * Strata specs that exercise every feature the xDS translation carries.
 */
import type { ClusterSpec, VirtualHostSpec } from '../config/snapshot.js';
import { decodeResource, encodeResource } from './protos.js';
import type { XdsMessage } from './protos.js';

/** Encode to bytes with the real protobuf type and decode back (what a peer receives). */
export function overTheWire(typeUrl: string, message: XdsMessage): XdsMessage {
  return decodeResource(typeUrl, encodeResource(typeUrl, message));
}

const base = {
  protocol: 'http' as const,
  circuitBreaker: { maxConnections: 100, maxPending: 50, maxRequests: 200 },
  retryBudget: { budgetPercent: 25.5, minRetryConcurrency: 4 },
  localityPreference: false,
  loadBalancer: { policy: 'round-robin' },
};

export const FULL_CLUSTER: ClusterSpec = {
  ...base,
  name: 'orders',
  protocol: 'http2',
  localityPreference: true,
  endpoints: [
    { address: '10.0.0.1', port: 8080, weight: 3, locality: 'eu-west/eu-west-1a', sidecar: true },
    { address: '10.0.0.2', port: 8080, weight: 1, locality: 'eu-west/eu-west-1a', sidecar: false },
    { address: 'fd00::5', port: 9090, weight: 2, locality: 'eu-west/eu-west-1b/rack7', sidecar: true },
    { address: '127.0.0.1', port: 7000, weight: 1, locality: '', sidecar: false },
    { address: '192.168.1.9', port: 7001, weight: 5, locality: 'zone-c', sidecar: false },
  ],
  outlierDetection: {
    consecutive5xx: 7,
    consecutiveGatewayErrors: 3,
    intervalMs: 1500,
    baseEjectionMs: 30_000,
    maxEjectionMs: 300_000,
    maxEjectionPercent: 50,
  },
  healthCheck: { path: '/healthz', intervalMs: 5000, timeoutMs: 250, unhealthyThreshold: 3, healthyThreshold: 2, expectedStatuses: [200, 399] },
  tls: { serverName: 'orders.internal', caFile: '/etc/strata/ca.pem', insecureSkipVerify: false },
};

export const RING_HASH_CLUSTER: ClusterSpec = {
  ...base,
  name: 'sessions',
  protocol: 'grpc',
  endpoints: [{ address: '10.0.1.1', port: 50051, weight: 1, locality: '', sidecar: false }],
  loadBalancer: { policy: 'ring-hash', hashOn: { header: 'x-user' }, ringSize: 2048 },
  tls: { insecureSkipVerify: true },
};

export const COOKIE_HASH_CLUSTER: ClusterSpec = {
  ...base,
  name: 'carts',
  endpoints: [],
  loadBalancer: { policy: 'ring-hash', hashOn: { cookie: 'sid' } },
  tls: { insecureSkipVerify: false },
  outlierDetection: { ...FULL_CLUSTER.outlierDetection!, consecutiveGatewayErrors: 0 },
};

export const LEAST_REQUEST_CLUSTER: ClusterSpec = {
  ...base,
  name: 'search',
  protocol: 'tcp',
  endpoints: [{ address: '10.0.2.1', port: 80, weight: 1, locality: 'a', sidecar: true }],
  loadBalancer: { policy: 'least-request' },
};

export const ALL_CLUSTERS = [FULL_CLUSTER, RING_HASH_CLUSTER, COOKIE_HASH_CLUSTER, LEAST_REQUEST_CLUSTER];

export const HOSTS: VirtualHostSpec[] = [
  {
    name: 'orders',
    domains: ['orders', 'orders.default.svc'],
    routes: [
      {
        name: 'split',
        match: { path: { prefix: '/api/' }, methods: ['GET', 'POST'], headers: [{ name: 'x-canary', match: { exact: 'yes' } }] },
        action: { kind: 'forward', backends: [{ cluster: 'orders-v1', weight: 90 }, { cluster: 'orders-v2', weight: 10 }], prefixRewrite: '/v2/', hostRewrite: 'orders.internal' },
        timeoutMs: 2500,
        retry: {
          attempts: 3,
          on: ['connect-failure', 'reset', '5xx', 'gateway-error', 'retriable-status'],
          perTryTimeoutMs: 800,
          backoff: { baseMs: 25, maxMs: 400 },
          retryNonIdempotent: true,
        },
        filters: [
          { name: 'header-mutation', config: { add: { 'x-a': '1' }, remove: ['x-b'] } },
          { name: 'fault', config: { abort: { status: 503, percent: 12.5 }, delay: null } },
          { name: 'header-mutation', config: { add: { 'x-c': '2' } } },
        ],
      },
      {
        name: 'regex',
        match: {
          path: { regex: '/items/[0-9]+' },
          methods: ['DELETE'],
          headers: [
            { name: 'x-tenant', match: { prefix: 'acme-' } },
            { name: 'x-id', match: { regex: '[a-f0-9]{8}' }, invert: true },
            { name: 'x-debug', match: { present: true } },
            { name: 'x-trace', match: { present: true }, invert: true },
          ],
        },
        action: { kind: 'forward', backends: [{ cluster: 'orders', weight: 1 }] },
        timeoutMs: 0,
        retry: { attempts: 1, on: ['5xx'], perTryTimeoutMs: 0, backoff: { baseMs: 10, maxMs: 10 }, retryNonIdempotent: false },
        filters: [],
      },
      {
        name: 'exact-single-weighted',
        match: { path: { exact: '/status' } },
        action: { kind: 'forward', backends: [{ cluster: 'orders', weight: 7 }] },
        timeoutMs: 1,
        filters: [{ name: 'local-rate-limit', config: [1, 'two', true] }],
      },
      {
        name: 'teapot',
        match: { path: { prefix: '/tea' } },
        action: { kind: 'direct', status: 418, body: "I'm a teapot", headers: { 'content-type': 'text/plain', 'x-why': 'tea' } },
        timeoutMs: 0,
        filters: [],
      },
      {
        name: 'empty-direct',
        match: { path: { exact: '/gone' } },
        action: { kind: 'direct', status: 410, body: '', headers: {} },
        timeoutMs: 0,
        filters: [],
      },
      {
        name: 'catch-all',
        match: {},
        action: { kind: 'forward', backends: [{ cluster: 'orders', weight: 1 }] },
        timeoutMs: 30_000,
        filters: [],
      },
    ],
  },
  {
    name: 'fallback',
    domains: ['*'],
    routes: [
      { name: 'default', match: {}, action: { kind: 'direct', status: 404, body: 'no route', headers: {} }, timeoutMs: 0, filters: [] },
    ],
  },
];
