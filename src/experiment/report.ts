/**
 * @module experiment/report
 * The outputs of `strata experiment priority`: the result as data (JSON), a Markdown table and
 * an SVG chart written by hand — per configuration, the latency-sensitive p99 unloaded and
 * loaded (log scale) and the bulk throughput under load. Pure functions.
 *
 * With repeated rounds (`--repeat N`), a configuration's row is the round whose ratio is the
 * median (every number in the row comes from that one run), with the spread over all rounds
 * beside it; the target is evaluated on those rows and, for the record, in every round.
 */
import type { ExperimentConfig } from './configs.js';
import type { LoadReport } from './load.js';
import type { Workload } from './topology.js';

export interface ConfigResult {
  id: string;
  label: string;
  layers: Pick<ExperimentConfig, 'mesh' | 'proxy' | 'broker' | 'kernel'>;
  bottleneck: string;
  unloaded: LoadReport;
  loaded: LoadReport;
  /** strata_priority_shed_total of every sidecar during the loaded phase, by class. */
  sidecarShed: Record<string, number>;
  /** Latency-sensitive p99 loaded / unloaded. */
  lsP99Ratio: number;
  /** With repeated rounds: which round this row is (0-based) and the values of every round. */
  spread?: Spread;
}

export interface Spread {
  rounds: number;
  /** The round this row comes from (the median ratio's). */
  round: number;
  lsP99Ratio: number[];
  unloadedLsP99: number[];
  loadedLsP99: number[];
  bulkThroughput: number[];
}

export interface TargetCheck {
  /** all layers: LS p99 loaded / unloaded (target ≤ 2). */
  allLayersRatio?: number;
  /** mesh without priority: the same ratio (target ≥ 5). */
  meshRatio?: number;
  /** Bulk throughput under load, all layers vs mesh without priority: drop in percent (target ≤ 20). */
  bulkDropPercent?: number;
  met?: boolean;
  summary: string;
}

export interface ExperimentResult {
  experiment: 'priority';
  date: string;
  command: string;
  machine: { cpus: number; kernel: string; node: string };
  workload: Workload;
  phases: { warmupS: number; durationS: number };
  configs: ConfigResult[];
  target: TargetCheck;
  /** Every round's results, when more than one ran (configs holds the median rows). */
  rounds?: ConfigResult[][];
  /** The target evaluated in each round. */
  roundTargets?: TargetCheck[];
}

/** The median rows of repeated rounds (rounds[i] = one result per configuration, same order). */
export function medianRows(rounds: readonly (readonly ConfigResult[])[]): ConfigResult[] {
  const first = rounds[0] ?? [];
  return first.map((c, i) => {
    const runs = rounds.map((round) => round[i]).filter((x): x is ConfigResult => x !== undefined && x.id === c.id);
    const order = runs.map((x, k) => [x.lsP99Ratio, k] as const).sort((a, b) => (Number.isNaN(a[0]) ? 1 : Number.isNaN(b[0]) ? -1 : a[0] - b[0]));
    const pick = (order[Math.floor((order.length - 1) / 2)] ?? [0, 0])[1];
    const row = runs[pick] as ConfigResult;
    if (runs.length < 2) return row;
    return {
      ...row,
      spread: {
        rounds: runs.length,
        round: pick,
        lsP99Ratio: runs.map((x) => x.lsP99Ratio),
        unloadedLsP99: runs.map((x) => x.unloaded.latencySensitive.p99),
        loadedLsP99: runs.map((x) => x.loaded.latencySensitive.p99),
        bulkThroughput: runs.map((x) => x.loaded.bulk.throughput),
      },
    };
  });
}

/** "1.52–2.10" over the finite values, or '' when there are none. */
export function range(values: readonly number[]): string {
  const v = values.filter(Number.isFinite);
  return v.length === 0 ? '' : `${fmt(Math.min(...v))}–${fmt(Math.max(...v))}`;
}

const fmt = (n: number): string => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)) : '–');

export function evaluateTarget(configs: readonly ConfigResult[]): TargetCheck {
  const all = configs.find((c) => c.id === 'all-layers');
  const mesh = configs.find((c) => c.id === 'mesh');
  const out: TargetCheck = { summary: '' };
  if (all) out.allLayersRatio = round2(all.lsP99Ratio);
  if (mesh) out.meshRatio = round2(mesh.lsP99Ratio);
  if (all && mesh && mesh.loaded.bulk.throughput > 0) out.bulkDropPercent = round2((100 * (mesh.loaded.bulk.throughput - all.loaded.bulk.throughput)) / mesh.loaded.bulk.throughput);
  if (out.allLayersRatio === undefined || out.meshRatio === undefined || out.bulkDropPercent === undefined) {
    out.summary = 'target not evaluated: it needs the configurations mesh and all-layers';
    return out;
  }
  const parts = [
    `all layers: LS p99 ×${fmt(out.allLayersRatio)} of unloaded (target ≤ 2: ${out.allLayersRatio <= 2 ? 'met' : 'missed'})`,
    `mesh without priority: ×${fmt(out.meshRatio)} (target ≥ 5: ${out.meshRatio >= 5 ? 'met' : 'missed'})`,
    `bulk throughput ${out.bulkDropPercent >= 0 ? 'drop' : 'gain'} ${fmt(Math.abs(out.bulkDropPercent))}% (target ≤ 20%: ${out.bulkDropPercent <= 20 ? 'met' : 'missed'})`,
  ];
  out.met = out.allLayersRatio <= 2 && out.meshRatio >= 5 && out.bulkDropPercent <= 20;
  out.summary = `${out.met ? 'target met' : 'target missed'}: ${parts.join('; ')}`;
  return out;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

export function markdownTable(r: ExperimentResult): string {
  const head = [
    'configuration',
    'LS p50 / p99 / p99.9 unloaded (ms)',
    'LS p50 / p99 / p99.9 loaded (ms)',
    'LS p99 loaded ÷ unloaded',
    'LS ok/s loaded',
    'bulk ok/s loaded',
    'bulk p99 loaded (ms)',
    'shed LS / bulk (client)',
    'shed in sidecars',
    'errors LS / bulk',
  ];
  const rows = r.configs.map((c) => {
    const u = c.unloaded.latencySensitive;
    const l = c.loaded.latencySensitive;
    const b = c.loaded.bulk;
    const shed = Object.entries(c.sidecarShed).map(([k, v]) => `${k} ${v}`).join(', ') || '0';
    return [
      c.label,
      `${fmt(u.p50)} / ${fmt(u.p99)} / ${fmt(u.p999)}`,
      `${fmt(l.p50)} / ${fmt(l.p99)} / ${fmt(l.p999)}`,
      `×${fmt(c.lsP99Ratio)}${c.spread ? ` (${range(c.spread.lsP99Ratio)} in ${c.spread.rounds} runs)` : ''}`,
      fmt(l.throughput),
      fmt(b.throughput),
      fmt(b.p99),
      `${l.shed} / ${b.shed}`,
      shed,
      `${l.errors + u.errors} / ${b.errors}`,
    ];
  });
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const perRound = r.roundTargets && r.roundTargets.length > 1 ? [`per round: ${r.roundTargets.map((t, i) => `${i + 1}: ${t.met === undefined ? 'not evaluated' : t.met ? 'met' : 'missed'} (all layers ×${fmt(t.allLayersRatio ?? NaN)})`).join(', ')}`, ''] : [];
  const note = r.rounds && r.rounds.length > 1 ? [`each row is the run with the median ratio of ${r.rounds.length} rounds (the configurations interleaved), with the range of the ratio over all rounds`, ''] : [];
  return [line(head), line(head.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line), '', ...note, r.target.summary, '', ...perRound].join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Bars: per configuration LS p99 unloaded + loaded (log scale), and bulk throughput (linear). */
export function svgChart(r: ExperimentResult): string {
  const n = r.configs.length;
  const groupW = 150;
  const left = 70;
  const width = left + Math.max(1, n) * groupW + 30;
  const top1 = 60;
  const h1 = 220;
  const top2 = top1 + h1 + 90;
  const h2 = 140;
  const height = top2 + h2 + 100;
  const lat = r.configs.flatMap((c) => [c.unloaded.latencySensitive.p99, c.loaded.latencySensitive.p99]).filter((v) => v > 0 && Number.isFinite(v));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(1, ...lat))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(10, ...lat))));
  const ly = (v: number): number => top1 + h1 - (h1 * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const bulkMax = Math.max(1, ...r.configs.map((c) => c.loaded.bulk.throughput)) * 1.15;
  const by = (v: number): number => top2 + h2 - (h2 * v) / bulkMax;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">strata experiment priority: latency-sensitive p99 and bulk throughput</text>`);
  out.push(`<text x="${left}" y="${top1 - 12}" font-weight="bold">latency-sensitive p99 (ms, log scale)</text>`);
  for (let v = lo; v <= hi; v *= 10) {
    out.push(`<line x1="${left}" x2="${width - 20}" y1="${ly(v).toFixed(1)}" y2="${ly(v).toFixed(1)}" stroke="#dddddd"/>`);
    out.push(`<text x="${left - 6}" y="${(ly(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`);
  }
  const legend = [
    ['#7fb3d5', 'unloaded'],
    ['#c0392b', 'loaded (bulk saturating)'],
    ['#27ae60', 'bulk throughput under load'],
  ] as const;
  legend.forEach(([color, label], i) => {
    const x = width - 230;
    const y = top1 + i * 16;
    out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${color}"/><text x="${x + 18}" y="${y}">${label}</text>`);
  });
  r.configs.forEach((c, i) => {
    const gx = left + i * groupW + 20;
    const bw = 45;
    const bars: [number, string, string, number][] = [
      [c.unloaded.latencySensitive.p99, '#7fb3d5', 'ls-p99-unloaded', gx],
      [c.loaded.latencySensitive.p99, '#c0392b', 'ls-p99-loaded', gx + bw + 6],
    ];
    for (const [v, color, kind, x] of bars) {
      const y = ly(Number.isFinite(v) ? v : lo);
      out.push(`<rect class="bar" data-config="${esc(c.id)}" data-kind="${kind}" x="${x}" y="${y.toFixed(1)}" width="${bw}" height="${(top1 + h1 - y).toFixed(1)}" fill="${color}"/>`);
      out.push(`<text x="${x + bw / 2}" y="${(y - 4).toFixed(1)}" text-anchor="middle">${fmt(v)}</text>`);
    }
    out.push(`<text x="${gx + bw + 3}" y="${top1 + h1 + 16}" text-anchor="middle">${esc(c.label)}</text>`);
    out.push(`<text x="${gx + bw + 3}" y="${top1 + h1 + 31}" text-anchor="middle" fill="#555555">×${fmt(c.lsP99Ratio)}${c.spread ? ` (${esc(range(c.spread.lsP99Ratio))})` : ''}</text>`);
    const tv = c.loaded.bulk.throughput;
    const y2 = by(tv);
    out.push(`<rect class="bar" data-config="${esc(c.id)}" data-kind="bulk-throughput" x="${gx + bw / 2}" y="${y2.toFixed(1)}" width="${bw}" height="${(top2 + h2 - y2).toFixed(1)}" fill="#27ae60"/>`);
    out.push(`<text x="${gx + bw}" y="${(y2 - 4).toFixed(1)}" text-anchor="middle">${fmt(tv)}</text>`);
    out.push(`<text x="${gx + bw + 3}" y="${top2 + h2 + 16}" text-anchor="middle">${esc(c.label)}</text>`);
  });
  out.push(`<text x="${left}" y="${top2 - 12}" font-weight="bold">bulk throughput under load (requests/s)</text>`);
  out.push(`<line x1="${left}" x2="${width - 20}" y1="${top2 + h2}" y2="${top2 + h2}" stroke="#888888"/>`);
  out.push(`<line x1="${left}" x2="${width - 20}" y1="${top1 + h1}" y2="${top1 + h1}" stroke="#888888"/>`);
  const at = r.target.summary.indexOf(': ');
  const notes = at < 0 ? [r.target.summary] : [r.target.summary.slice(0, at + 1), ...r.target.summary.slice(at + 2).split('; ').map((l) => `  ${l}`)];
  notes.forEach((line, i) => out.push(`<text x="${left}" y="${height - 62 + i * 14}" fill="#555555">${esc(line)}</text>`));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
