import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterSpec } from '../../config/snapshot.js';
import '../balancer/index.js';
import { Cluster, ClusterManager } from './cluster.js';
import type { ClusterContext } from './cluster.js';

const ctx: ClusterContext = { locality: 'zone-a', sidecarProtocol: 'h2', connectTimeoutMs: 1000, idleTimeoutMs: 1000 };

function spec(over: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    name: 'svc',
    protocol: 'http',
    endpoints: [
      { address: '127.0.0.1', port: 1001, weight: 1, locality: 'zone-a', sidecar: false },
      { address: '127.0.0.1', port: 1002, weight: 1, locality: 'zone-b', sidecar: false },
    ],
    loadBalancer: { policy: 'round-robin' },
    circuitBreaker: { maxConnections: 10, maxPending: 10, maxRequests: 10 },
    retryBudget: { budgetPercent: 20, minRetryConcurrency: 3 },
    localityPreference: false,
    ...over,
  };
}

function picks(c: Cluster, n = 50): Set<string> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(c.pick(undefined)?.key ?? 'none');
  return seen;
}

test('without locality preference every endpoint is picked', () => {
  const c = new Cluster(spec(), ctx);
  try {
    assert.deepEqual([...picks(c)].sort(), ['127.0.0.1:1001', '127.0.0.1:1002']);
  } finally {
    c.close();
  }
});

test('locality preference keeps traffic in the sidecar locality, and fails over when it is empty', () => {
  const c = new Cluster(spec({ localityPreference: true }), ctx);
  try {
    assert.deepEqual([...picks(c)], ['127.0.0.1:1001']);
    const local = c.endpoints.find((e) => e.spec.locality === 'zone-a');
    assert.ok(local);
    local.ejectedUntil = Date.now() + 60_000;
    c.refresh();
    assert.deepEqual([...picks(c)], ['127.0.0.1:1002']);
  } finally {
    c.close();
  }
});

test('panic mode: when no endpoint is available all are used', () => {
  const c = new Cluster(spec(), ctx);
  try {
    for (const e of c.endpoints) e.healthy = false;
    c.refresh();
    assert.equal(c.panic, true);
    assert.equal(picks(c).size, 2);
  } finally {
    c.close();
  }
});

test('an ejection that expires brings the endpoint back without an explicit refresh', () => {
  const c = new Cluster(spec(), ctx);
  try {
    const [a] = c.endpoints;
    assert.ok(a);
    a.ejectedUntil = Date.now() + 50;
    c.refresh();
    assert.deepEqual([...picks(c)], ['127.0.0.1:1002']);
    a.ejectedUntil = Date.now() - 1; // as if the time had passed
    (c as unknown as { nextAvailabilityChange: number }).nextAvailabilityChange = 0;
    assert.equal(picks(c).size, 2);
  } finally {
    c.close();
  }
});

test('update keeps endpoint state for addresses that stay and drops the others', () => {
  const c = new Cluster(spec(), ctx);
  try {
    const kept = c.endpoints[0];
    assert.ok(kept);
    kept.ejections = 3;
    c.update(spec({ endpoints: [{ address: '127.0.0.1', port: 1001, weight: 1, locality: 'zone-a', sidecar: false }, { address: '127.0.0.1', port: 1003, weight: 1, locality: '', sidecar: false }] }));
    assert.equal(c.endpoints[0], kept);
    assert.equal(c.endpoints[0]?.ejections, 3);
    assert.deepEqual(c.endpoints.map((e) => e.key), ['127.0.0.1:1001', '127.0.0.1:1003']);
  } finally {
    c.close();
  }
});

test('reconcile refuses an unreadable TLS CA file before changing anything', () => {
  const m = new ClusterManager(ctx);
  try {
    m.reconcile([spec()], ctx);
    const before = m.get('svc');
    assert.throws(
      () => m.reconcile([spec({ name: 'other' }), spec({ tls: { caFile: '/nonexistent/ca.pem', insecureSkipVerify: false } })], ctx),
      /cluster svc: cannot read tls\.caFile \/nonexistent\/ca\.pem/,
    );
    assert.equal(m.get('svc'), before);
    assert.equal(m.get('other'), undefined);
  } finally {
    m.close();
  }
});

test('an unknown balancer is refused', () => {
  const m = new ClusterManager(ctx);
  try {
    assert.throws(() => m.reconcile([spec({ loadBalancer: { policy: 'nope' } })], ctx), /unknown load balancer 'nope'/);
  } finally {
    m.close();
  }
});
