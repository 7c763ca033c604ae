/**
 * @module proxy/xds/local
 * The sidecar's own configuration file when services come from xDS: a Sidecar's outbound
 * ports may name services the file does not define. Those get a placeholder Service (no
 * endpoints) so the file compiles; the placeholders are dropped from the result, and xDS
 * supplies the real clusters and routes (merge.ts).
 */
import type { Decoded } from '../../errors.js';
import { compileSnapshot } from '../../config/compile.js';
import type { Resource, ServiceResource, SidecarResource } from '../../config/resources.js';
import type { Snapshot } from '../../config/snapshot.js';
import { loadResources } from '../../config/loader.js';

/** Read, decode and compile a sidecar file (or directory) whose services may come from xDS. */
export async function loadLocalConfig(pathOrDir: string): Promise<Decoded<Snapshot>> {
  const resources = await loadResources(pathOrDir);
  return resources.ok ? compileLocal(resources.value, pathOrDir) : resources;
}

/** Compile with placeholder Services for the outbound ports' unknown services, then drop them. */
export function compileLocal(resources: readonly Resource[], source: string): Decoded<Snapshot> {
  const defined = new Set(resources.filter((r) => r.kind === 'Service').map((r) => `${r.metadata.namespace}/${r.metadata.name}`));
  const placeholders = new Map<string, ServiceResource>();
  for (const r of resources) {
    if (r.kind !== 'Sidecar') continue;
    for (const p of (r as SidecarResource).spec.outbound?.ports ?? []) {
      const key = `${r.metadata.namespace}/${p.service}`;
      if (defined.has(key) || placeholders.has(key)) continue;
      placeholders.set(key, {
        apiVersion: r.apiVersion,
        kind: 'Service',
        metadata: { name: p.service, namespace: r.metadata.namespace },
        spec: { protocol: p.protocol ?? 'http', endpoints: [] },
      } as ServiceResource);
    }
  }
  const compiled = compileSnapshot([...resources, ...placeholders.values()], source);
  if (!compiled.ok || placeholders.size === 0) return compiled;
  const names = new Set([...placeholders.values()].map((s) => s.metadata.name));
  const snap = compiled.value;
  return {
    ok: true,
    value: { ...snap, clusters: snap.clusters.filter((c) => !names.has(c.name)), virtualHosts: snap.virtualHosts.filter((h) => !names.has(h.name)) },
  };
}
