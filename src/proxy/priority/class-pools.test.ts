/**
 * Per-class upstream pools: Cluster.pool(ep, class) keeps one pool per class per endpoint,
 * and every socket a class's pool opens (HTTP/1.1 and HTTP/2) goes through the kernel
 * layer's hook with the class's options. A hook that throws does not fail the request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import type { ClusterSpec } from '../../config/snapshot.js';
import '../balancer/index.js';
import { Cluster } from '../cluster/cluster.js';
import type { ConnectionPool } from '../pool/upstream.js';
import { setUpstreamSocketHook } from './socket-hook.js';
import type { ClassSocketOptions } from './socket-hook.js';

const spec = (port: number, protocol: ClusterSpec['protocol']): ClusterSpec => ({
  name: 'svc',
  protocol,
  endpoints: [{ address: '127.0.0.1', port, weight: 1, locality: '', sidecar: false }],
  loadBalancer: { policy: 'round-robin' },
  circuitBreaker: { maxConnections: 10, maxPending: 10, maxRequests: 10 },
  retryBudget: { budgetPercent: 20, minRetryConcurrency: 3 },
  localityPreference: false,
});
const ctx = { locality: '', sidecarProtocol: 'h2' as const, connectTimeoutMs: 2000, idleTimeoutMs: 2000 };
const LS: ClassSocketOptions = { className: 'latency-sensitive', dscp: 46, soPriority: 6, congestion: 'bbr' };
const BULK: ClassSocketOptions = { className: 'bulk', dscp: 1, congestion: 'reno' };

function get(pool: ConnectionPool): Promise<number> {
  return new Promise((resolve, reject) => {
    pool.request(
      { method: 'GET', path: '/', authority: 'svc', headers: {}, endStream: true },
      {
        onResponse: (status: number, _h: unknown, body: Readable) => {
          body.resume();
          body.once('end', () => resolve(status));
        },
        onError: (_k, err) => reject(err),
      },
    );
  });
}

test('HTTP/1.1: one pool per class per endpoint; each new socket is marked with its class', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const marked: ClassSocketOptions[] = [];
  setUpstreamSocketHook((_s, o) => marked.push(o));
  const c = new Cluster(spec((server.address() as AddressInfo).port, 'http'), ctx);
  try {
    const ep = c.endpoints[0];
    assert.ok(ep);
    const ls = c.pool(ep, { index: 0, socket: LS });
    const bulk = c.pool(ep, { index: 2, socket: BULK });
    assert.notEqual(ls, bulk);
    assert.equal(c.pool(ep, { index: 0, socket: LS }), ls, 'the same class gets the same pool');
    assert.notEqual(c.pool(ep), ls, 'the shared pool is another one');
    assert.equal(await get(ls), 200);
    assert.equal(await get(ls), 200);
    assert.equal(await get(bulk), 200);
    assert.deepEqual(marked, [LS, BULK], 'one socket per class (keep-alive reused), each marked');
    assert.equal(await get(c.pool(ep)), 200);
    assert.equal(marked.length, 2, 'the shared pool marks nothing');
    assert.equal(c.connectionCount(), 3);
  } finally {
    setUpstreamSocketHook(undefined);
    c.close();
    server.closeAllConnections();
    server.close();
  }
});

test('HTTP/2: the class pool marks its session socket; a hook that throws does not fail the request', async () => {
  const server = http2.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const marked: string[] = [];
  setUpstreamSocketHook((_s, o) => {
    marked.push(o.className);
    throw new Error('EPERM: setsockopt SO_PRIORITY');
  });
  const c = new Cluster(spec((server.address() as AddressInfo).port, 'http2'), ctx);
  try {
    const ep = c.endpoints[0];
    assert.ok(ep);
    const pool = c.pool(ep, { index: 0, socket: LS });
    assert.equal(pool.protocol, 'h2');
    assert.equal(await get(pool), 200);
    assert.deepEqual(marked, ['latency-sensitive']);
  } finally {
    setUpstreamSocketHook(undefined);
    c.close();
    server.close();
  }
});
