/**
 * @module proxy/xds/merge
 * The sidecar's own part (listeners, limits, admin — from its configuration file) plus what
 * xDS delivers (clusters, virtual hosts) → a full Snapshot that Sidecar.apply() takes as is.
 * Services and routes from the file are kept unless xDS has one of the same name (xDS wins).
 * The version is a hash of the merged content.
 */
import { createHash } from 'node:crypto';
import type { ClusterSpec, Snapshot, VirtualHostSpec } from '../../config/snapshot.js';
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
  // Request priority comes from the sidecar's file for now (xDS does not carry it yet).
  const body = { sidecar: local.sidecar, virtualHosts, clusters, ...(local.priority && { priority: local.priority }) };
  const version = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return { version, source: opts.source ?? `xds+${local.source}`, ...body };
}
