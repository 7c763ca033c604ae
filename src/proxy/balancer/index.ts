/**
 * @module proxy/balancer
 * The built-in load-balancing policies, registered by name on import:
 * 'round-robin', 'least-request', 'peak-ewma', 'ring-hash'.
 */
import { setup as setupLeastRequest } from './least-request.js';
import { setup as setupPeakEwma } from './peak-ewma.js';
import { setup as setupRingHash } from './ring-hash.js';
import { setup as setupRoundRobin } from './round-robin.js';

let registered = false;

/** Register every built-in policy. Idempotent; importing this module already does it. */
export function setupBalancers(): void {
  if (registered) return;
  registered = true;
  setupRoundRobin();
  setupLeastRequest();
  setupPeakEwma();
  setupRingHash();
}

setupBalancers();

export { getBalancer, balancerNames } from './registry.js';
export { preferLocality } from './locality.js';
export type { Balancer, BalancerFactory, PickContext } from './balancer.js';
