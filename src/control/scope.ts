/**
 * @module control/scope
 * Scoped push: which part of the mesh one xDS client receives. A client names the services
 * its workload calls in its node metadata (`strata.dependencies`, comma-separated names or
 * aliases; `*` for everything); it then receives, for each of them, the API Listener(s) and
 * RouteConfiguration of its virtual host and the Cluster + ClusterLoadAssignment of every
 * cluster its routes reach (a weighted split reaches several) — and nothing else. A client
 * that sends no `strata.dependencies` (a proxyless gRPC client, an Envoy, an older sidecar)
 * receives the whole mesh; proxyless clients still get only the names they subscribe to.
 * Mesh-wide resources (MESH_WIDE_LISTENERS: the `strata.priority` Listener, which only the
 * sidecar rendering holds) are in every scoped set.
 *
 * Clients with the same dependency set (and route flavor, see RouteFlavor) share one group of
 * the snapshot cache, so 1,000 sidecars of one workload cost one computation per change.
 * Pure: no I/O.
 */
import type { MeshSpec } from './mesh-compile.js';
import type { ResourceSet, XdsNode } from './xds/snapshot-cache.js';
import { metadataString } from './xds/stream-common.js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
} from '../xds/protos.js';
import type { XdsAny } from '../xds/protos.js';
import { PRIORITY_LISTENER_NAME } from '../xds/priority-xds.js';

export { metadataString };

/** Node metadata key listing the services a workload calls. */
export const DEPENDENCIES_METADATA = 'strata.dependencies';
/** Node metadata key naming the kind of client (`sidecar`, `envoy`, `proxyless-grpc`). */
export const KIND_METADATA = 'strata.kind';
/** The group of (proxyless) clients that receive the whole mesh. */
export const MESH_GROUP = 'mesh';
const SCOPED_PREFIX = 'deps:';
const FULL_PREFIX = 'full:';
const ENVOY_PREFIX = 'envoy:';
/** Listeners every client of the rendering that holds them receives, whatever its dependencies. */
export const MESH_WIDE_LISTENERS: readonly string[] = [PRIORITY_LISTENER_NAME];

/**
 * Which rendering of the routes a client takes: `full` (Strata sidecars, Envoy: every route,
 * direct responses included) or `proxyless` (gRPC clients NACK a RouteConfiguration holding a
 * route they cannot serve, so those routes are left out). Clients that do not say what they
 * are get the proxyless rendering, which every client accepts.
 */
export type RouteFlavor = 'full' | 'proxyless';

/**
 * The resource set a group is cut from: the route flavor, plus `sidecar` — the full flavor
 * with Strata's own resources (the `strata.priority` Listener) that only Strata sidecars
 * understand (Envoy takes no API listener over LDS; proxyless clients never ask for it).
 */
export type Rendering = RouteFlavor | 'sidecar';

const FULL_KINDS = new Set(['sidecar', 'envoy']);

export function flavorOf(node: XdsNode): RouteFlavor {
  const kind = metadataString(node.metadata, KIND_METADATA);
  return kind !== undefined && FULL_KINDS.has(kind) ? 'full' : 'proxyless';
}

/** The rendering a node receives: `sidecar` for Strata sidecars, else its route flavor. */
export function renderingOf(node: XdsNode): Rendering {
  return metadataString(node.metadata, KIND_METADATA) === 'sidecar' ? 'sidecar' : flavorOf(node);
}
const MAX_DEPENDENCIES = 1000;

/** What one service name (or alias) brings into a scope. */
export interface ScopeEntry {
  listeners: string[];
  routeConfigs: string[];
  clusters: string[];
}

/** Service names and aliases → what depending on them brings. */
export type MeshIndex = ReadonlyMap<string, ScopeEntry>;

/**
 * Index a compiled mesh. `routeConfigOf(host)` and `listenersOf(host)` name the resources the
 * control plane made for a virtual host (see control-plane.ts).
 */
export function indexMesh(mesh: MeshSpec, routeConfigOf: (host: string) => string, listenersOf: (host: MeshSpec['virtualHosts'][number]) => string[]): MeshIndex {
  const out = new Map<string, ScopeEntry>();
  const entry = (name: string): ScopeEntry => {
    let e = out.get(name);
    if (!e) {
      e = { listeners: [], routeConfigs: [], clusters: [] };
      out.set(name, e);
    }
    return e;
  };
  for (const c of mesh.clusters) entry(c.name).clusters.push(c.name);
  for (const host of mesh.virtualHosts) {
    const clusters = new Set<string>();
    for (const r of host.routes) if (r.action.kind === 'forward') for (const b of r.action.backends) clusters.add(b.cluster);
    const listeners = listenersOf(host);
    const rc = routeConfigOf(host.name);
    for (const name of new Set([host.name, ...host.domains])) {
      if (name === '*') continue;
      const e = entry(name);
      e.routeConfigs.push(rc);
      e.listeners.push(...listeners);
      e.clusters.push(...clusters);
    }
  }
  return out;
}

/** The dependencies a node declares: undefined for the whole mesh, else a sorted, unique list. */
export function dependenciesOf(node: XdsNode): string[] | undefined {
  const raw = metadataString(node.metadata, DEPENDENCIES_METADATA);
  if (raw === undefined) return undefined;
  const names = [...new Set(raw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''))].sort();
  if (names.includes('*') || names.length > MAX_DEPENDENCIES) return undefined;
  return names;
}

/**
 * The snapshot-cache group of a node: `mesh`, or `deps:a,b,c` for a scoped client; prefixed
 * `full:` for Strata sidecars and `envoy:` for Envoy (both take the full route rendering;
 * only sidecars get Strata's own resources).
 */
export function groupOfNode(node: XdsNode): string {
  const deps = dependenciesOf(node);
  const scope = deps === undefined ? MESH_GROUP : `${SCOPED_PREFIX}${deps.join(',')}`;
  const rendering = renderingOf(node);
  return rendering === 'sidecar' ? `${FULL_PREFIX}${scope}` : rendering === 'full' ? `${ENVOY_PREFIX}${scope}` : scope;
}

/** What a group key stands for: the rendering (and its route flavor), and the dependencies (undefined: the whole mesh). */
export function parseGroup(key: string): { flavor: RouteFlavor; rendering: Rendering; dependencies: string[] | undefined } {
  const rendering: Rendering = key.startsWith(FULL_PREFIX) ? 'sidecar' : key.startsWith(ENVOY_PREFIX) ? 'full' : 'proxyless';
  const flavor: RouteFlavor = rendering === 'proxyless' ? 'proxyless' : 'full';
  const scope = rendering === 'sidecar' ? key.slice(FULL_PREFIX.length) : rendering === 'full' ? key.slice(ENVOY_PREFIX.length) : key;
  if (!scope.startsWith(SCOPED_PREFIX)) return { flavor, rendering, dependencies: undefined };
  const rest = scope.slice(SCOPED_PREFIX.length);
  return { flavor, rendering, dependencies: rest === '' ? [] : rest.split(',') };
}

/** The dependencies a group key stands for (undefined for a whole-mesh group). */
export function dependenciesOfGroup(key: string): string[] | undefined {
  return parseGroup(key).dependencies;
}

/**
 * The part of `full` a client depending on `deps` receives. Every type is present (possibly
 * empty), so a dependency that goes away is removed from the client.
 */
export function scopedSet(full: ResourceSet, index: MeshIndex, deps: readonly string[]): ResourceSet {
  const want = {
    [CLUSTER_TYPE_URL]: new Set<string>(),
    [LISTENER_TYPE_URL]: new Set<string>(),
    [ROUTE_CONFIGURATION_TYPE_URL]: new Set<string>(),
  };
  for (const d of deps) {
    const e = index.get(d);
    if (!e) continue;
    for (const c of e.clusters) want[CLUSTER_TYPE_URL].add(c);
    for (const l of e.listeners) want[LISTENER_TYPE_URL].add(l);
    for (const r of e.routeConfigs) want[ROUTE_CONFIGURATION_TYPE_URL].add(r);
  }
  for (const l of MESH_WIDE_LISTENERS) want[LISTENER_TYPE_URL].add(l);
  const pick = (typeUrl: string, names: ReadonlySet<string>): [string, Map<string, XdsAny>] => {
    const all = full.get(typeUrl);
    const out = new Map<string, XdsAny>();
    if (all) for (const n of [...names].sort()) {
      const r = all.get(n);
      if (r) out.set(n, r);
    }
    return [typeUrl, out];
  };
  return new Map([
    pick(CLUSTER_TYPE_URL, want[CLUSTER_TYPE_URL]),
    pick(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, want[CLUSTER_TYPE_URL]),
    pick(LISTENER_TYPE_URL, want[LISTENER_TYPE_URL]),
    pick(ROUTE_CONFIGURATION_TYPE_URL, want[ROUTE_CONFIGURATION_TYPE_URL]),
  ]);
}
