/**
 * @module bench/control/report
 * From ACK times to numbers: per round p50/p99/max over clients (ms since the clock started),
 * medians over repeats, the target verdicts (every client ACKs within 1 s; control-plane peak
 * RSS ≤ 300 MB) and the printed table.
 */
import { median, percentileSorted } from '../lib/stats.js';
import { round } from '../lib/procstat.js';

export const TARGETS = {
  allAckedMs: 1000,
  rssMB: 300,
} as const;

/** How long the clients took to ACK one round, in ms since the clock started. */
export interface AckStats {
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  acked: number;
  missing: number;
}

/** p50/p99/max of the ACK delays; a client that never ACKed counts in `missing` (and makes max null). */
export function ackStats(startMs: number, times: readonly (number | null)[]): AckStats {
  const d = times.filter((t): t is number => t !== null).map((t) => t - startMs).sort((a, b) => a - b);
  const missing = times.length - d.length;
  const r = (v: number | undefined): number | null => (v === undefined ? null : round(v, 1));
  return {
    p50Ms: r(percentileSorted(d, 50)),
    p99Ms: r(percentileSorted(d, 99)),
    maxMs: missing > 0 ? null : r(d[d.length - 1]),
    acked: d.length,
    missing,
  };
}

/** One application of a change and what it cost. */
export interface ChangeRun extends AckStats {
  /** How long the REST call itself took. */
  applyMs: number;
  /** Control-plane CPU seconds from the apply until the last ACK (plus the settle pause). */
  controlCpuS: number;
  /** The bench process's CPU seconds over the same span (all its threads). */
  benchCpuS: number;
  /** Event-loop utilisation of the client worker(s) over the round (max over workers). */
  clientElu: number;
  /** CPU seconds used by other processes on the machine over the same span (noise). */
  foreignCpuS: number;
}

export interface ChangeSummary {
  kind: 'route' | 'endpoint';
  description: string;
  runs: ChangeRun[];
  /** Medians over runs; maxMs null when any run had a client that never ACKed. */
  median: { p50Ms: number | null; p99Ms: number | null; maxMs: number | null; controlCpuS: number | null; applyMs: number | null };
  worstMaxMs: number | null;
}

export function summarize(kind: ChangeSummary['kind'], description: string, runs: ChangeRun[]): ChangeSummary {
  const med = (f: (r: ChangeRun) => number | null, digits = 1): number | null => {
    const m = median(runs.map((r) => f(r) ?? undefined));
    return m === undefined ? null : round(m, digits);
  };
  const incomplete = runs.some((r) => r.missing > 0);
  return {
    kind,
    description,
    runs,
    median: {
      p50Ms: med((r) => r.p50Ms),
      p99Ms: med((r) => r.p99Ms),
      maxMs: incomplete ? null : med((r) => r.maxMs),
      controlCpuS: med((r) => r.controlCpuS, 3),
      applyMs: med((r) => r.applyMs),
    },
    worstMaxMs: incomplete ? null : runs.reduce<number | null>((w, r) => (r.maxMs !== null && (w === null || r.maxMs > w) ? r.maxMs : w), null),
  };
}

export interface VariantResult {
  name: string;
  protocol: string;
  scope: string;
  status: 'ok' | 'failed';
  reason?: string;
  /** Loading the mesh through the REST API. */
  load: { applyMs: number; servedMs: number; controlCpuS: number } | null;
  /** From opening the streams until every client ACKed its initial configuration. */
  connect: (AckStats & { controlCpuS: number; benchCpuS: number; clientElu: number; foreignCpuS: number }) | null;
  changes: ChangeSummary[];
  /** Control plane: VmRSS with the clients connected and idle, VmHWM (peak) over the variant. */
  controlRssMB: { beforeClients: number | null; steady: number | null; afterChanges: number | null; peak: number | null };
  /** Per client, what it subscribes to after the initial config (for the record). */
  perClient: { clusters: number | null; listeners: number | null };
  benchPeakRssMB: number | null;
  streamsEnded: number;
  /** How busy each CPU was just before the variant started. */
  backgroundCpuBusyPct?: Record<string, number>;
  notes: string[];
}

export interface Verdict {
  target: string;
  variant: string;
  value: number | null;
  limit: number;
  status: 'met' | 'missed' | 'not measured';
  detail: string;
}

export function verdicts(variants: readonly VariantResult[]): Verdict[] {
  const out: Verdict[] = [];
  for (const v of variants) {
    for (const c of v.changes) {
      const target = `all clients ACK the ${c.kind} change within ${TARGETS.allAckedMs} ms`;
      if (v.status !== 'ok' || c.runs.length === 0) {
        out.push({ target, variant: v.name, value: null, limit: TARGETS.allAckedMs, status: 'not measured', detail: v.reason ?? 'not run' });
        continue;
      }
      const missing = c.runs.reduce((a, r) => a + r.missing, 0);
      const value = c.median.maxMs;
      out.push({
        target,
        variant: v.name,
        value,
        limit: TARGETS.allAckedMs,
        status: value !== null && value <= TARGETS.allAckedMs ? 'met' : 'missed',
        detail:
          value === null
            ? `${missing} client ACK(s) missing over ${c.runs.length} runs`
            : `median max ${value} ms (${round(value / TARGETS.allAckedMs, 2)}× target; worst run ${c.worstMaxMs} ms; p99 ${c.median.p99Ms} ms)`,
      });
    }
    const peak = v.controlRssMB.peak;
    out.push({
      target: `control-plane peak RSS ≤ ${TARGETS.rssMB} MB`,
      variant: v.name,
      value: peak,
      limit: TARGETS.rssMB,
      status: peak === null ? 'not measured' : peak <= TARGETS.rssMB ? 'met' : 'missed',
      detail: peak === null ? (v.reason ?? 'not measured') : `VmHWM ${peak} MB (${round(peak / TARGETS.rssMB, 2)}× target; steady ${v.controlRssMB.steady ?? '—'} MB)`,
    });
  }
  return out;
}

const fmt = (v: number | null | undefined, digits = 0): string => (v === null || v === undefined ? '—' : v.toFixed(digits));

export function renderTable(variants: readonly VariantResult[], vs: readonly Verdict[], clients: number): string {
  const head = ['variant', 'phase', 'p50 ms', 'p99 ms', 'max ms', '×1s', 'acked', 'CP CPU s', 'bench CPU s', 'client ELU', 'other CPU s'];
  const body: string[][] = [];
  for (const v of variants) {
    if (v.status !== 'ok' && !v.connect) {
      body.push([v.name, 'FAILED', '', '', '', '', '', '', '', '', '']);
      continue;
    }
    if (v.connect) {
      const c = v.connect;
      body.push([v.name, 'connect', fmt(c.p50Ms), fmt(c.p99Ms), fmt(c.maxMs), fmt(c.maxMs === null ? null : c.maxMs / TARGETS.allAckedMs, 2), `${c.acked}/${clients}`, fmt(c.controlCpuS, 2), fmt(c.benchCpuS, 2), fmt(c.clientElu, 2), fmt(c.foreignCpuS, 2)]);
    }
    for (const ch of v.changes) {
      const m = ch.median;
      const acked = ch.runs.length === 0 ? '—' : `${Math.min(...ch.runs.map((r) => r.acked))}/${clients}`;
      const bench = median(ch.runs.map((r) => r.benchCpuS)) ?? null;
      const elu = median(ch.runs.map((r) => r.clientElu)) ?? null;
      const other = median(ch.runs.map((r) => r.foreignCpuS)) ?? null;
      body.push(['', `${ch.kind} change`, fmt(m.p50Ms), fmt(m.p99Ms), fmt(m.maxMs), fmt(m.maxMs === null ? null : m.maxMs / TARGETS.allAckedMs, 2), acked, fmt(m.controlCpuS, 2), fmt(bench, 2), fmt(elu, 2), fmt(other, 2)]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i <= 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  out.push(
    '',
    'connect: streams opened → each client ACKed all of its initial config. change: REST call start → each client ACKed a response carrying it.',
    'Change rows: median over repeats of each run\'s p50/p99/max over clients. ×1s: max ÷ the 1 s target. acked: fewest clients that ACKed in any run.',
    'CP CPU s: control-plane utime+stime over the phase. bench CPU s: this process (all threads). client ELU: event-loop utilisation of the client worker (≈1 = the bench itself was the bottleneck).',
    'other CPU s: busy CPU time of everything else on the machine over the phase (should be ≈0; more means noisy numbers).',
    '',
    'Control-plane memory (MB):',
  );
  for (const v of variants) {
    const r = v.controlRssMB;
    out.push(`  ${v.name}: before clients ${fmt(r.beforeClients)}, steady ${fmt(r.steady)}, after changes ${fmt(r.afterChanges)}, peak (VmHWM) ${fmt(r.peak)}; per client ${fmt(v.perClient.clusters)} clusters, ${fmt(v.perClient.listeners)} listeners; bench peak RSS ${fmt(v.benchPeakRssMB)}`);
    for (const n of [...(v.reason ? [`failed: ${v.reason}`] : []), ...v.notes]) out.push(`    ${n}`);
  }
  out.push('', 'Targets:');
  for (const v of vs) out.push(`  [${v.status.toUpperCase()}] ${v.variant}: ${v.target}: ${v.detail}`);
  return out.join('\n');
}
