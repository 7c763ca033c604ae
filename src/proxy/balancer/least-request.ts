/**
 * @module proxy/balancer/least-request
 * Least request by power of two choices: of two candidates drawn by weight, take the one
 * with fewer requests in flight per unit of weight (`active / weight`). Sampling two rather
 * than scanning all keeps a pick O(1) and avoids every sidecar stampeding onto the same
 * momentarily idle endpoint.
 */
import type { LoadBalancerSpec } from '../../config/snapshot.js';
import type { Endpoint } from '../cluster/endpoint.js';
import type { Balancer, BalancerFactory } from './balancer.js';
import { PowerOfTwoChoices } from './p2c.js';
import { registerBalancer } from './registry.js';

export const LEAST_REQUEST = 'least-request';

export class LeastRequestBalancer extends PowerOfTwoChoices {
  protected override cost(endpoint: Endpoint, weight: number): number {
    return endpoint.active / weight;
  }
}

export const leastRequestFactory: BalancerFactory = {
  name: LEAST_REQUEST,
  create(_spec: LoadBalancerSpec, random?: () => number): Balancer {
    return new LeastRequestBalancer(random);
  },
};

export function setup(): void {
  registerBalancer(leastRequestFactory);
}
