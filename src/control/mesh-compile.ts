/**
 * @module control/mesh-compile
 * The mesh-wide view the control plane serves: stored resources (Service, Route,
 * TrafficPolicy) plus registered endpoints → every cluster and every virtual host, through the
 * same compile passes a sidecar's configuration goes through (compile-clusters.ts,
 * compile-routes.ts). Unlike compileSnapshot() there is no Sidecar: the mesh has none.
 * Registered endpoints join the cluster of their service (skipping any address:port the
 * Service already lists). Pure: the balancer and filter registries are read, nothing else.
 *
 * Callers populate the registries first (import src/proxy/filters/index.ts and
 * src/proxy/balancer/index.ts).
 */
import { fail, ok } from '../errors.js';
import type { Decoded } from '../errors.js';
import { compileClusters, indexPolicies } from '../config/compile-clusters.js';
import { compilePriority } from '../config/compile-priority.js';
import { Diagnostics, byCodePoint } from '../config/compile-context.js';
import { compileVirtualHosts, indexRoutes } from '../config/compile-routes.js';
import { DEFAULT_ENDPOINT } from '../config/defaults.js';
import { sortResources } from '../config/compile-resources.js';
import type { Resource } from '../config/resources.js';
import type { ClusterSpec, EndpointSpec, PrioritySpec, VirtualHostSpec } from '../config/snapshot.js';
import type { EndpointRegistration } from './store/store.js';

/** What the mesh is made of, ready for translation to xDS. */
export interface MeshSpec {
  clusters: ClusterSpec[];
  virtualHosts: VirtualHostSpec[];
  /** Priority classes and classification rules, when any PriorityClass / PriorityPolicy exists (sent to sidecars over xDS as the `strata.priority` listener). */
  priority?: PrioritySpec;
}

/** The source named in errors about resources that carry no origin. */
export const MESH_SOURCE = 'store';

export function compileMesh(resources: readonly Resource[], endpoints: readonly EndpointRegistration[], source = MESH_SOURCE): Decoded<MeshSpec> {
  const diag = new Diagnostics(source);
  // Sidecars are per-workload; the mesh view does not use them.
  const { services, routes, policies, priorityClasses, priorityPolicies } = sortResources(diag, resources, source);

  const clusters = compileClusters(diag, services, indexPolicies(diag, services, policies));
  const virtualHosts = compileVirtualHosts(diag, services, indexRoutes(diag, services, routes));
  const priority = compilePriority(diag, { classes: priorityClasses, policies: priorityPolicies });
  if (diag.errors.length > 0) return fail(diag.errors);

  const registered = new Map<string, EndpointRegistration[]>();
  for (const e of endpoints) {
    const list = registered.get(e.service);
    if (list) list.push(e);
    else registered.set(e.service, [e]);
  }
  for (const c of clusters) {
    const extra = registered.get(c.name);
    if (!extra) continue;
    const have = new Set(c.endpoints.map(endpointKey));
    const added: EndpointSpec[] = [];
    for (const e of extra) {
      const spec = registeredEndpoint(e);
      const k = endpointKey(spec);
      if (have.has(k)) continue;
      have.add(k);
      added.push(spec);
    }
    added.sort((a, b) => byCodePoint(endpointKey(a), endpointKey(b)));
    c.endpoints.push(...added);
  }
  return ok({ clusters, virtualHosts, ...(priority && { priority }) });
}

function endpointKey(e: Pick<EndpointSpec, 'address' | 'port'>): string {
  return `${e.address}:${e.port}`;
}

/** A registration as a cluster endpoint; `metadata.weight` / `.locality` / `.sidecar` apply when well typed. */
function registeredEndpoint(e: EndpointRegistration): EndpointSpec {
  const m = e.metadata ?? {};
  const weight = m['weight'];
  const locality = m['locality'];
  const sidecar = m['sidecar'];
  return {
    address: e.address,
    port: e.port,
    weight: typeof weight === 'number' && Number.isInteger(weight) && weight > 0 ? weight : DEFAULT_ENDPOINT.weight,
    locality: typeof locality === 'string' ? locality : DEFAULT_ENDPOINT.locality,
    sidecar: typeof sidecar === 'boolean' ? sidecar : DEFAULT_ENDPOINT.sidecar,
  };
}
