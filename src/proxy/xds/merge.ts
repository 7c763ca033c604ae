/**
 * @module proxy/xds/merge
 * The sidecar's own part (listeners, limits, admin — from its configuration file) plus what
 * xDS delivers (clusters, virtual hosts, the mesh's priority) → a full Snapshot that
 * Sidecar.apply() takes as is. Services and routes from the file are kept unless xDS has one
 * of the same name (xDS wins).
 *
 * Priority: classes, rules and the default class are mesh-wide. When the control plane sends
 * them (it has at least one PriorityClass or PriorityPolicy), they replace the file's as a
 * whole — no per-class mixing, so every sidecar classifies alike. What is the sidecar's own
 * stays from its file: the Sidecar `priority` block (inbound, outbound and per-service
 * admission, pools, trustIncoming); without one, the defaults (trust incoming classes,
 * per-class pools, no admission limits). Without priority from xDS, the file's is used as is.
 *
 * The version is a hash of the merged content.
 */
import { createHash } from 'node:crypto';
import type { ClusterSpec, PrioritySpec, Snapshot, VirtualHostSpec } from '../../config/snapshot.js';
import type { MeshPrioritySpec } from '../../xds/priority-xds.js';
import type { XdsConfig } from './ads-client.js';

export interface MergeOptions {
  /** Snapshot.source of the result. Default `xds+<local source>`. */
  source?: string;
}

export function mergeSnapshot(local: Snapshot, xds: XdsConfig, opts: MergeOptions = {}): Snapshot {
  const clusterNames = new Set(xds.clusters.map((c) => c.name));
  const hostNames = new Set(xds.virtualHosts.map((h) => h.name));
  const xdsDomains = new Set(xds.virtualHosts.flatMap((h) => h.domains));
  const clusters: ClusterSpec[] = [...local.clusters.filter((c) => !clusterNames.has(c.name)), ...xds.clusters];
  const virtualHosts: VirtualHostSpec[] = [
    ...local.virtualHosts
      .filter((h) => !hostNames.has(h.name))
      .map((h) => ({ ...h, domains: h.domains.filter((d) => !xdsDomains.has(d)) }))
      .filter((h) => h.domains.length > 0),
    ...xds.virtualHosts,
  ];
  const priority = xds.priority ? mergePriority(local.priority, xds.priority) : local.priority;
  const body = { sidecar: local.sidecar, virtualHosts, clusters, ...(priority && { priority }) };
  const version = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return { version, source: opts.source ?? `xds+${local.source}`, ...body };
}

/** The mesh's classes, rules and default class with the sidecar's own limits (see the module doc). */
export function mergePriority(local: PrioritySpec | undefined, mesh: MeshPrioritySpec): PrioritySpec {
  const own: Omit<PrioritySpec, 'classes' | 'defaultClass' | 'rules'> = local
    ? {
        trustIncoming: local.trustIncoming,
        pools: local.pools,
        ...(local.inbound && { inbound: local.inbound }),
        ...(local.outbound && { outbound: local.outbound }),
        services: local.services,
      }
    : { trustIncoming: true, pools: 'per-class', services: {} };
  return { classes: mesh.classes, defaultClass: mesh.defaultClass, rules: mesh.rules, ...own };
}
