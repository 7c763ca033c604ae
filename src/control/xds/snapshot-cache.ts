/**
 * @module control/xds/snapshot-cache
 * Versioned xDS resources per node group. Each group holds, per type URL, the resources by
 * name (as encoded `Any`s), a version per resource (a hash of its bytes, stable across
 * restarts, so delta clients can resume with `initial_resource_versions`) and a version per
 * type that is bumped only when that type's content changed. `set()` notifies the watchers of
 * the group with the type URLs that changed and, per type, the names of the resources that were
 * added, changed or removed (so a stream can look at those alone).
 *
 * Which group a node belongs to is `groupOf(node)` (default: the node id). When a node's group
 * has no resources yet, `resolver(node)` (if given) computes them: the seam for scoped,
 * per-node resources.
 */
import { createHash } from 'node:crypto';
import type { XdsAny } from '../../xds/protos.js';

/** The node identity an xDS client sends (the proto fields the cache uses). */
export interface XdsNode {
  id: string;
  cluster?: string;
  locality?: { region?: string; zone?: string; sub_zone?: string };
  metadata?: unknown;
}

/** Resources by type URL, then by name. */
export type ResourceSet = Map<string, Map<string, XdsAny>>;

/** One resource as served: the encoded Any and its version. */
export interface VersionedResource {
  name: string;
  version: string;
  resource: XdsAny;
}

/** All resources of one type for one group. */
export interface TypeSnapshot {
  typeUrl: string;
  /** Bumped whenever any resource of this type is added, changed or removed. */
  version: string;
  resources: ReadonlyMap<string, VersionedResource>;
}

/** Per changed type URL: the names of the resources added, changed or removed. */
export type ChangedNames = ReadonlyMap<string, ReadonlySet<string>>;

/** Called with the type URLs whose content changed, and the names that changed per type. */
export type ChangeListener = (changedTypes: readonly string[], changedNames: ChangedNames) => void;

export interface SnapshotCacheOptions {
  /** Node → group key (default: the node id). Nodes of one group share resources. */
  groupOf?: (node: XdsNode) => string;
  /** Resources for a node whose group has none yet (scoped push). */
  resolver?: (node: XdsNode) => ResourceSet | undefined;
  /**
   * Whether a group's resources stay when its last watcher leaves (default: always). Groups
   * the resolver computes can be let go and recomputed when a node of that group returns.
   */
  retain?: (key: string) => boolean;
}

interface Group {
  types: Map<string, { version: number; resources: Map<string, VersionedResource> }>;
  listeners: Set<ChangeListener>;
  resolved: boolean;
}

const EMPTY: ReadonlyMap<string, VersionedResource> = new Map();

const versions = new WeakMap<XdsAny, string>();

/** Version of one resource: a short hash of its type URL and bytes (remembered per object). */
export function resourceVersion(any: XdsAny): string {
  let v = versions.get(any);
  if (v === undefined) {
    v = createHash('sha256').update(any.type_url).update(any.value).digest('base64url').slice(0, 16);
    versions.set(any, v);
  }
  return v;
}

export class SnapshotCache {
  readonly #groups = new Map<string, Group>();
  readonly #groupOf: (node: XdsNode) => string;
  readonly #resolver: ((node: XdsNode) => ResourceSet | undefined) | undefined;
  readonly #retain: (key: string) => boolean;

  constructor(options: SnapshotCacheOptions = {}) {
    this.#groupOf = options.groupOf ?? ((node) => node.id);
    this.#resolver = options.resolver;
    this.#retain = options.retain ?? (() => true);
  }

  /** The group key of a node. */
  groupOf(node: XdsNode): string {
    return this.#groupOf(node);
  }

  #group(key: string): Group {
    let g = this.#groups.get(key);
    if (!g) {
      g = { types: new Map(), listeners: new Set(), resolved: false };
      this.#groups.set(key, g);
    }
    return g;
  }

  /**
   * Replace the resources of a group. Types absent from `resources` keep their content; pass
   * an empty map for a type to remove all of its resources. Returns the changed type URLs.
   */
  set(key: string, resources: ResourceSet): string[] {
    const g = this.#group(key);
    g.resolved = true;
    const changed: string[] = [];
    const names = new Map<string, Set<string>>();
    for (const [typeUrl, byName] of resources) {
      const prev = g.types.get(typeUrl);
      const before = prev?.resources ?? EMPTY;
      const next = new Map<string, VersionedResource>();
      const diff = new Set<string>();
      let kept = 0;
      for (const [name, any] of byName) {
        if (any.type_url !== typeUrl) throw new Error(`resource ${name}: type ${any.type_url} filed under ${typeUrl}`);
        const old = before.get(name);
        if (old) kept++;
        // The same object keeps its VersionedResource: no allocation, no hashing.
        if (old && old.resource === any) {
          next.set(name, old);
          continue;
        }
        const r: VersionedResource = { name, version: resourceVersion(any), resource: any };
        next.set(name, old && old.version === r.version ? old : r);
        if (old?.version !== r.version) diff.add(name);
      }
      if (kept < before.size) for (const name of before.keys()) if (!next.has(name)) diff.add(name);
      if (prev && diff.size === 0) continue;
      g.types.set(typeUrl, { version: (prev?.version ?? 0) + 1, resources: next });
      changed.push(typeUrl);
      names.set(typeUrl, diff);
    }
    if (changed.length > 0) for (const l of [...g.listeners]) l(changed, names);
    return changed;
  }

  /** The resources of one type for a group (version '' and no resources when never set). */
  get(key: string, typeUrl: string): TypeSnapshot {
    const t = this.#groups.get(key)?.types.get(typeUrl);
    return { typeUrl, version: t ? String(t.version) : '', resources: t?.resources ?? EMPTY };
  }

  /** Group keys that have resources or watchers. */
  keys(): string[] {
    return [...this.#groups.keys()];
  }

  /** How many nodes watch a group. */
  watchers(key: string): number {
    return this.#groups.get(key)?.listeners.size ?? 0;
  }

  /**
   * Watch a node's group; resolves its resources first when the group has none. Returns the
   * group key and a function that stops watching.
   */
  watch(node: XdsNode, listener: ChangeListener): { key: string; cancel: () => void } {
    const key = this.#groupOf(node);
    const g = this.#group(key);
    if (!g.resolved && this.#resolver) {
      const resources = this.#resolver(node);
      if (resources) this.set(key, resources);
    }
    g.listeners.add(listener);
    return {
      key,
      cancel: () => {
        g.listeners.delete(listener);
        if (g.listeners.size === 0 && (!g.resolved || !this.#retain(key)) && this.#groups.get(key) === g) this.#groups.delete(key);
      },
    };
  }
}

/** Build a ResourceSet from `[typeUrl, {name, any}[]]` entries. */
export function resourceSet(entries: Iterable<readonly [string, readonly { name: string; any: XdsAny }[]]>): ResourceSet {
  const out: ResourceSet = new Map();
  for (const [typeUrl, list] of entries) out.set(typeUrl, new Map(list.map((r) => [r.name, r.any])));
  return out;
}
