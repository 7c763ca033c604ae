/**
 * @module proxy/cluster/endpoint
 * Runtime state of one upstream endpoint, shared by the balancer (reads), the cluster
 * (request accounting), outlier detection and health checking (availability).
 */
import type { EndpointSpec } from '../../config/snapshot.js';

/** Decay time constant for the peak-EWMA latency estimate. */
const EWMA_TAU_MS = 10_000;

export class Endpoint {
  readonly key: string;
  /** Requests in flight to this endpoint right now. */
  active = 0;
  /** Peak-EWMA latency estimate in ms (0 until the first sample). */
  ewmaMs = 0;
  private ewmaStamp = 0;
  /** Active health check verdict (true until a checker says otherwise). */
  healthy = true;
  /** Outlier detection: ejected until this time (ms since epoch); 0 = not ejected. */
  ejectedUntil = 0;
  /** How many times this endpoint has been ejected (ejection time grows with it). */
  ejections = 0;
  totalRequests = 0;
  totalFailures = 0;

  constructor(readonly spec: EndpointSpec) {
    this.key = `${spec.address}:${spec.port}`;
  }

  get weight(): number {
    return this.spec.weight;
  }

  available(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now;
  }

  onStart(): void {
    this.active++;
    this.totalRequests++;
  }

  onEnd(latencyMs: number, failed: boolean, now: number): void {
    if (this.active > 0) this.active--;
    if (failed) this.totalFailures++;
    this.recordLatency(latencyMs, now);
  }

  /** True once a response latency has been recorded. */
  get hasLatencySample(): boolean {
    return this.ewmaStamp !== 0;
  }

  /**
   * The estimate as of `now`, decayed toward 0 while no response arrives (Finagle's
   * read-side decay), so an endpoint that was slow once and then got no traffic is tried
   * again instead of starving.
   */
  ewmaAt(now: number): number {
    if (this.ewmaStamp === 0) return 0;
    const idle = now - this.ewmaStamp;
    return idle <= 0 ? this.ewmaMs : this.ewmaMs * Math.exp(-idle / EWMA_TAU_MS);
  }

  /** Peak-sensitive EWMA (Finagle/Linkerd style): jumps up on a slow sample, decays down. */
  recordLatency(ms: number, now: number): void {
    if (this.ewmaStamp === 0 || ms > this.ewmaMs) {
      this.ewmaMs = ms;
    } else {
      const w = Math.exp(-Math.max(0, now - this.ewmaStamp) / EWMA_TAU_MS);
      this.ewmaMs = this.ewmaMs * w + ms * (1 - w);
    }
    this.ewmaStamp = now;
  }
}
