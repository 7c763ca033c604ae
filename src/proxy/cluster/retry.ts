/**
 * @module proxy/cluster/retry
 * Retry decisions: given a route's RetrySpec, the request method and how the last attempt
 * ended, may the router try again? Pure functions; the router owns timers, budgets and
 * backoff (see backoff.ts, retry-budget.ts).
 *
 * `retry_on` conditions, after Envoy's router:
 *
 * | condition          | connect-failure | reset | timeout | 502/503/504 | other 5xx | other status |
 * |--------------------|-----------------|-------|---------|-------------|-----------|--------------|
 * | `connect-failure`  | yes             |       |         |             |           |              |
 * | `reset`            | yes             | yes   | yes     |             |           |              |
 * | `5xx`              | yes             | yes   | yes     | yes         | yes       |              |
 * | `gateway-error`    | yes             | yes   | yes     | yes         |           |              |
 * | `retriable-status` |                 |       |         | 503 ¹       |           | ¹            |
 *
 * ¹ 503 by default; the caller may pass its own list of retriable statuses.
 *
 * A per-try timeout is treated like a reset (the upstream "did not respond at all"): it is
 * retried under `reset`, and under `5xx` / `gateway-error` because a timed-out try becomes a
 * 504, a gateway error. A connect failure never got a response either, so `reset`, `5xx` and
 * `gateway-error` cover it too; `connect-failure` covers nothing else.
 */
import { IDEMPOTENT_METHODS } from '../../config/defaults.js';
import type { RetryOn, RetrySpec } from '../../config/snapshot.js';

/** How one upstream attempt ended. */
export type AttemptOutcome =
  | { kind: 'connect-failure' }
  | { kind: 'reset' }
  | { kind: 'timeout' }
  | { kind: 'response'; status: number };

export { IDEMPOTENT_METHODS };

/** Statuses `retriable-status` retries when the caller gives no list of its own. */
export const DEFAULT_RETRIABLE_STATUSES: readonly number[] = [503];

export interface RetryOptions {
  /** Statuses the `retriable-status` condition retries (default: 503 only). */
  retriableStatuses?: readonly number[];
}

/**
 * True for the idempotent methods. Method names are case-sensitive (RFC 9110 §9.1): `get`
 * is not `GET`, so it counts as non-idempotent, which is the safe side for retries.
 */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method);
}

/**
 * True when the hop to the upstream failed rather than the upstream's application:
 * 502, 503, 504, and the local-origin failures (connect failure, reset, per-try timeout)
 * that a proxy reports as one of those statuses.
 */
export function isGatewayError(outcome: AttemptOutcome): boolean {
  switch (outcome.kind) {
    case 'connect-failure':
    case 'reset':
    case 'timeout':
      return true;
    case 'response':
      return outcome.status === 502 || outcome.status === 503 || outcome.status === 504;
  }
}

/** Does one `retry_on` condition match this outcome? (See the table in the module doc.) */
export function retryOnMatches(on: RetryOn, outcome: AttemptOutcome, opts: RetryOptions = {}): boolean {
  switch (on) {
    case 'connect-failure':
      return outcome.kind === 'connect-failure';
    case 'reset':
      return outcome.kind !== 'response';
    case '5xx':
      return outcome.kind !== 'response' || (outcome.status >= 500 && outcome.status <= 599);
    case 'gateway-error':
      return isGatewayError(outcome);
    case 'retriable-status':
      return (
        outcome.kind === 'response' &&
        (opts.retriableStatuses ?? DEFAULT_RETRIABLE_STATUSES).includes(outcome.status)
      );
  }
}

/**
 * May the router make another attempt?
 * @param attempt retries already made for this request (0 after the first try failed).
 * False when `attempt >= spec.attempts`, when the method is not idempotent and the spec does
 * not allow retrying it, or when no `spec.on` condition matches the outcome.
 */
export function shouldRetry(
  spec: RetrySpec,
  method: string,
  outcome: AttemptOutcome,
  attempt: number,
  opts: RetryOptions = {},
): boolean {
  if (!(attempt < spec.attempts)) return false;
  if (!spec.retryNonIdempotent && !isIdempotent(method)) return false;
  return spec.on.some((on) => retryOnMatches(on, outcome, opts));
}
