/**
 * @module control/xds/test-resources
 * Small Strata specs and their xDS resources for the ADS server tests.
 */
import type { ClusterSpec, VirtualHostSpec } from '../../config/snapshot.js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
  pack,
} from '../../xds/protos.js';
import type { XdsAny } from '../../xds/protos.js';
import { apiListenerToXds, clusterToXds, endpointsToXds, routesToXds } from '../../xds/to-xds.js';
import type { ResourceSet } from './snapshot-cache.js';

export const CDS = CLUSTER_TYPE_URL;
export const EDS = CLUSTER_LOAD_ASSIGNMENT_TYPE_URL;
export const LDS = LISTENER_TYPE_URL;
export const RDS = ROUTE_CONFIGURATION_TYPE_URL;

/** A round-robin cluster of `ports` on 127.0.0.1. */
export function clusterSpec(name: string, ports: readonly number[]): ClusterSpec {
  return {
    name,
    protocol: 'grpc',
    endpoints: ports.map((port) => ({ address: '127.0.0.1', port, weight: 1, locality: '', sidecar: false })),
    loadBalancer: { policy: 'round-robin' },
    circuitBreaker: { maxConnections: 100, maxPending: 100, maxRequests: 100 },
    retryBudget: { budgetPercent: 20, minRetryConcurrency: 3 },
    localityPreference: false,
  };
}

/** One virtual host for `service`, every path to `cluster`. */
export function hostsFor(service: string, cluster: string): VirtualHostSpec[] {
  return [
    {
      name: service,
      domains: [service],
      routes: [{ name: 'all', match: { path: { prefix: '' } }, action: { kind: 'forward', backends: [{ cluster, weight: 1 }] }, timeoutMs: 0, filters: [] }],
    },
  ];
}

export interface MeshSpec {
  clusters: ClusterSpec[];
  /** service name → the cluster its routes go to. */
  services?: Record<string, string>;
}

/**
 * All four resource types for a small mesh: every cluster with its endpoints, and per service
 * an API listener plus a route configuration `<service>-routes` to the service's cluster.
 */
export function meshResources(mesh: MeshSpec): ResourceSet {
  const byName = (typeUrl: string, list: { name: string; msg: Record<string, unknown> }[]): Map<string, XdsAny> =>
    new Map(list.map((r) => [r.name, pack(typeUrl, r.msg)]));
  const services = Object.entries(mesh.services ?? {});
  return new Map([
    [CDS, byName(CDS, mesh.clusters.map((c) => ({ name: c.name, msg: clusterToXds(c) })))],
    [EDS, byName(EDS, mesh.clusters.map((c) => ({ name: c.name, msg: endpointsToXds(c) })))],
    [LDS, byName(LDS, services.map(([svc]) => ({ name: svc, msg: apiListenerToXds(svc, `${svc}-routes`) })))],
    [RDS, byName(RDS, services.map(([svc, cluster]) => ({ name: `${svc}-routes`, msg: routesToXds(`${svc}-routes`, hostsFor(svc, cluster), { proxyless: true }) })))],
  ]);
}
