/**
 * @module proxy/balancer/balancer
 * The load-balancer contract. A balancer is given the endpoints that are currently
 * available (healthy, not ejected, locality-filtered) and picks one per request.
 * Policies live one per file and register themselves by name (see registry.ts).
 */
import type { LoadBalancerSpec } from '../../config/snapshot.js';
import type { Endpoint } from '../cluster/endpoint.js';

export interface PickContext {
  /** Hash input for consistent hashing (header/cookie value), if the policy uses one. */
  hashKey?: string;
  now: number;
}

export interface Balancer {
  /** Replace the candidate set. Called whenever availability or membership changes. */
  update(endpoints: readonly Endpoint[]): void;
  /** Pick an endpoint, or undefined when there is none. Must be cheap: it runs per request. */
  pick(ctx: PickContext): Endpoint | undefined;
}

export interface BalancerFactory {
  readonly name: string;
  create(spec: LoadBalancerSpec, random?: () => number): Balancer;
}
