import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quantile, summaryLine } from './load.js';

test('quantile: nearest rank', () => {
  assert.equal(quantile([], 0.5), 0);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
  assert.equal(quantile([1, 2, 3, 4], 0.99), 4);
  assert.equal(quantile([7], 0.01), 7);
});

test('summaryLine: requests, success rate, latency and the pricing versions', () => {
  const interval = { sent: 4, ok: 3, failed: 1, latencies: [10, 20, 30, 40], pricing: { v1: 5 }, lastError: 'HTTP 502 x' };
  const total = { sent: 10, ok: 9, failed: 1, latencies: [], pricing: { v2: 2, v1: 8 } };
  assert.equal(
    summaryLine(interval, total, new Date('2026-01-01T10:11:12Z')),
    '[10:11:12] requests 4 (total 10)  ok 75.0%  p50 20.0 ms  p99 40.0 ms  pricing v1 8 (80%) / v2 2 (20%)  last error: HTTP 502 x',
  );
  const none = { sent: 0, ok: 0, failed: 0, latencies: [], pricing: {} };
  assert.match(summaryLine(none, none), /requests 0 \(total 0\) {2}ok - {2}p50 0\.0 ms {2}p99 0\.0 ms {2}pricing none yet$/);
});
