/**
 * @module bench/lib/measure
 * Measures one row: start its proxy (pinned to the proxy CPU), then `repeat` × (warm-up +
 * closed-loop throughput run) and `repeat` × (warm-up + fixed-rate latency run), reading the
 * proxy's CPU time and RSS from /proc around each measured run; stop the proxy.
 */
import { join } from 'node:path';
import type { BenchArgs } from './args.js';
import { runH2load, runH2loadFixedRate, type LatencyResult } from './h2load.js';
import { runHey } from './hey.js';
import { GRPC_HEADERS, GRPC_PATH } from './payload.js';
import type { RunningProxy } from './peers.js';
import { tail, type Child, type CpuList } from './procs.js';
import { round, watch } from './procstat.js';
import { ROWS, type RowDef, type UpstreamPorts } from './rows.js';
import { median } from './stats.js';
import { runWrk, type LoadResult } from './wrk.js';

export interface Placement {
  /** CPUs of the proxy under test (`taskset -c`), or undefined when not pinning. */
  proxy: CpuList;
  /** CPUs of the load generator and the upstream app. */
  load: CpuList;
}

export interface BenchContext {
  args: BenchArgs;
  placement: Placement;
  upstreams: UpstreamPorts;
  /** The upstream processes (their CPU is reported to spot an upstream bottleneck). */
  upstreamChildren: Record<keyof UpstreamPorts, Child>;
  /** Temp dir for request bodies and h2load logs. */
  tmp: string;
  /** File holding the fixed gRPC request frame. */
  grpcBodyFile: string;
  log(line: string): void;
}

export interface ThroughputRun {
  rps: number;
  completed: number;
  errors: number;
  seconds: number;
  proxyCpuUs: number;
  cpuUsPerReq: number | null;
  upstreamCpuUsPerReq: number;
  proxyCpuPct: number | null;
  upstreamCpuPct: number;
  loadGenCpuPct: number;
  /** CPU used by processes outside the benchmark during the run, in % of one CPU. */
  foreignCpuPct: number;
  cpuBusyPct: Record<string, number>;
  peakRssMB: number[];
}

export interface LatencyRun {
  p50Ms: number | null;
  p99Ms: number | null;
  samples: number;
  expected: number;
  errors: number;
  foreignCpuPct: number;
  peakRssMB: number[];
  /** The baseline row's run made right before this one, and this run minus it. */
  baselineP50Ms?: number | null;
  baselineP99Ms?: number | null;
  addedP50Ms?: number | null;
  addedP99Ms?: number | null;
}

export interface RowResult {
  name: string;
  description: string;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  baseline: string | null;
  rps: number | null;
  cpuUsPerReq: number | null;
  rssMB: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Median p50/p99 of the baseline runs paired with this row's latency runs. */
  baselineP50Ms: number | null;
  baselineP99Ms: number | null;
  addedP50Ms: number | null;
  addedP99Ms: number | null;
  ratioCpuToNginx: number | null;
  upstreamCpuUsPerReq: number | null;
  proxyCpuPct: number | null;
  upstreamCpuPct: number | null;
  loadGenCpuPct: number | null;
  foreignCpuPct: number | null;
  cpuBusyPct: Record<string, number>;
  bottleneck: string | null;
  errors: number;
  notes: string[];
  runs: { throughput: ThroughputRun[]; latency: LatencyRun[] };
}

function emptyResult(row: RowDef, status: RowResult['status'], reason?: string): RowResult {
  return {
    name: row.name,
    description: row.description,
    status,
    ...(reason !== undefined ? { reason } : {}),
    baseline: row.baseline ?? null,
    rps: null,
    cpuUsPerReq: null,
    rssMB: null,
    p50Ms: null,
    p99Ms: null,
    baselineP50Ms: null,
    baselineP99Ms: null,
    addedP50Ms: null,
    addedP99Ms: null,
    ratioCpuToNginx: null,
    upstreamCpuUsPerReq: null,
    proxyCpuPct: null,
    upstreamCpuPct: null,
    loadGenCpuPct: null,
    foreignCpuPct: null,
    cpuBusyPct: {},
    bottleneck: null,
    errors: 0,
    notes: [],
    runs: { throughput: [], latency: [] },
  };
}

const url = (row: RowDef, port: number): string => `http://127.0.0.1:${port}${row.client === 'grpc' ? GRPC_PATH : '/'}`;

function closedLoop(row: RowDef, ctx: BenchContext, port: number, seconds: number): Promise<LoadResult> {
  const { args, placement } = ctx;
  if (row.client === 'http1') return runWrk({ url: url(row, port), connections: args.connections, seconds, cpus: placement.load });
  return runH2load({
    url: url(row, port),
    clients: args.h2Clients,
    streams: args.h2Streams,
    seconds,
    cpus: placement.load,
    ...(row.client === 'grpc' ? { headers: GRPC_HEADERS, dataFile: ctx.grpcBodyFile } : {}),
  });
}

let logSeq = 0;

function fixedRate(row: RowDef, ctx: BenchContext, port: number, seconds: number): Promise<LatencyResult> {
  const { args, placement } = ctx;
  const workers = 10;
  const perWorker = args.rate / workers;
  if (row.client === 'http1') return runHey({ url: url(row, port), workers, qpsPerWorker: perWorker, seconds, cpus: placement.load });
  return runH2loadFixedRate({
    url: url(row, port),
    clients: workers,
    streams: 1,
    seconds,
    cpus: placement.load,
    rpsPerClient: perWorker,
    logFile: join(ctx.tmp, `h2load-${++logSeq}.log`),
    ...(row.client === 'grpc' ? { headers: GRPC_HEADERS, dataFile: ctx.grpcBodyFile } : {}),
  });
}

function checkAlive(children: readonly Child[]): void {
  for (const c of children) {
    if (c.done()) throw new Error(`${c.name} (pid ${c.pid}) exited during the run: ${tail(c.stderr() || c.stdout())}`);
  }
}

function checkProtocol(row: RowDef, r: LoadResult): void {
  if (row.client !== 'http1' && r.protocol !== undefined && r.protocol !== 'h2c') {
    throw new Error(`h2load negotiated ${r.protocol}, expected h2c`);
  }
  if (r.completed === 0) throw new Error('no request completed');
}

const mb = (kib: number): number => round(kib / 1024, 1);

async function throughputRun(row: RowDef, ctx: BenchContext, port: number, proxy: readonly Child[], upstream: Child): Promise<ThroughputRun> {
  await closedLoop(row, ctx, port, ctx.args.warmup);
  checkAlive(proxy);
  const w = watch([...proxy.map((c) => c.pid), upstream.pid]);
  const r = await closedLoop(row, ctx, port, ctx.args.duration);
  const u = w.finish();
  checkAlive([...proxy, upstream]);
  checkProtocol(row, r);
  const proxyProcs = u.procs.slice(0, proxy.length);
  const up = u.procs[proxy.length];
  const proxyCpuUs = proxyProcs.reduce((a, p) => a + p.cpuUs, 0);
  const wallUs = u.wallMs * 1000;
  return {
    rps: round(r.rps, 0),
    completed: r.completed,
    errors: r.errors,
    seconds: round(r.seconds, 2),
    proxyCpuUs: round(proxyCpuUs, 0),
    cpuUsPerReq: proxy.length > 0 ? round(proxyCpuUs / r.completed, 2) : null,
    upstreamCpuUsPerReq: round((up?.cpuUs ?? 0) / r.completed, 2),
    proxyCpuPct: proxy.length > 0 ? round((100 * proxyCpuUs) / wallUs, 1) : null,
    upstreamCpuPct: round((100 * (up?.cpuUs ?? 0)) / wallUs, 1),
    loadGenCpuPct: round((100 * u.loadGenCpuUs) / wallUs, 1),
    foreignCpuPct: round((100 * u.foreignCpuUs) / wallUs, 1),
    cpuBusyPct: u.cpuBusy,
    peakRssMB: proxyProcs.map((p) => mb(p.peakRssKiB)),
  };
}

async function latencyRun(row: RowDef, ctx: BenchContext, port: number, proxy: readonly Child[], upstream: Child): Promise<LatencyRun> {
  await fixedRate(row, ctx, port, ctx.args.warmup);
  checkAlive(proxy);
  const w = watch([...proxy.map((c) => c.pid), upstream.pid]);
  const l = await fixedRate(row, ctx, port, ctx.args.latencyDuration);
  const u = w.finish();
  checkAlive([...proxy, upstream]);
  if (l.samples === 0) throw new Error('latency run: no successful request');
  return {
    p50Ms: l.p50Ms !== undefined ? round(l.p50Ms, 3) : null,
    p99Ms: l.p99Ms !== undefined ? round(l.p99Ms, 3) : null,
    samples: l.samples,
    expected: ctx.args.rate * ctx.args.latencyDuration,
    errors: l.errors,
    foreignCpuPct: round((100 * u.foreignCpuUs) / (u.wallMs * 1000), 1),
    peakRssMB: u.procs.slice(0, proxy.length).map((p) => mb(p.peakRssKiB)),
  };
}

const diff = (a: number | null, b: number | null | undefined): number | null => (a === null || b === null || b === undefined ? null : round(a - b, 3));

const orNull = (n: number | undefined, digits = 2): number | null => (n === undefined ? null : round(n, digits));

function bottleneck(busy: Record<string, number>, pinned: boolean, hasProxy: boolean): string {
  const hot = (cpu: string): boolean => (busy[cpu] ?? 0) >= 90;
  if (!pinned) return Object.values(busy).every((v) => v >= 90) ? 'all CPUs saturated' : 'none saturated';
  const parts: string[] = [];
  if (hasProxy && hot('cpu1')) parts.push('proxy (CPU 1 saturated)');
  if (hot('cpu0')) parts.push('load generator + upstream (CPU 0 saturated)');
  return parts.length > 0 ? parts.join(' and ') : 'none saturated';
}

/** Runs every measurement of one row. Never throws: failures become `failed`/`skipped` rows. */
export async function measureRow(row: RowDef, ctx: BenchContext): Promise<RowResult> {
  const upstreamChild = ctx.upstreamChildren[row.upstream];
  const upstreamPort = ctx.upstreams[row.upstream];
  let proxy: RunningProxy | undefined;
  if (row.start) {
    try {
      proxy = await row.start(upstreamPort, ctx.placement.proxy);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      return emptyResult(row, row.strata ? 'skipped' : 'failed', msg);
    }
  }
  const port = proxy?.port ?? upstreamPort;
  const children = proxy?.children ?? [];
  const result = emptyResult(row, 'ok');
  try {
    for (let i = 0; i < ctx.args.repeat; i++) {
      const t = await throughputRun(row, ctx, port, children, upstreamChild);
      result.runs.throughput.push(t);
      ctx.log(`  ${row.name} throughput ${i + 1}/${ctx.args.repeat}: ${t.rps} req/s` +
        `${t.cpuUsPerReq !== null ? `, ${t.cpuUsPerReq} µs CPU/req` : ''}, CPU busy ${JSON.stringify(t.cpuBusyPct)}, foreign ${t.foreignCpuPct}%` +
        `${t.errors > 0 ? `, ${t.errors} errors` : ''}`);
    }
    const base = ROWS.find((r) => r.name === row.baseline);
    for (let i = 0; i < ctx.args.repeat; i++) {
      // The baseline is measured right before each run, so both see the same background load.
      const b = base ? await latencyRun(base, ctx, ctx.upstreams[base.upstream], [], ctx.upstreamChildren[base.upstream]) : undefined;
      const l = await latencyRun(row, ctx, port, children, upstreamChild);
      if (b) {
        Object.assign(l, { baselineP50Ms: b.p50Ms, baselineP99Ms: b.p99Ms, addedP50Ms: diff(l.p50Ms, b.p50Ms), addedP99Ms: diff(l.p99Ms, b.p99Ms) });
      }
      result.runs.latency.push(l);
      ctx.log(`  ${row.name} latency ${i + 1}/${ctx.args.repeat} @ ${ctx.args.rate} req/s: p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms` +
        ` (${l.samples}/${l.expected} responses${l.errors > 0 ? `, ${l.errors} errors` : ''})` +
        `${b ? `; ${base?.name} just before: p50 ${b.p50Ms} ms, p99 ${b.p99Ms} ms` : ''}, foreign ${l.foreignCpuPct}%`);
    }
  } catch (err) {
    result.status = 'failed';
    result.reason = err instanceof Error ? err.message : String(err);
  } finally {
    await proxy?.stop();
  }
  summarize(result, ctx.placement.proxy !== undefined, children.length > 0);
  return result;
}

function summarize(r: RowResult, pinned: boolean, hasProxy: boolean): void {
  const tp = r.runs.throughput;
  const lat = r.runs.latency;
  r.rps = orNull(median(tp.map((t) => t.rps)), 0);
  r.cpuUsPerReq = orNull(median(tp.map((t) => t.cpuUsPerReq ?? undefined)));
  r.upstreamCpuUsPerReq = orNull(median(tp.map((t) => t.upstreamCpuUsPerReq)));
  r.proxyCpuPct = orNull(median(tp.map((t) => t.proxyCpuPct ?? undefined)), 1);
  r.upstreamCpuPct = orNull(median(tp.map((t) => t.upstreamCpuPct)), 1);
  r.loadGenCpuPct = orNull(median(tp.map((t) => t.loadGenCpuPct)), 1);
  r.foreignCpuPct = orNull(median(tp.map((t) => t.foreignCpuPct)), 1);
  const cpus = new Set(tp.flatMap((t) => Object.keys(t.cpuBusyPct)));
  for (const c of cpus) {
    const m = median(tp.map((t) => t.cpuBusyPct[c]));
    if (m !== undefined) r.cpuBusyPct[c] = round(m, 1);
  }
  if (tp.length > 0) r.bottleneck = bottleneck(r.cpuBusyPct, pinned, hasProxy);
  const rss = [...tp, ...lat].flatMap((x) => x.peakRssMB);
  r.rssMB = hasProxy && rss.length > 0 ? Math.max(...rss) : null;
  r.p50Ms = orNull(median(lat.map((l) => l.p50Ms ?? undefined)), 3);
  r.p99Ms = orNull(median(lat.map((l) => l.p99Ms ?? undefined)), 3);
  r.baselineP50Ms = orNull(median(lat.map((l) => l.baselineP50Ms ?? undefined)), 3);
  r.baselineP99Ms = orNull(median(lat.map((l) => l.baselineP99Ms ?? undefined)), 3);
  r.addedP50Ms = orNull(median(lat.map((l) => l.addedP50Ms ?? undefined)), 3);
  r.addedP99Ms = orNull(median(lat.map((l) => l.addedP99Ms ?? undefined)), 3);
  r.errors = tp.reduce((a, t) => a + t.errors, 0) + lat.reduce((a, l) => a + l.errors, 0);
  const completed = tp.reduce((a, t) => a + t.completed, 0);
  if (completed > 0 && tp.reduce((a, t) => a + t.errors, 0) / completed > 0.01) r.notes.push('more than 1% of throughput requests failed');
  if (lat.some((l) => l.samples < 0.9 * l.expected)) r.notes.push('latency run completed fewer than 90% of the intended requests');
  if ((r.foreignCpuPct ?? 0) > 10) r.notes.push(`other processes on the machine used ${r.foreignCpuPct}% of a CPU during the throughput runs`);
  const latForeign = median(lat.map((l) => l.foreignCpuPct));
  if ((latForeign ?? 0) > 10) r.notes.push(`other processes used ${round(latForeign ?? 0, 1)}% of a CPU during the latency runs`);
}
