/**
 * @module bench/lib/wrk
 * Closed-loop HTTP/1.1 load with wrk (one thread, N keep-alive connections).
 */
import { run, type CpuList } from './procs.js';

/** What a throughput run produced, whichever tool ran it. */
export interface LoadResult {
  /** Responses received (any status). */
  completed: number;
  /** Non-2xx/3xx responses plus socket errors / failed streams. */
  errors: number;
  rps: number;
  seconds: number;
  /** The tool's own protocol report, when it gives one (h2load: `h2c`). */
  protocol?: string;
}

export interface WrkOptions {
  url: string;
  connections: number;
  seconds: number;
  cpus: CpuList;
  headers?: readonly string[];
}

export async function runWrk(o: WrkOptions): Promise<LoadResult> {
  const args = ['-t', '1', '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '5s'];
  for (const h of o.headers ?? []) args.push('-H', h);
  args.push(o.url);
  const { stdout } = await run('wrk', 'wrk', args, { cpus: o.cpus });
  return parseWrk(stdout);
}

export function parseWrk(out: string): LoadResult {
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!done?.[1] || !done[2] || !rps?.[1]) throw new Error(`could not parse wrk output: ${out.slice(0, 400)}`);
  const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[done[3] as 'us' | 'ms' | 's' | 'm'];
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const sockErrors = sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { completed: Number(done[1]), errors: non2xx + sockErrors, rps: Number(rps[1]), seconds: Number(done[2]) * unit };
}
