import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClassResult } from '../../experiment/load.js';
import { portsFrom } from '../../experiment/topology.js';
import { ShedTracker, formatLatency, introText, intervalLine } from './summary.js';

const cls = (over: Partial<ClassResult>): ClassResult => ({
  sent: 0, ok: 0, shed: 0, errors: 0, errorKinds: {}, throughput: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0, ...over,
});

test('formatLatency: tenths below 10 ms, whole ms, then seconds; - without samples', () => {
  assert.equal(formatLatency(3.44, true), '3.4 ms');
  assert.equal(formatLatency(12.4, true), '12 ms');
  assert.equal(formatLatency(1249, true), '1.2 s');
  assert.equal(formatLatency(0, false), '-');
  assert.equal(formatLatency(NaN, true), '-');
});

test('intervalLine: both classes; shed is the larger of client and sidecar counts; errors by kind', () => {
  const r = {
    durationS: 2,
    latencySensitive: cls({ sent: 80, ok: 80, p50: 12.2, p99: 25 }),
    bulk: cls({ sent: 40, ok: 36, shed: 1, errors: 3, errorKinds: { '503': 2, ECONNRESET: 1 }, p99: 1234 }),
  };
  assert.equal(
    intervalLine(12.2, r, { ls: 0, bulk: 3 }),
    '[   12 s] latency-sensitive  40.0/s ok 100%  p50 12 ms  p99 25 ms | bulk 18.0/s  p99 1.2 s  shed 3  errors 3 (503 ×2, ECONNRESET ×1)',
  );
  const partial = { durationS: 1, latencySensitive: cls({ sent: 3, ok: 2, shed: 1, p50: 4, p99: 5 }), bulk: cls({}) };
  assert.equal(intervalLine(1, partial, { ls: 0, bulk: 0 }), '[    1 s] latency-sensitive  3.0/s ok 66.6%  p50 4.0 ms  p99 5.0 ms  shed 1 | bulk 0.0/s  p99 -  shed 0');
  const none = { durationS: 1, latencySensitive: cls({}), bulk: cls({}) };
  assert.match(intervalLine(0, none, { ls: 0, bulk: 0 }), /latency-sensitive {2}0\.0\/s ok - {2}p50 - {2}p99 - \| bulk 0\.0\/s {2}p99 - {2}shed 0$/);
});

test('introText: the path, the ports, what to try, how to compare', () => {
  const ports = portsFrom(20000);
  const on = introText({ priority: true, ports, rabbitPort: 40000, lsRate: 40, bulk: 24, durationS: 0, dir: '/tmp/x' });
  assert.match(on, new RegExp(`gateway :${ports.entry} \\(frontend's sidecar\\) → frontend :${ports.frontendApp} → catalog`));
  assert.match(on, /search → RabbitMQ 127\.0\.0\.1:40000 .* → worker → store/);
  assert.match(on, new RegExp(`curl -s .*'localhost:${ports.entry}/item\\?id=1'`));
  assert.match(on, /--priority off +# to compare/);
  assert.match(on, /Ctrl-C to stop/);
  const off = introText({ priority: false, ports, rabbitPort: 40000, lsRate: 40, bulk: 24, durationS: 5, dir: '/tmp/x' });
  assert.match(off, /priority OFF/);
  assert.match(off, /--priority on +# to compare/);
  assert.match(off, /stopping after 5 s/);
});

test('ShedTracker: what each interval adds to the sidecars’ counters', () => {
  const t = new ShedTracker({ bulk: 2 });
  assert.deepEqual(t.next({ bulk: 9 }), { ls: 0, bulk: 7 });
  assert.deepEqual(t.next({ bulk: 9 }), { ls: 0, bulk: 0 });
  assert.deepEqual(t.next({ bulk: 12, 'latency-sensitive': 1 }), { ls: 1, bulk: 3 });
  // Sidecars that did not answer (counters missing or lower) count nothing, and lower no baseline.
  assert.deepEqual(t.next({}), { ls: 0, bulk: 0 });
  assert.deepEqual(t.next({ bulk: 5 }), { ls: 0, bulk: 0 });
  assert.deepEqual(t.next({ bulk: 13 }), { ls: 0, bulk: 1 });
});
