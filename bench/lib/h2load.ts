/**
 * @module bench/lib/h2load
 * HTTP/2 load with h2load: h2c with prior knowledge (an `http://` URL), closed loop for
 * throughput and `--rps` per client for the fixed-rate latency runs (per-request times from
 * `--log-file`).
 */
import { readFileSync } from 'node:fs';
import { run, type CpuList } from './procs.js';
import type { LoadResult } from './wrk.js';
import { p50p99 } from './stats.js';

export interface H2loadOptions {
  url: string;
  clients: number;
  streams: number;
  seconds: number;
  cpus: CpuList;
  headers?: readonly string[];
  /** File whose bytes are POSTed as each request's body. */
  dataFile?: string;
}

function baseArgs(o: H2loadOptions): string[] {
  const args = ['-t', '1', '-c', String(o.clients), '-m', String(o.streams), '-D', String(o.seconds)];
  for (const h of o.headers ?? []) args.push('-H', h);
  if (o.dataFile) args.push('-d', o.dataFile);
  return args;
}

export async function runH2load(o: H2loadOptions): Promise<LoadResult> {
  const { stdout } = await run('h2load', 'h2load', [...baseArgs(o), o.url], { cpus: o.cpus });
  return parseH2load(stdout);
}

export function parseH2load(out: string): LoadResult {
  const fin = /finished in ([\d.]+)(ms|s), ([\d.]+) req\/s/.exec(out);
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  if (!fin?.[1] || !fin[3] || !req) throw new Error(`could not parse h2load output: ${out.slice(-600)}`);
  const protocol = /Application protocol: (\S+)/.exec(out)?.[1];
  const seconds = Number(fin[1]) * (fin[2] === 'ms' ? 1e-3 : 1);
  const done = Number(req[3]);
  const failed = Number(req[5]) + Number(req[6]) + Number(req[7]);
  const non2xx = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const bad = non2xx ? Number(non2xx[2]) + Number(non2xx[3]) : 0;
  return { completed: done, errors: failed + bad, rps: Number(fin[3]), seconds, ...(protocol ? { protocol } : {}) };
}

/** Latency percentiles (ms) of a fixed-rate run: `clients` × `rpsPerClient`, one stream each. */
export interface LatencyResult {
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  samples: number;
  errors: number;
}

export async function runH2loadFixedRate(o: H2loadOptions & { rpsPerClient: number; logFile: string }): Promise<LatencyResult> {
  const args = [...baseArgs({ ...o, streams: 1 }), '--rps', String(o.rpsPerClient), '--log-file', o.logFile, o.url];
  await run('h2load', 'h2load', args, { cpus: o.cpus });
  return parseH2loadLog(readFileSync(o.logFile, 'utf8'));
}

/** The `--log-file` rows: start µs since epoch, status (-1 = failed), µs to end of response. */
export function parseH2loadLog(text: string): LatencyResult {
  const times: number[] = [];
  let errors = 0;
  for (const line of text.split('\n')) {
    const [, status, micros] = line.split('\t');
    if (status === undefined || micros === undefined) continue;
    const code = Number(status);
    if (code < 200 || code >= 400) errors++;
    else times.push(Number(micros) / 1000);
  }
  const { p50, p99, count } = p50p99(times);
  return { p50Ms: p50, p99Ms: p99, samples: count, errors };
}
