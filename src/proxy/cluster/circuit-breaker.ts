/**
 * @module proxy/cluster/circuit-breaker
 * Per-cluster concurrency limits, after Envoy's circuit breakers: requests in flight,
 * requests waiting for a connection, and open connections. A refused `try…` counts one
 * overflow (Envoy's `upstream_rq_pending_overflow` and friends); the caller answers 503.
 *
 * Limits are taken literally: a limit of 0 admits nothing. Every `try…` that returned true
 * must be paired with exactly one matching end/remove/close call; extra calls are ignored so
 * the counters never go negative.
 */
import type { CircuitBreakerSpec } from '../../config/snapshot.js';

export interface BreakerCounts {
  requests: number;
  pending: number;
  connections: number;
}

export class CircuitBreaker {
  private spec: CircuitBreakerSpec;
  private readonly current: BreakerCounts = { requests: 0, pending: 0, connections: 0 };
  /** How many times each limit refused (for stats). */
  readonly overflow: BreakerCounts = { requests: 0, pending: 0, connections: 0 };

  constructor(spec: CircuitBreakerSpec) {
    this.spec = spec;
  }

  /** Requests in flight. */
  get requests(): number {
    return this.current.requests;
  }
  /** Requests waiting for a connection. */
  get pending(): number {
    return this.current.pending;
  }
  /** Open upstream connections. */
  get connections(): number {
    return this.current.connections;
  }

  /** Which limits are reached right now (Envoy's `rq_open`, `rq_pending_open`, `cx_open`). */
  get open(): { requests: boolean; pending: boolean; connections: boolean } {
    return {
      requests: this.current.requests >= this.spec.maxRequests,
      pending: this.current.pending >= this.spec.maxPending,
      connections: this.current.connections >= this.spec.maxConnections,
    };
  }

  tryStartRequest(): boolean {
    return this.tryAdd('requests', this.spec.maxRequests);
  }
  endRequest(): void {
    this.remove('requests');
  }

  tryAddPending(): boolean {
    return this.tryAdd('pending', this.spec.maxPending);
  }
  removePending(): void {
    this.remove('pending');
  }

  tryOpenConnection(): boolean {
    return this.tryAdd('connections', this.spec.maxConnections);
  }
  closeConnection(): void {
    this.remove('connections');
  }

  /**
   * New limits. Current counts are kept: if they exceed a lowered limit, new work is refused
   * until enough of it finishes.
   */
  update(spec: CircuitBreakerSpec): void {
    this.spec = spec;
  }

  private tryAdd(kind: keyof BreakerCounts, max: number): boolean {
    if (this.current[kind] < max) {
      this.current[kind]++;
      return true;
    }
    this.overflow[kind]++;
    return false;
  }

  private remove(kind: keyof BreakerCounts): void {
    if (this.current[kind] > 0) this.current[kind]--;
  }
}
