/**
 * @module proxy/cluster/retry-budget
 * A cluster-wide cap on concurrent retries, after Envoy's retry budget: retries may be at
 * most `budgetPercent`% of the requests in flight, but `minRetryConcurrency` are always
 * allowed so that a quiet cluster can still retry. It stops retry storms from multiplying
 * load on an upstream that is already failing.
 */
import type { RetryBudgetSpec } from '../../config/snapshot.js';

export class RetryBudget {
  private spec: RetryBudgetSpec;
  private retries = 0;
  /** Retries refused because the budget was spent (for stats). */
  overflow = 0;

  constructor(spec: RetryBudgetSpec) {
    this.spec = spec;
  }

  /** Retries in flight right now. */
  get active(): number {
    return this.retries;
  }

  /**
   * How many concurrent retries `activeRequests` in-flight requests allow:
   * max(minRetryConcurrency, ⌊budgetPercent/100 · activeRequests⌋).
   */
  limit(activeRequests: number): number {
    const share = Math.floor((this.spec.budgetPercent / 100) * Math.max(0, activeRequests));
    return Math.max(this.spec.minRetryConcurrency, Number.isFinite(share) ? share : 0);
  }

  /**
   * Reserve one retry if the budget has room; pair every `true` with one `release()`.
   * @param activeRequests requests in flight on the cluster (retries included).
   */
  tryAcquire(activeRequests: number): boolean {
    if (this.retries < this.limit(activeRequests)) {
      this.retries++;
      return true;
    }
    this.overflow++;
    return false;
  }

  /** The retry acquired with `tryAcquire` has finished. Extra calls are ignored. */
  release(): void {
    if (this.retries > 0) this.retries--;
  }

  /** New limits; retries already in flight stay counted. */
  update(spec: RetryBudgetSpec): void {
    this.spec = spec;
  }
}
