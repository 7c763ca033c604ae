/**
 * @module proxy/balancer/locality
 * Locality preference, applied by the cluster to the available endpoints before it hands
 * them to a balancer's update().
 */
import type { Endpoint } from '../cluster/endpoint.js';

/**
 * The endpoints in `locality` if there are any, else all of them (so losing every local
 * endpoint fails over instead of failing). Returns the input array itself when nothing is
 * filtered out.
 */
export function preferLocality(endpoints: readonly Endpoint[], locality: string): readonly Endpoint[] {
  const local = endpoints.filter((ep) => ep.spec.locality === locality);
  return local.length === 0 || local.length === endpoints.length ? endpoints : local;
}
