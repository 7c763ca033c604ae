import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONFIGS, selectConfigs } from './configs.js';
import { percentile, summarize } from './load.js';
import type { ClassResult, LoadReport } from './load.js';
import { evaluateTarget, markdownTable, medianRows, range, svgChart } from './report.js';
import type { ConfigResult, ExperimentResult } from './report.js';
import { DEFAULT_WORKLOAD } from './topology.js';

const cls = (p99: number, throughput = 10): ClassResult => ({ sent: 10, ok: 10, shed: 0, errors: 0, errorKinds: {}, throughput, p50: p99 / 2, p99, p999: p99, max: p99, mean: p99 / 2 });
const phase = (lsP99: number, bulk: number): LoadReport => ({ durationS: 1, latencySensitive: cls(lsP99), bulk: cls(100, bulk) });
const result = (id: string, unloaded: number, loaded: number, bulk: number): ConfigResult => {
  const c = CONFIGS.find((x) => x.id === id)!;
  return { id, label: c.label, layers: { mesh: c.mesh, proxy: c.proxy, broker: c.broker, kernel: c.kernel }, bottleneck: 'htb', unloaded: phase(unloaded, 0), loaded: phase(loaded, bulk), sidecarShed: {}, lsP99Ratio: loaded / unloaded };
};

const experimentOf = (configs: ConfigResult[]): ExperimentResult => ({
  experiment: 'priority',
  date: 'now',
  command: 'strata experiment priority',
  machine: { cpus: 2, kernel: 'k', node: 'v20' },
  workload: DEFAULT_WORKLOAD,
  phases: { warmupS: 1, durationS: 1 },
  configs,
  target: evaluateTarget(configs),
});

test('percentile: nearest rank; summarize: only the window, outcomes counted', () => {
  const s = Array.from({ length: 1000 }, (_, i) => i + 1);
  assert.equal(percentile(s, 0.5), 500);
  assert.equal(percentile(s, 0.99), 990);
  assert.equal(percentile(s, 0.999), 999);
  assert.ok(Number.isNaN(percentile([], 0.5)));
  const r = summarize(
    [
      { at: 5, ms: 1, outcome: 'ok' },
      { at: 10, ms: 2, outcome: 'ok' },
      { at: 20, ms: 3, outcome: 'shed' },
      { at: 30, ms: 4, outcome: { error: '502' } },
      { at: 2000, ms: 5, outcome: 'ok' },
    ],
    10,
    1010,
  );
  assert.deepEqual([r.sent, r.ok, r.shed, r.errors, r.throughput, r.p50], [3, 1, 1, 1, 1, 2]);
  assert.deepEqual(r.errorKinds, { '502': 1 });
});

test('selectConfigs: all by default, canonical order, unknown names refused', () => {
  assert.equal((selectConfigs(undefined) as { value: unknown[] }).value.length, 5);
  const two = selectConfigs('all-layers,mesh');
  assert.ok(two.ok);
  assert.deepEqual(two.value.map((c) => c.id), ['mesh', 'all-layers']);
  const bad = selectConfigs('mesh,nope');
  assert.ok(!bad.ok);
  assert.match(bad.error, /unknown configuration 'nope'/);
});

test('evaluateTarget, markdownTable, svgChart', () => {
  const configs = [result('mesh', 10, 100, 20), result('all-layers', 10, 15, 19)];
  const target = evaluateTarget(configs);
  assert.equal(target.met, true);
  assert.equal(target.bulkDropPercent, 5);
  assert.equal(evaluateTarget([result('mesh', 10, 30, 20), result('all-layers', 10, 25, 10)]).met, false);
  assert.match(evaluateTarget([configs[0]!]).summary, /not evaluated/);
  const r = experimentOf(configs);
  const md = markdownTable(r).split('\n');
  assert.match(md[0]!, /^\| configuration \|/);
  assert.match(md[2]!, /^\| mesh, priority off \| 5\.00 \/ 10\.0 \/ 10\.0 \| 50\.0 \/ 100 \/ 100 \| ×10\.0 \|/);
  assert.match(md[3]!, /^\| all layers \|/);
  const svg = svgChart(r);
  assert.equal((svg.match(/<rect class="bar"/g) ?? []).length, 6);
  assert.match(svg, /data-config="all-layers" data-kind="ls-p99-loaded"/);
});

test('medianRows: each row is the run with the median ratio, with the spread of every round', () => {
  const rounds = [
    [result('mesh', 10, 100, 20), result('all-layers', 10, 30, 19)],
    [result('mesh', 10, 300, 21), result('all-layers', 20, 30, 18)],
    [result('mesh', 10, 200, 22), result('all-layers', 10, 12, 17)],
  ];
  const rows = medianRows(rounds);
  assert.deepEqual(rows.map((r) => [r.id, r.lsP99Ratio, r.spread?.round]), [
    ['mesh', 20, 2],
    ['all-layers', 1.5, 1],
  ]);
  // The whole row is that run's (not a mix of medians).
  assert.equal(rows[1]!.unloaded.latencySensitive.p99, 20);
  assert.equal(rows[1]!.loaded.bulk.throughput, 18);
  assert.deepEqual(rows[1]!.spread?.lsP99Ratio, [3, 1.5, 1.2]);
  assert.deepEqual(rows[0]!.spread?.bulkThroughput, [20, 21, 22]);
  assert.equal(range(rows[1]!.spread!.lsP99Ratio), '1.20–3.00');
  // One round: the rows as they are, no spread.
  assert.equal(medianRows([rounds[0]!])[0]!.spread, undefined);

  const r: ExperimentResult = { ...experimentOf(rows), rounds, roundTargets: rounds.map((x) => evaluateTarget(x)) };
  const md = markdownTable(r);
  assert.match(md, /\| all layers \| [^|]+ \| [^|]+ \| ×1\.50 \(1\.20–3\.00 in 3 runs\) \|/);
  assert.match(md, /median ratio of 3 rounds/);
  // Round 3 misses on bulk throughput (22 → 17/s, a 22.7% drop), not on latency.
  assert.match(md, /per round: 1: missed \(all layers ×3\.00\), 2: met \(all layers ×1\.50\), 3: missed \(all layers ×1\.20\)/);
  assert.match(svgChart(r), /×1\.50 \(1\.20–3\.00\)/);
});
