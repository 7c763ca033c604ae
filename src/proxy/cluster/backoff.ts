/**
 * @module proxy/cluster/backoff
 * Delay before a retry: exponential growth with "full jitter" (AWS architecture blog,
 * "Exponential Backoff And Jitter"), the scheme Envoy and gRPC use. Full jitter spreads the
 * retries of many clients over the whole window instead of synchronising them.
 */

/** Past this many doublings the ceiling is `maxMs` anyway; keeps 2^n finite. */
const MAX_DOUBLINGS = 52;

/**
 * Milliseconds to wait before retry number `retryNumber` (1 for the first retry).
 * Uniform over the integers in [0, min(maxMs, baseMs · 2^(retryNumber−1))], then raised to at
 * least 1 ms, so a retry is never scheduled with no delay at all. Returns 0 only for
 * `retryNumber < 1` (no retry, no wait). A non-positive or non-finite base, or a non-positive
 * ceiling, collapses the window to that 1 ms floor; an infinite ceiling means no cap.
 * @param random source of uniform numbers in [0, 1); injectable for tests.
 */
export function backoffMs(retryNumber: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  if (!(retryNumber >= 1)) return 0;
  const doublings = Math.min(Math.floor(retryNumber) - 1, MAX_DOUBLINGS);
  const base = Number.isFinite(baseMs) && baseMs > 0 ? baseMs : 0;
  const max = maxMs > 0 ? maxMs : 0; // NaN and ≤ 0 → 0; Infinity means "no cap"
  const ceiling = Math.min(max, base * 2 ** doublings);
  const upper = Math.floor(ceiling);
  const r = random();
  const u = r >= 0 && r < 1 ? r : 0;
  return Math.max(1, Math.floor(u * (upper + 1)));
}
