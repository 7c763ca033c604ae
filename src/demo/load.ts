/**
 * @module demo/load
 * The demo's load generator: a steady N requests per second to `http://frontend/` through a
 * sidecar's HTTP proxy, and a summary every few seconds — requests, success rate, p50/p99
 * latency and which pricing versions answered (read from the answers' `versions`).
 */
import http from 'node:http';

export interface LoadStats {
  sent: number;
  ok: number;
  failed: number;
  latencies: number[];
  pricing: Record<string, number>;
  lastError?: string;
}

const emptyStats = (): LoadStats => ({ sent: 0, ok: 0, failed: 0, latencies: [], pricing: {} });

/** The q-quantile (0..1) of `sorted` (ascending); 0 when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? 0;
}

/** One summary line for an interval, with the running totals. */
export function summaryLine(interval: LoadStats, total: LoadStats, now = new Date()): string {
  const done = interval.ok + interval.failed;
  const sorted = [...interval.latencies].sort((a, b) => a - b);
  const pct = done === 0 ? '-' : `${((100 * interval.ok) / done).toFixed(1)}%`;
  const v = Object.entries(total.pricing).sort(([a], [b]) => (a < b ? -1 : 1));
  const n = v.reduce((s, [, c]) => s + c, 0);
  const share = v.length === 0 ? 'none yet' : v.map(([ver, c]) => `${ver} ${c} (${Math.round((100 * c) / n)}%)`).join(' / ');
  const time = now.toISOString().slice(11, 19);
  return (
    `[${time}] requests ${done} (total ${total.ok + total.failed})  ok ${pct}  ` +
    `p50 ${quantile(sorted, 0.5).toFixed(1)} ms  p99 ${quantile(sorted, 0.99).toFixed(1)} ms  pricing ${share}` +
    (interval.failed > 0 && interval.lastError ? `  last error: ${interval.lastError}` : '')
  );
}

export class LoadGenerator {
  private total = emptyStats();
  private interval = emptyStats();
  private tick: NodeJS.Timeout | undefined;
  private report: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

  constructor(
    private readonly o: { proxyPort: number; service: string; rps: number; everyMs: number; print(line: string): void },
  ) {}

  start(): void {
    if (this.o.rps > 0) this.tick = setInterval(() => this.send(), 1000 / this.o.rps);
    this.report = setInterval(() => {
      this.o.print(summaryLine(this.interval, this.total));
      this.interval = emptyStats();
    }, this.o.everyMs);
  }

  stop(): void {
    if (this.tick) clearInterval(this.tick);
    if (this.report) clearInterval(this.report);
    this.agent.destroy();
  }

  totals(): LoadStats {
    return this.total;
  }

  private send(): void {
    if (this.inFlight >= 64) return; // do not pile up behind a stuck mesh
    this.inFlight++;
    const started = process.hrtime.bigint();
    let finished = false;
    const done = (ok: boolean, versions: Record<string, number> | undefined, error?: string): void => {
      if (finished) return;
      finished = true;
      this.inFlight--;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      for (const s of [this.total, this.interval]) {
        s.sent++;
        if (ok) s.ok++;
        else {
          s.failed++;
          if (error) s.lastError = error;
        }
        s.latencies.push(ms);
        for (const [v, c] of Object.entries(versions ?? {})) s.pricing[v] = (s.pricing[v] ?? 0) + c;
      }
      if (this.total.latencies.length > 10_000) this.total.latencies = [];
    };
    const req = http.request(
      { host: '127.0.0.1', port: this.o.proxyPort, path: `http://${this.o.service}/`, headers: { host: this.o.service }, agent: this.agent, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          let versions: Record<string, number> | undefined;
          try {
            versions = (JSON.parse(body) as { versions?: Record<string, Record<string, number>> }).versions?.['pricing'];
          } catch {
            versions = undefined;
          }
          const ok = (res.statusCode ?? 0) < 400;
          done(ok, ok ? versions : undefined, ok ? undefined : `HTTP ${res.statusCode} ${body.slice(0, 120).trim()}`);
        });
        res.on('error', (err) => done(false, undefined, err.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => done(false, undefined, err.message));
    req.end();
  }
}
