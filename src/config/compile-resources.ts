/**
 * @module config/compile-resources
 * The first pass every compile shares (a sidecar's compileSnapshot, the control plane's
 * compileMesh): validate each resource again (hand-built input gets the same guarantees as
 * decoded input; resources from decodeResources() pass unchanged), refuse duplicate names and
 * service names used in two namespaces, and sort the rest by kind.
 */
import { ServiceIndex, describeResource } from './compile-context.js';
import type { Diagnostics } from './compile-context.js';
import { isKind, originOf, setOrigin, validateResource } from './resources.js';
import type {
  PriorityClassResource,
  PriorityPolicyResource,
  Resource,
  RouteResource,
  ServiceResource,
  SidecarResource,
  TrafficPolicyResource,
} from './resources.js';

export interface ResourcesByKind {
  /** Every valid resource, in input order. */
  valid: Resource[];
  sidecars: SidecarResource[];
  services: ServiceIndex;
  routes: RouteResource[];
  policies: TrafficPolicyResource[];
  priorityClasses: PriorityClassResource[];
  priorityPolicies: PriorityPolicyResource[];
}

export function sortResources(diag: Diagnostics, resources: readonly Resource[], source: string): ResourcesByKind {
  const out: ResourcesByKind = { valid: [], sidecars: [], services: new ServiceIndex(), routes: [], policies: [], priorityClasses: [], priorityPolicies: [] };
  const seen = new Map<string, Resource>();
  const serviceByName = new Map<string, ServiceResource>();
  resources.forEach((input, i) => {
    const origin = originOf(input);
    const v = validateResource(input, origin?.document ?? `resource #${i + 1}`);
    for (const e of v.errors) diag.errors.push({ source: origin?.source ?? source, resource: v.label, ...e });
    const r = v.resource;
    if (!r) return;
    if (origin) setOrigin(r, origin);
    out.valid.push(r);
    const key = `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
    const first = seen.get(key);
    if (first) {
      diag.add(r, 'metadata.name', `duplicate ${r.kind} ${JSON.stringify(r.metadata.name)} in namespace ${r.metadata.namespace}; first defined by ${describeResource(first)}`);
      return;
    }
    seen.set(key, r);
    if (isKind(r, 'Sidecar')) out.sidecars.push(r);
    else if (isKind(r, 'Service')) {
      const other = serviceByName.get(r.metadata.name);
      if (other) {
        diag.add(r, 'metadata.name', `service name ${JSON.stringify(r.metadata.name)} is also used in namespace ${other.metadata.namespace} (${describeResource(other)}); cluster names must be unique`);
        return;
      }
      serviceByName.set(r.metadata.name, r);
      out.services.add(r);
    } else if (isKind(r, 'Route')) out.routes.push(r);
    else if (isKind(r, 'TrafficPolicy')) out.policies.push(r);
    else if (isKind(r, 'PriorityClass')) out.priorityClasses.push(r);
    else if (isKind(r, 'PriorityPolicy')) out.priorityPolicies.push(r);
    // Other registered kinds are validated here and consumed by their own subsystems.
  });
  return out;
}
