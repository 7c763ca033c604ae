/**
 * @module bench/lib/stats
 * Medians and percentiles.
 */

/** Median of the finite values, or undefined when there are none. */
export function median(values: readonly (number | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : ((v[mid - 1] ?? 0) + (v[mid] ?? 0)) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an ascending-sorted array. */
export function percentileSorted(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** p50 and p99 (same unit as the input). */
export function p50p99(values: number[]): { p50: number | undefined; p99: number | undefined; count: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentileSorted(sorted, 50), p99: percentileSorted(sorted, 99), count: sorted.length };
}
