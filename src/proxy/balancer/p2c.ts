/**
 * @module proxy/balancer/p2c
 * The power-of-two-choices skeleton shared by least-request and peak-ewma: draw two distinct
 * candidates and keep the one with the lower cost. Each candidate is drawn with probability
 * proportional to its weight (alias table, O(1)), and a tie keeps the first one drawn, so
 * with no load signal at all (nothing in flight, no latency yet) traffic follows the weights
 * exactly; as load builds up the cost comparison takes over.
 */
import type { Endpoint } from '../cluster/endpoint.js';
import type { Balancer, PickContext } from './balancer.js';
import { AliasSampler, Rng, effectiveWeight } from './sampling.js';

export abstract class PowerOfTwoChoices implements Balancer {
  private endpoints: readonly Endpoint[] = [];
  private weights = new Float64Array(0);
  private readonly rng: Rng;
  private readonly sampler: AliasSampler;

  /** `random` seeds the generator the picks draw from (see sampling.ts). */
  constructor(random: () => number = Math.random) {
    this.rng = new Rng(random);
    this.sampler = new AliasSampler(this.rng);
  }

  update(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints.slice();
    this.weights = Float64Array.from(this.endpoints, effectiveWeight);
    this.sampler.reset(this.weights);
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const endpoints = this.endpoints;
    const n = endpoints.length;
    if (n <= 1) return endpoints[0];
    const i = this.sampler.sample();
    let j: number;
    if (n === 2) {
      j = 1 - i;
    } else {
      // Draw the second by weight as well; if it keeps landing on the first (one endpoint
      // dominates the weights), settle for a uniformly chosen other one.
      j = this.sampler.sample();
      if (j === i) j = this.sampler.sample();
      if (j === i) j = (i + 1 + this.rng.below(n - 1)) % n;
    }
    const a = endpoints[i]!;
    const b = endpoints[j]!;
    return this.cost(b, this.weights[j]!, ctx.now) < this.cost(a, this.weights[i]!, ctx.now) ? b : a;
  }

  /** Lower is better. `weight` is the endpoint's effective weight (positive, finite). */
  protected abstract cost(endpoint: Endpoint, weight: number, now: number): number;
}
