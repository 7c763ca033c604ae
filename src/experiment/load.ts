/**
 * @module experiment/load
 * The load of `strata experiment priority`, run inside the client host: an open-loop
 * generator of latency-sensitive requests at a fixed rate (latency counted from each request's
 * scheduled time, so a slow system cannot slow the generator down and hide its own queueing),
 * and a closed-loop bulk generator (N workers, each sending its next batch as soon as the last
 * one is answered). Percentiles come from the raw samples (nearest rank).
 *
 * `runLoad` runs one measured phase and reports once at the end; `ContinuousLoad` (the local
 * `strata demo --app priority`) runs the same two generators until stopped and reports the
 * requests that ended since the last report whenever asked.
 */
import http from 'node:http';

export interface ClassResult {
  /** Requests whose scheduled (LS) or start (bulk) time fell in the measured window. */
  sent: number;
  ok: number;
  /** 503 with x-strata-error STRATA_SHED / STRATA_QUEUE_TIMEOUT (answered by a sidecar at the edge). */
  shed: number;
  /** Anything else: other statuses, network errors, timeouts. */
  errors: number;
  /** Errors by kind: the status code, or the network error code (ECONNRESET, timeout…). */
  errorKinds: Record<string, number>;
  /** Successful requests per second over the window. */
  throughput: number;
  /** Latency of successful requests, ms. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface LoadReport {
  durationS: number;
  latencySensitive: ClassResult;
  bulk: ClassResult;
}

export interface LoadOptions {
  /** Base URL of the app's entry (the gateway, or the frontend without a mesh). */
  target: string;
  /** Latency-sensitive requests per second (open loop). */
  lsRate: number;
  /** Bulk workers (closed loop); 0 = none. */
  bulkConcurrency: number;
  /** Body of each bulk request. */
  bulkBytes: number;
  /** Seconds of load before the measured window (samples dropped). */
  warmupS: number;
  /** Seconds measured. */
  durationS: number;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

/** Nearest-rank percentile of sorted samples (q in [0, 1]); NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

interface Sample {
  at: number;
  ms: number;
  outcome: Outcome;
}

type Outcome = 'ok' | 'shed' | { error: string };

export function summarize(samples: readonly Sample[], windowStart: number, windowEnd: number): ClassResult {
  const inWindow = samples.filter((s) => s.at >= windowStart && s.at < windowEnd);
  const okMs = inWindow.filter((s) => s.outcome === 'ok').map((s) => s.ms).sort((a, b) => a - b);
  const seconds = (windowEnd - windowStart) / 1000;
  const round = (n: number): number => (Number.isFinite(n) ? Math.round(n * 100) / 100 : 0);
  return {
    sent: inWindow.length,
    ok: okMs.length,
    shed: inWindow.filter((s) => s.outcome === 'shed').length,
    errors: inWindow.filter((s) => typeof s.outcome === 'object').length,
    errorKinds: inWindow.reduce<Record<string, number>>((acc, s) => {
      if (typeof s.outcome === 'object') acc[s.outcome.error] = (acc[s.outcome.error] ?? 0) + 1;
      return acc;
    }, {}),
    throughput: round(okMs.length / seconds),
    p50: round(percentile(okMs, 0.5)),
    p99: round(percentile(okMs, 0.99)),
    p999: round(percentile(okMs, 0.999)),
    max: round(okMs[okMs.length - 1] ?? NaN),
    mean: round(okMs.reduce((s, v) => s + v, 0) / (okMs.length || 1)),
  };
}

function request(agent: http.Agent, url: string, method: string, body: Buffer | undefined, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const headers = body ? { 'content-type': 'application/octet-stream', 'content-length': String(body.length) } : {};
    const req = http.request(url, { method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const err = res.headers['x-strata-error'];
        if (code >= 200 && code < 300) resolve('ok');
        else if (code === 503 && (err === 'STRATA_SHED' || err === 'STRATA_QUEUE_TIMEOUT')) resolve('shed');
        else resolve({ error: `${code}${typeof err === 'string' ? ` ${err}` : ''}` });
      });
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(body);
  });
}

/** Run one phase and report it. */
export async function runLoad(o: LoadOptions): Promise<LoadReport> {
  const timeoutMs = o.timeoutMs ?? 15_000;
  const lsAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const bulkAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const ls: Sample[] = [];
  const bulk: Sample[] = [];
  const start = performance.now();
  const windowStart = start + o.warmupS * 1000;
  const windowEnd = windowStart + o.durationS * 1000;
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>): void => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  // Bulk: closed loop until the window ends.
  const body = Buffer.alloc(o.bulkBytes, 0x62);
  const bulkWorker = async (): Promise<void> => {
    while (performance.now() < windowEnd) {
      const at = performance.now();
      const outcome = await request(bulkAgent, `${o.target}/batch`, 'POST', body, timeoutMs);
      bulk.push({ at, ms: performance.now() - at, outcome });
      // A shed or failed batch waits a little before it tries again (as a polite client would).
      if (outcome !== 'ok') await new Promise((r) => setTimeout(r, 50));
    }
  };
  for (let i = 0; i < o.bulkConcurrency; i += 1) track(bulkWorker());

  // Latency-sensitive: open loop, request i scheduled at start + i / rate.
  if (o.lsRate > 0) {
    const interval = 1000 / o.lsRate;
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        while (start + i * interval <= now) {
          const at = start + i * interval;
          i += 1;
          if (at >= windowEnd) {
            resolve();
            return;
          }
          const id = 1 + (i % 1000);
          track(request(lsAgent, `${o.target}/item?id=${id}`, 'GET', undefined, timeoutMs).then((outcome) => {
            ls.push({ at, ms: performance.now() - at, outcome });
          }));
        }
        setTimeout(tick, Math.max(0, Math.min(interval, start + i * interval - now)));
      };
      tick();
    });
  } else {
    await new Promise((r) => setTimeout(r, Math.max(0, windowEnd - performance.now())));
  }
  await Promise.all([...inFlight]);
  lsAgent.destroy();
  bulkAgent.destroy();
  return { durationS: o.durationS, latencySensitive: summarize(ls, windowStart, windowEnd), bulk: summarize(bulk, windowStart, windowEnd) };
}

export interface ContinuousLoadOptions {
  /** Base URL of the app's entry. */
  target: string;
  /** Latency-sensitive requests per second (open loop); 0 = none. */
  lsRate: number;
  /** Bulk workers (closed loop); 0 = none. */
  bulkConcurrency: number;
  /** Body of each bulk request. */
  bulkBytes: number;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
}

/**
 * The load of runLoad, running until stop(). Each sample is counted when its request ends:
 * take() summarizes the requests of each class that ended since the previous take() (or the
 * start), so every request is reported once, latency still measured from its scheduled time.
 */
export class ContinuousLoad {
  private readonly lsAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly bulkAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  private ls: Sample[] = [];
  private bulk: Sample[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastTake = 0;

  constructor(private readonly o: ContinuousLoadOptions) {}

  start(): void {
    const timeoutMs = this.o.timeoutMs ?? 15_000;
    const start = performance.now();
    this.lastTake = start;
    const body = Buffer.alloc(this.o.bulkBytes, 0x62);
    const bulkWorker = async (): Promise<void> => {
      while (!this.stopped) {
        const at = performance.now();
        const outcome = await request(this.bulkAgent, `${this.o.target}/batch`, 'POST', body, timeoutMs);
        if (this.stopped) return;
        const end = performance.now();
        this.bulk.push({ at: end, ms: end - at, outcome });
        if (outcome !== 'ok') await new Promise((r) => setTimeout(r, 50));
      }
    };
    for (let i = 0; i < this.o.bulkConcurrency; i += 1) this.track(bulkWorker());
    if (this.o.lsRate <= 0) return;
    const interval = 1000 / this.o.lsRate;
    let i = 0;
    const tick = (): void => {
      if (this.stopped) return;
      const now = performance.now();
      while (start + i * interval <= now) {
        const at = start + i * interval;
        i += 1;
        const id = 1 + (i % 1000);
        this.track(
          request(this.lsAgent, `${this.o.target}/item?id=${id}`, 'GET', undefined, timeoutMs).then((outcome) => {
            if (this.stopped) return;
            const end = performance.now();
            this.ls.push({ at: end, ms: end - at, outcome });
          }),
        );
      }
      this.timer = setTimeout(tick, Math.max(0, Math.min(interval, start + i * interval - now)));
    };
    tick();
  }

  /** The requests of each class that ended since the last take(); durationS is the time since then. */
  take(): LoadReport {
    const now = performance.now();
    const from = this.lastTake;
    this.lastTake = now;
    const [ls, bulk] = [this.ls, this.bulk];
    this.ls = [];
    this.bulk = [];
    // Every sample ended before now; a window of at least 1 ms keeps the rates finite.
    const end = Math.max(now, from + 1) + 1e-9;
    return { durationS: (end - from) / 1000, latencySensitive: summarize(ls, from, end), bulk: summarize(bulk, from, end) };
  }

  /** Stop sending; requests in flight are aborted (and not reported). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.lsAgent.destroy();
    this.bulkAgent.destroy();
    await Promise.all([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
