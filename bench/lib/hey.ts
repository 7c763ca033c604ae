/**
 * @module bench/lib/hey
 * Fixed-rate HTTP/1.1 latency with hey: `-z D -c W -q Q -o csv` (W workers × Q req/s each),
 * percentiles computed from the CSV's response-time column (seconds).
 */
import { run, type CpuList } from './procs.js';
import { p50p99 } from './stats.js';
import type { LatencyResult } from './h2load.js';

export interface HeyOptions {
  url: string;
  workers: number;
  qpsPerWorker: number;
  seconds: number;
  cpus: CpuList;
}

export async function runHey(o: HeyOptions): Promise<LatencyResult> {
  const args = ['-z', `${o.seconds}s`, '-c', String(o.workers), '-q', String(o.qpsPerWorker), '-o', 'csv', o.url];
  const { stdout } = await run('hey', 'hey', args, { cpus: o.cpus, collectAll: true });
  return parseHeyCsv(stdout);
}

export function parseHeyCsv(csv: string): LatencyResult {
  const lines = csv.split('\n').filter((l) => l.trim().length > 0);
  const header = (lines.shift() ?? '').split(',');
  const timeCol = header.indexOf('response-time');
  const statusCol = header.indexOf('status-code');
  if (timeCol < 0) throw new Error(`hey CSV has no response-time column: ${header.join(',')}`);
  const times: number[] = [];
  let errors = 0;
  for (const line of lines) {
    const cols = line.split(',');
    const status = statusCol >= 0 ? Number(cols[statusCol]) : 200;
    const t = Number(cols[timeCol]);
    if (!Number.isFinite(t) || status < 200 || status >= 400) errors++;
    else times.push(t * 1000);
  }
  const { p50, p99, count } = p50p99(times);
  return { p50Ms: p50, p99Ms: p99, samples: count, errors };
}
