/**
 * @module proxy/balancer/ring-hash
 * Consistent hashing on `ctx.hashKey` (a header or cookie value the caller extracts).
 *
 * The ring is `spec.ringSize` points (default 1024) evenly spaced around the 32-bit hash
 * space, point p covering the arc [p, p+1) × 2^32 / ringSize. A key is hashed and owned by
 * the point whose arc it falls in — an O(1) index, no search. Each point is assigned to an
 * endpoint by weighted rendezvous hashing: every endpoint draws a pseudo-random score from
 * hash(point, endpoint key), the score is scaled by weight (an exponential race, so an
 * endpoint wins a point with probability weight / total weight), and the best score owns
 * the point. Consequences:
 *
 * - traffic follows the weights (the share of points an endpoint owns is weight/total, give
 *   or take sampling noise of about sqrt(p(1-p)/ringSize));
 * - adding an endpoint moves only the points it now wins, all to it, about 1/N of keys;
 *   removing one moves only the points it owned; a weight change moves only the points
 *   whose winner changes. The classic ring with a fixed total of points per-endpoint by
 *   weight would instead shrink every other endpoint's share of points and move about
 *   twice as many keys;
 * - the assignment depends on endpoint keys (address:port), not on list order, so every
 *   sidecar with the same membership maps a key to the same endpoint.
 *
 * update() is O(ringSize × n); ringSize should be well above the endpoint count, or light
 * endpoints may win no point at all. Without a hashKey a point is chosen at random (again
 * weight-proportional).
 */
import type { LoadBalancerSpec } from '../../config/snapshot.js';
import type { Endpoint } from '../cluster/endpoint.js';
import type { Balancer, BalancerFactory, PickContext } from './balancer.js';
import { fmix32, hashString } from './hash.js';
import { registerBalancer } from './registry.js';
import { Rng, effectiveWeight } from './sampling.js';

export const RING_HASH = 'ring-hash';
export const DEFAULT_RING_SIZE = 1024;
/** Upper bound on the ring size (as Envoy's maximum_ring_size): 8M points, 32 MiB. */
export const MAX_RING_SIZE = 8 * 1024 * 1024;

const TWO_POW_32 = 4294967296;
/** Spreads point numbers before hashing (2^32 / golden ratio). */
const GOLDEN = 0x9e3779b9;

/** The ring size to use for a spec value: a positive integer up to MAX_RING_SIZE, else the default. */
export function ringSizeOf(spec: LoadBalancerSpec): number {
  const size = spec.ringSize;
  if (size === undefined || !Number.isInteger(size) || size < 1) return DEFAULT_RING_SIZE;
  return Math.min(size, MAX_RING_SIZE);
}

/** Score in (0, 1) for a point and an endpoint: uniform and independent across pairs. */
function pairHash(point: number, endpointHash: number): number {
  return fmix32(fmix32(Math.imul(point + 1, GOLDEN) ^ endpointHash) ^ endpointHash);
}

export class RingHashBalancer implements Balancer {
  private endpoints: readonly Endpoint[] = [];
  /** owner[point] = index into endpoints. */
  private owner = new Int32Array(0);
  private readonly rng: Rng;

  /** `random` seeds the generator used when a pick has no hash key (see sampling.ts). */
  constructor(
    readonly ringSize: number = DEFAULT_RING_SIZE,
    random: () => number = Math.random,
  ) {
    this.rng = new Rng(random);
  }

  update(endpoints: readonly Endpoint[]): void {
    const n = endpoints.length;
    this.endpoints = endpoints.slice();
    if (n === 0) {
      this.owner = new Int32Array(0);
      return;
    }
    const size = this.ringSize;
    const owner = new Int32Array(size);
    const keyHash = new Uint32Array(n);
    const invWeight = new Float64Array(n);
    let uniform = true;
    const w0 = effectiveWeight(endpoints[0]!);
    for (let i = 0; i < n; i++) {
      const ep = endpoints[i]!;
      keyHash[i] = hashString(ep.key);
      const w = effectiveWeight(ep);
      invWeight[i] = 1 / w;
      if (w !== w0) uniform = false;
    }
    for (let p = 0; p < size; p++) {
      let best = 0;
      if (uniform) {
        // Equal weights: the highest raw score wins (same outcome as the race, no log).
        let bestScore = -1;
        for (let i = 0; i < n; i++) {
          const score = pairHash(p, keyHash[i]!);
          if (score > bestScore) {
            bestScore = score;
            best = i;
          }
        }
      } else {
        // Exponential race: endpoint i finishes at -ln(u) / w_i; the earliest wins, which
        // happens with probability w_i / Σw.
        let bestTime = Infinity;
        for (let i = 0; i < n; i++) {
          const u = (pairHash(p, keyHash[i]!) + 0.5) / TWO_POW_32;
          const time = -Math.log(u) * invWeight[i]!;
          if (time < bestTime) {
            bestTime = time;
            best = i;
          }
        }
      }
      owner[p] = best;
    }
    this.owner = owner;
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const size = this.owner.length;
    if (size === 0) return undefined;
    const key = ctx.hashKey;
    const point =
      key === undefined ? this.rng.below(size) : Math.floor((hashString(key) * size) / TWO_POW_32);
    return this.endpoints[this.owner[point]!];
  }
}

export const ringHashFactory: BalancerFactory = {
  name: RING_HASH,
  create(spec: LoadBalancerSpec, random?: () => number): Balancer {
    return new RingHashBalancer(ringSizeOf(spec), random);
  },
};

export function setup(): void {
  registerBalancer(ringHashFactory);
}
