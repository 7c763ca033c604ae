/**
 * @module demo/priority/summary
 * What `strata demo --app priority` prints (pure): the explanation at the start and one line
 * per interval with the numbers of both classes, e.g.
 *   [   12 s] latency-sensitive  40.0/s ok 100%  p50 12 ms  p99 25 ms | bulk 18.3/s  p99 1.2 s  shed 3
 * Latency-sensitive: requests ended per second, the share answered 2xx, latency of those.
 * Bulk: successful batches per second, their p99. Shed: requests refused by a sidecar's
 * admission (its queue full or timed out) in the interval.
 */
import type { ClassResult, LoadReport } from '../../experiment/load.js';
import { DEFAULT_WORKLOAD } from '../../experiment/topology.js';
import type { Ports } from '../../experiment/topology.js';

/** A latency: '3.4 ms', '12 ms', '1.2 s'; '-' when there is none. */
export function formatLatency(ms: number, any: boolean): string {
  if (!any || !Number.isFinite(ms)) return '-';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

const okShare = (c: ClassResult): string => {
  if (c.sent === 0) return '-';
  if (c.ok === c.sent) return '100%';
  return `${(Math.floor((c.ok / c.sent) * 1000) / 10).toFixed(1)}%`;
};

const errorsText = (c: ClassResult): string => {
  if (c.errors === 0) return '';
  const kinds = Object.entries(c.errorKinds)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  return `  errors ${c.errors} (${kinds})`;
};

/** One interval's line. `shed`: per class, the larger of what the client saw and what the sidecars counted. */
export function intervalLine(elapsedS: number, r: LoadReport, shed: { ls: number; bulk: number }): string {
  const ls = r.latencySensitive;
  const b = r.bulk;
  const perS = (n: number): string => `${(r.durationS > 0 ? n / r.durationS : 0).toFixed(1)}/s`;
  const lsShed = Math.max(ls.shed, shed.ls);
  const bulkShed = Math.max(b.shed, shed.bulk);
  return (
    `[${String(Math.round(elapsedS)).padStart(5)} s] ` +
    `latency-sensitive  ${perS(ls.sent)} ok ${okShare(ls)}  p50 ${formatLatency(ls.p50, ls.ok > 0)}  p99 ${formatLatency(ls.p99, ls.ok > 0)}` +
    `${lsShed > 0 ? `  shed ${lsShed}` : ''}${errorsText(ls)}` +
    ` | bulk ${perS(b.ok)}  p99 ${formatLatency(b.p99, b.ok > 0)}  shed ${bulkShed}${errorsText(b)}`
  );
}

/** Sidecar shed counters (by class, since start) → what each interval adds. */
export class ShedTracker {
  private readonly before: Record<string, number>;

  constructor(initial: Record<string, number>) {
    this.before = { ...initial };
  }

  /** Requests shed since the previous call (or the construction), per class of the line. */
  next(now: Record<string, number>): { ls: number; bulk: number } {
    const delta = (cls: string): number => Math.max(0, (now[cls] ?? 0) - (this.before[cls] ?? 0));
    const out = { ls: delta('latency-sensitive'), bulk: delta('bulk') };
    // Counters only grow: a sidecar that did not answer this time does not lower the baseline.
    for (const [cls, n] of Object.entries(now)) this.before[cls] = Math.max(this.before[cls] ?? 0, n);
    return out;
  }
}

export interface IntroFacts {
  priority: boolean;
  ports: Ports;
  rabbitPort: number;
  lsRate: number;
  bulk: number;
  durationS: number;
  dir: string;
}

/** The explanation printed once everything runs. */
export function introText(f: IntroFacts): string {
  const p = f.ports;
  const w = DEFAULT_WORKLOAD;
  const mode = f.priority
    ? 'priority ON (the proxy-broker configuration): the gateway classifies GET /item as latency-sensitive and POST /batch as bulk;\n' +
      `  each sidecar admits by class (catalog: ${w.catalog.slots} slots, bulk holds at most ${Math.max(1, Math.floor(w.catalog.slots * w.bulkMaxShare))}; latency-sensitive first),\n` +
      '  and the job queue is a RabbitMQ priority queue'
    : 'priority OFF (the mesh configuration): the same sidecars, no classes — latency-sensitive requests queue behind bulk ones';
  const until = f.durationS > 0 ? `stopping after ${f.durationS} s` : 'Ctrl-C to stop';
  return [
    '',
    'The mixed-workload app of `strata experiment priority`, on this machine (loopback):',
    `  client → gateway :${p.entry} (frontend's sidecar) → frontend :${p.frontendApp} → catalog :${p.catalogInbound} ∥ search :${p.searchInbound} (through their sidecars)`,
    `  search → RabbitMQ 127.0.0.1:${f.rabbitPort} (through the sidecars' AMQP listeners :${p.searchAmqp}, :${p.workerAmqp}) → worker → store :${p.storeInbound}`,
    `  ${mode}`,
    `  sidecar admin ports: ${Object.entries(p.admin).map(([k, v]) => `${k} :${v}`).join(', ')}; logs and sidecar files in ${f.dir}`,
    '',
    'Try:',
    `  curl -s -w ' %{time_total} s\\n' 'localhost:${p.entry}/item?id=1'                           # latency-sensitive (GET /item)`,
    `  curl -s -w ' %{time_total} s\\n' -X POST --data-binary 'some bytes' localhost:${p.entry}/batch   # bulk (POST /batch)`,
    `  curl -s localhost:${p.admin.catalog}/stats | grep strata_priority                       # the catalog sidecar's admission by class`,
    `  strata demo --app priority --priority ${f.priority ? 'off' : 'on'}                                      # to compare`,
    '',
    `Load: ${f.lsRate} latency-sensitive GET /item per second (open loop) and ${f.bulk} bulk workers POSTing /batch back to back; ${until}.`,
    '',
  ].join('\n');
}
