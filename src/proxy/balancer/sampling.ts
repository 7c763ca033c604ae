/**
 * @module proxy/balancer/sampling
 * Small helpers the policies share: the weight a balancer acts on, a bounded uniform index,
 * a per-pick random generator, and an alias table for O(1) weighted sampling.
 *
 * Why a generator of our own: in V8 every Math.random() call (and any `() => number` that
 * returns a fresh double through a call that is not inlined) allocates a heap number, so a
 * policy that called the injected `random` on every pick would allocate per request. The
 * injected `random` seeds an xorshift128 generator instead, whose state lives in a typed
 * array and whose draws are small integers: picks stay allocation-free and a seeded
 * `random` still makes every pick sequence reproducible.
 */
import type { Endpoint } from '../cluster/endpoint.js';
import { fmix32 } from './hash.js';

const TWO_POW_32 = 4294967296;

/**
 * The weight a balancer acts on: the endpoint's configured weight when it is a positive
 * finite number, else 1. Config validation should already guarantee this; balancers must
 * not divide by zero or spread NaN if it did not.
 */
export function effectiveWeight(endpoint: Endpoint): number {
  const w = endpoint.weight;
  return w > 0 && Number.isFinite(w) ? w : 1;
}

/**
 * An integer in [0, n) from `random()`. Clamped, so an injected random that returns 1, a
 * negative number or NaN still yields a valid index. `n` must be at least 1.
 */
export function uniformIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  if (i >= n) return n - 1;
  return i >= 0 ? i : 0;
}

/** xorshift128 (Marsaglia), seeded from `random`. Draws allocate nothing. */
export class Rng {
  private readonly s = new Uint32Array(4);

  constructor(random: () => number = Math.random) {
    let any = 0;
    for (let i = 0; i < 4; i++) {
      // Mixed with a per-word constant, so a constant or broken `random` still seeds well.
      const word = fmix32((Math.floor(random() * TWO_POW_32) ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0);
      this.s[i] = word;
      any |= word;
    }
    if (any === 0) this.s[0] = 1; // the all-zero state is the one fixed point
  }

  /** A uniform integer in [0, n), for 1 <= n <= 2^32. */
  below(n: number): number {
    const s = this.s;
    let t = s[0]!;
    const w = s[3]!;
    t ^= t << 11;
    t ^= t >>> 8;
    s[0] = s[1]!;
    s[1] = s[2]!;
    s[2] = w;
    const x = (w ^ (w >>> 19) ^ t) >>> 0;
    s[3] = x;
    return Math.floor((x * n) / TWO_POW_32);
  }
}

/** Resolution of the alias table's coin flip. */
const COIN = 2 ** 30;

/**
 * Vose's alias method: build in O(n), draw an index with probability weight/total in O(1)
 * (two draws: a column, then a biased coin between the column and its alias).
 */
export class AliasSampler {
  private prob = new Float64Array(0);
  private alias = new Int32Array(0);

  constructor(private readonly rng: Rng) {}

  get size(): number {
    return this.prob.length;
  }

  /** Rebuild for these weights (each positive and finite). */
  reset(weights: Float64Array): void {
    const n = weights.length;
    this.prob = new Float64Array(n);
    this.alias = new Int32Array(n);
    if (n === 0) return;
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i]!;
    const scaled = new Float64Array(n);
    const small = new Int32Array(n);
    const large = new Int32Array(n);
    let ns = 0;
    let nl = 0;
    for (let i = 0; i < n; i++) {
      const p = (weights[i]! * n) / total;
      scaled[i] = p;
      if (p < 1) small[ns++] = i;
      else large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
      const s = small[--ns]!;
      const l = large[--nl]!;
      this.prob[s] = scaled[s]!;
      this.alias[s] = l;
      const rest = scaled[l]! + scaled[s]! - 1;
      scaled[l] = rest;
      if (rest < 1) small[ns++] = l;
      else large[nl++] = l;
    }
    // Whatever is left is 1 up to rounding error: it always keeps its own column.
    while (nl > 0) {
      const l = large[--nl]!;
      this.prob[l] = 1;
      this.alias[l] = l;
    }
    while (ns > 0) {
      const s = small[--ns]!;
      this.prob[s] = 1;
      this.alias[s] = s;
    }
  }

  /** An index drawn by weight, or -1 when empty. */
  sample(): number {
    const n = this.prob.length;
    if (n === 0) return -1;
    const i = this.rng.below(n);
    return this.rng.below(COIN) < this.prob[i]! * COIN ? i : this.alias[i]!;
  }
}
