/**
 * @module proxy/priority/limiter
 * Concurrency limits for admission: a static one, and an adaptive gradient limit in the
 * manner of Netflix concurrency-limits — it grows (by about √limit per round) while latency
 * stays within `tolerance` × the no-load minimum, and shrinks in proportion when latency
 * rises past it (by at most half per sample), or by 10 % on a drop (timeout, 503). The
 * no-load minimum is the lowest latency seen in the current and the previous window, so it
 * follows a service that became slower for good. The clock is injected; no timers.
 */
import type { ConcurrencyLimitSpec } from '../../config/snapshot.js';

export interface ConcurrencyLimit {
  /** Requests allowed in flight now (≥ 1). */
  readonly limit: number;
  /** One completed request: its latency, how many were in flight when it started, whether it was dropped. */
  onSample(latencyMs: number, inFlight: number, dropped: boolean): void;
}

export class StaticLimit implements ConcurrencyLimit {
  constructor(readonly limit: number) {}
  onSample(): void {}
}

/** The adaptive limit's settings, as configured (config/snapshot.ts). */
export type GradientOptions = Omit<Extract<ConcurrencyLimitSpec, { kind: 'adaptive' }>, 'kind'>;

export class GradientLimit implements ConcurrencyLimit {
  private estimate: number;
  limit: number;
  private windowStart: number;
  private currentMin = Infinity;
  private previousMin = Infinity;

  constructor(
    private readonly o: GradientOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.estimate = clamp(o.initial, o.min, o.max);
    this.limit = Math.floor(this.estimate);
    this.windowStart = now();
  }

  /** The no-load latency estimate (Infinity before the first sample). */
  get noLoadMs(): number {
    return Math.min(this.currentMin, this.previousMin);
  }

  onSample(latencyMs: number, inFlight: number, dropped: boolean): void {
    const o = this.o;
    const t = this.now();
    if (t - this.windowStart >= o.windowMs) {
      // Two windows passed without a sample: forget both.
      this.previousMin = t - this.windowStart >= 2 * o.windowMs ? Infinity : this.currentMin;
      this.currentMin = Infinity;
      this.windowStart = t;
    }
    const rtt = Math.max(latencyMs, 0.001);
    if (rtt < this.currentMin) this.currentMin = rtt;
    let next: number;
    if (dropped) {
      next = this.estimate * 0.9;
    } else {
      const gradient = clamp((o.tolerance * this.noLoadMs) / rtt, 0.5, 1);
      next = this.estimate * gradient + Math.sqrt(this.estimate);
      // Not using what it has: no reason to grow (an idle service would reach max).
      if (next > this.estimate && inFlight < this.estimate / 2) return;
      next = (1 - o.smoothing) * this.estimate + o.smoothing * next;
    }
    this.estimate = clamp(next, o.min, o.max);
    this.limit = Math.max(1, Math.floor(this.estimate));
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

export function makeLimit(spec: ConcurrencyLimitSpec, now?: () => number): ConcurrencyLimit {
  return spec.kind === 'static' ? new StaticLimit(spec.limit) : new GradientLimit(spec, now);
}
