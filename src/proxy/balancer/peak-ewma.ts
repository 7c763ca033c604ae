/**
 * @module proxy/balancer/peak-ewma
 * Peak-EWMA (Finagle/Linkerd style) by power of two choices: of two candidates drawn by
 * weight, take the one with the lower `ewmaMs × (active + 1) / weight`, i.e. the expected
 * wait behind the requests already queued there, scaled by capacity.
 *
 * Endpoints with no latency sample yet: an idle one costs 0, so a new endpoint is tried at
 * once (it wins every comparison while idle) and warms up without waiting for the others
 * to degrade. Once it has requests in flight but still no answer it is costed as if its
 * latency were UNSAMPLED_PENALTY_MS (the Finagle rule), so a new endpoint that hangs gets
 * probed, not flooded. "No sample" means no response latency was recorded yet. Sampled latencies are floored at MIN_RTT_MS so that the in-flight count still
 * separates endpoints that all answer in under a millisecond.
 *
 * Weight divides the cost, so between two sampled endpoints with similar latency the
 * heavier one wins until it carries proportionally more requests in flight: weights shape
 * concurrency, and under light load the heavier endpoint takes more than its share.
 *
 * The estimate decays toward 0 on read (Endpoint.ewmaAt), so an endpoint that spiked and
 * then stopped receiving traffic is tried again after a while instead of starving.
 */
import type { LoadBalancerSpec } from '../../config/snapshot.js';
import type { Endpoint } from '../cluster/endpoint.js';
import type { Balancer, BalancerFactory } from './balancer.js';
import { PowerOfTwoChoices } from './p2c.js';
import { registerBalancer } from './registry.js';

export const PEAK_EWMA = 'peak-ewma';

/** Latency assumed for an endpoint with requests in flight and no answer yet. */
export const UNSAMPLED_PENALTY_MS = 10_000;
/** Floor for a measured latency, so in-flight counts still matter for very fast endpoints. */
export const MIN_RTT_MS = 0.01;

export function peakEwmaCost(endpoint: Endpoint, weight: number, now = Date.now()): number {
  const active = endpoint.active;
  let rtt: number;
  if (endpoint.hasLatencySample) {
    rtt = Math.max(endpoint.ewmaAt(now), MIN_RTT_MS);
  } else if (active === 0) {
    return 0;
  } else {
    rtt = UNSAMPLED_PENALTY_MS;
  }
  return (rtt * (active + 1)) / weight;
}

export class PeakEwmaBalancer extends PowerOfTwoChoices {
  protected override cost(endpoint: Endpoint, weight: number, now: number): number {
    return peakEwmaCost(endpoint, weight, now);
  }
}

export const peakEwmaFactory: BalancerFactory = {
  name: PEAK_EWMA,
  create(_spec: LoadBalancerSpec, random?: () => number): Balancer {
    return new PeakEwmaBalancer(random);
  },
};

export function setup(): void {
  registerBalancer(peakEwmaFactory);
}
