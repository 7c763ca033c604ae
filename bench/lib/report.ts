/**
 * @module bench/lib/report
 * Derived columns (latency added over the direct baseline, CPU per request relative to nginx),
 * the target verdicts, and the printed table.
 */
import type { RowResult } from './measure.js';
import { round } from './procstat.js';

/** The targets the sidecar is held to. */
export const TARGETS = {
  cpuRatioToNginx: 1.5,
  addedP99Ms: 1,
  rssMB: 64,
} as const;

export interface Verdict {
  target: string;
  row: string;
  value: number | null;
  limit: number;
  status: 'met' | 'missed' | 'not measured';
  detail: string;
}

const sub = (a: number | null, b: number | null, digits = 3): number | null => (a === null || b === null ? null : round(a - b, digits));

/**
 * Fills ratioCpuToNginx, and addedP50Ms/addedP99Ms where the row has no paired baseline runs
 * (then: this row's median minus the baseline row's median).
 */
export function derive(rows: RowResult[]): void {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const nginx = byName.get('nginx');
  const nginxCpu = nginx?.status === 'ok' ? nginx.cpuUsPerReq : null;
  for (const r of rows) {
    const base = r.baseline ? byName.get(r.baseline) : undefined;
    if (base?.status === 'ok' && r.status === 'ok' && r.addedP99Ms === null) {
      r.addedP50Ms = sub(r.p50Ms, base.p50Ms);
      r.addedP99Ms = sub(r.p99Ms, base.p99Ms);
    }
    if (r.cpuUsPerReq !== null && nginxCpu !== null && nginxCpu !== undefined && nginxCpu > 0) {
      r.ratioCpuToNginx = round(r.cpuUsPerReq / nginxCpu, 2);
    }
  }
}

function notMeasured(target: string, row: string, limit: number, why: string): Verdict {
  return { target, row, value: null, limit, status: 'not measured', detail: why };
}

function whyMissing(r: RowResult | undefined, name: string): string {
  if (!r) return `${name} not run`;
  if (r.status !== 'ok') return `${name} ${r.status} (${(r.reason ?? '').split(':')[0]}; see above)`;
  return `${name} has no value`;
}

export function verdicts(rows: RowResult[]): Verdict[] {
  const byName = new Map(rows.map((r) => [r.name, r]));
  const out: Verdict[] = [];
  const h1 = byName.get('strata-http1');
  const nginx = byName.get('nginx');

  const cpuTarget = `strata-http1 CPU per request ≤ ${TARGETS.cpuRatioToNginx}× nginx`;
  if (h1?.ratioCpuToNginx != null && nginx?.cpuUsPerReq != null && h1.cpuUsPerReq != null) {
    out.push({
      target: cpuTarget, row: 'strata-http1', value: h1.ratioCpuToNginx, limit: TARGETS.cpuRatioToNginx,
      status: h1.ratioCpuToNginx <= TARGETS.cpuRatioToNginx ? 'met' : 'missed',
      detail: `${h1.cpuUsPerReq} µs vs nginx ${nginx.cpuUsPerReq} µs = ${h1.ratioCpuToNginx}×`,
    });
  } else {
    out.push(notMeasured(cpuTarget, 'strata-http1', TARGETS.cpuRatioToNginx, h1?.status !== 'ok' ? whyMissing(h1, 'strata-http1') : whyMissing(nginx, 'nginx')));
  }

  const p99Target = `strata-http1 added p99 at the fixed rate ≤ ${TARGETS.addedP99Ms} ms`;
  if (h1?.addedP99Ms != null) {
    out.push({
      target: p99Target, row: 'strata-http1', value: h1.addedP99Ms, limit: TARGETS.addedP99Ms,
      status: h1.addedP99Ms <= TARGETS.addedP99Ms ? 'met' : 'missed',
      detail: `added p99 ${h1.addedP99Ms} ms (p99 ${h1.p99Ms} ms; direct, measured before each run: ${h1.baselineP99Ms ?? byName.get('direct')?.p99Ms ?? '?'} ms; median over repeats)`,
    });
  } else {
    out.push(notMeasured(p99Target, 'strata-http1', TARGETS.addedP99Ms, whyMissing(h1, 'strata-http1')));
  }

  const rssTarget = `sidecar peak RSS ≤ ${TARGETS.rssMB} MB`;
  const strataRows = rows.filter((r) => r.name.startsWith('strata-') && r.rssMB !== null);
  const worst = strataRows.reduce<RowResult | undefined>((w, r) => ((r.rssMB ?? 0) > (w?.rssMB ?? -1) ? r : w), undefined);
  if (worst?.rssMB != null) {
    out.push({
      target: rssTarget, row: worst.name, value: worst.rssMB, limit: TARGETS.rssMB,
      status: worst.rssMB <= TARGETS.rssMB ? 'met' : 'missed',
      detail: `highest: ${worst.rssMB} MB in ${worst.name} (${strataRows.map((r) => `${r.name} ${r.rssMB}`).join(', ')})`,
    });
  } else {
    out.push(notMeasured(rssTarget, 'strata-*', TARGETS.rssMB, 'no Strata row was measured'));
  }
  return out;
}

const fmt = (v: number | null | undefined, digits = 2): string => (v === null || v === undefined ? '—' : v.toFixed(digits));

/** The results as an aligned text table followed by notes and verdicts. */
export function renderTable(rows: RowResult[], vs: Verdict[], rate: number): string {
  const head = ['row', 'req/s', 'CPU µs/req', 'RSS MB', 'p50 ms', 'p99 ms', '+p50 ms', '+p99 ms', '×nginx CPU', 'CPU0 %', 'CPU1 %'];
  const body = rows.map((r) =>
    r.status !== 'ok'
      ? [r.name, r.status, '', '', '', '', '', '', '', '', '']
      : [
          r.name, fmt(r.rps, 0), fmt(r.cpuUsPerReq), fmt(r.rssMB, 1), fmt(r.p50Ms, 3), fmt(r.p99Ms, 3),
          fmt(r.addedP50Ms, 3), fmt(r.addedP99Ms, 3), fmt(r.ratioCpuToNginx), fmt(r.cpuBusyPct.cpu0, 0), fmt(r.cpuBusyPct.cpu1, 0),
        ],
  );
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  out.push(
    '',
    `p50/p99: at a fixed ${rate} req/s. +p50/+p99: median over repeats of (row − its direct baseline run just before it).`,
    'CPU µs/req and RSS: the proxy process(es) only. CPU0/CPU1: how busy each CPU was during the throughput runs.',
  );
  for (const r of rows) {
    const notes = [...(r.status !== 'ok' && r.reason ? [r.reason] : []), ...r.notes];
    if (r.status === 'ok' && r.bottleneck && r.bottleneck !== 'none saturated') notes.push(`bottleneck: ${r.bottleneck}`);
    if (r.errors > 0) notes.push(`${r.errors} failed requests`);
    if (notes.length > 0) out.push(`  ${r.name}: ${notes.join('; ')}`);
  }
  out.push('', 'Targets:');
  for (const v of vs) out.push(`  [${v.status.toUpperCase()}] ${v.target}: ${v.detail}`);
  return out.join('\n');
}
