import assert from 'node:assert/strict';
import { test } from 'node:test';
import { selectVariants } from './args.js';
import { ackStats, summarize, verdicts } from './report.js';
import type { ChangeRun, VariantResult } from './report.js';

test('ackStats: delays since the start; a missing client leaves max unknown', () => {
  const times = Array.from({ length: 100 }, (_, i) => 1000 + i + 1);
  assert.deepEqual(ackStats(1000, times), { p50Ms: 50, p99Ms: 99, maxMs: 100, acked: 100, missing: 0 });
  const s = ackStats(1000, [...times.slice(1), null]);
  assert.equal(s.maxMs, null);
  assert.equal(s.missing, 1);
});

const run = (maxMs: number | null, missing = 0): ChangeRun => ({ p50Ms: 1, p99Ms: 2, maxMs, acked: 10 - missing, missing, applyMs: 3, controlCpuS: 0.1, benchCpuS: 0.1, clientElu: 0.1, foreignCpuS: 0 });

test('summarize and verdicts: median of max over runs against 1 s; any missing ACK misses', () => {
  const ok = summarize('route', 'r', [run(900), run(1200), run(800)]);
  assert.equal(ok.median.maxMs, 900);
  assert.equal(ok.worstMaxMs, 1200);
  const bad = summarize('endpoint', 'e', [run(100), run(null, 1)]);
  assert.equal(bad.median.maxMs, null);
  const v: VariantResult = {
    name: 'sotw-scoped', protocol: 'sotw', scope: 'scoped', status: 'ok', load: null, connect: null, changes: [ok, bad],
    controlRssMB: { beforeClients: 1, steady: 2, afterChanges: 3, peak: 301 }, perClient: { clusters: 5, listeners: 5 }, benchPeakRssMB: 1, streamsEnded: 0, notes: [],
  };
  assert.deepEqual(verdicts([v]).map((x) => x.status), ['met', 'missed', 'missed']);
});

test('variants by name, all by default, unknown names rejected', () => {
  assert.equal(selectVariants(undefined).length, 4);
  assert.deepEqual(selectVariants('delta-whole-mesh,sotw-scoped').map((v) => v.name), ['delta-whole', 'sotw-scoped']);
  assert.throws(() => selectVariants('nope'), /unknown variant/);
});
