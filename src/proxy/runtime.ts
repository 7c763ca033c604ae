/**
 * @module proxy/runtime
 * What one config snapshot becomes at runtime: compiled route tables, per-route filter
 * chains, the inbound route to the local app. Immutable: a new snapshot builds a new
 * Runtime and the sidecar swaps the reference atomically; in-flight requests finish on the
 * runtime they started with. Clusters are long-lived and reconciled separately.
 */
import type { ClusterSpec, RouteSpec, Snapshot, VirtualHostSpec } from '../config/snapshot.js';
import type { HttpFilter } from './filters/filter.js';
import { getFilter } from './filters/registry.js';
import type { CompiledRoute, CompiledVirtualHost } from './router/route-table.js';
import { RouteTable, compileRoute } from './router/route-table.js';

export const INBOUND_CLUSTER_PREFIX = 'inbound|';

export class Runtime {
  readonly table: RouteTable;
  /** Per-route filter constructors, built once from the route's filter configs. */
  private readonly chains = new Map<RouteSpec, (() => HttpFilter)[]>();
  /** Virtual host for each service name (local ports route by their service). */
  private readonly byService = new Map<string, CompiledVirtualHost>();
  /** The one route of the inbound listener: everything to the local app. */
  readonly inboundRoute: CompiledRoute | undefined;
  /** Cluster specs including the synthetic inbound cluster. */
  readonly clusterSpecs: ClusterSpec[];

  constructor(readonly snapshot: Snapshot) {
    this.table = new RouteTable(snapshot.virtualHosts);
    for (const vh of this.table.hosts) {
      this.byService.set(vh.spec.name, vh);
      for (const r of vh.routes) this.chains.set(r.spec, buildChain(r.spec));
    }
    const inbound = snapshot.sidecar.inbound;
    this.clusterSpecs = [...snapshot.clusters];
    if (inbound) {
      const name = `${INBOUND_CLUSTER_PREFIX}${snapshot.sidecar.service || 'app'}`;
      this.clusterSpecs.push({
        name,
        protocol: inbound.appProtocol,
        endpoints: [{ address: inbound.appAddress, port: inbound.appPort, weight: 1, locality: '', sidecar: false }],
        loadBalancer: { policy: 'round-robin' },
        circuitBreaker: { maxConnections: 4096, maxPending: 4096, maxRequests: 4096 },
        retryBudget: { budgetPercent: 20, minRetryConcurrency: 3 },
        localityPreference: false,
      });
      const route: RouteSpec = {
        name: 'inbound',
        match: { path: { prefix: '/' } },
        action: { kind: 'forward', backends: [{ cluster: name, weight: 1 }] },
        timeoutMs: 0,
        filters: [],
      };
      this.inboundRoute = compileRoute(route);
      this.chains.set(route, []);
    } else {
      this.inboundRoute = undefined;
    }
  }

  virtualHostForService(service: string): CompiledVirtualHost | undefined {
    return this.byService.get(service);
  }

  chain(route: RouteSpec): (() => HttpFilter)[] {
    return this.chains.get(route) ?? [];
  }

  knownServices(): string[] {
    return this.snapshot.virtualHosts.map((v: VirtualHostSpec) => v.name);
  }
}

function buildChain(route: RouteSpec): (() => HttpFilter)[] {
  return route.filters.map((f) => {
    const factory = getFilter(f.name);
    if (!factory) throw new Error(`route ${route.name}: unknown filter '${f.name}'`);
    return factory.build(f.config);
  });
}
