/**
 * @module config/compile-context
 * State shared by the compile passes: the error list (each error located at the file and
 * resource it concerns) and name lookups between resources.
 */
import type { FieldError } from '../errors.js';
import { originOf, resourceId } from './resources.js';
import type { Resource, ServiceResource } from './resources.js';

export class Diagnostics {
  readonly errors: FieldError[] = [];

  constructor(private readonly fallbackSource: string) {}

  /** Record a problem at `path` inside resource `r` (or about the whole config when undefined). */
  add(r: Resource | undefined, path: string, message: string): void {
    const source = (r && originOf(r)?.source) ?? this.fallbackSource;
    this.errors.push(r ? { source, resource: resourceId(r), path, message } : { source, path, message });
  }

  /** Record errors another decoder produced for resource `r`, keeping their paths. */
  addAll(r: Resource, errors: readonly FieldError[], defaultPath: string): void {
    for (const e of errors) this.add(r, e.path || defaultPath, e.message);
  }
}

/** `Sidecar/x (examples/sidecar.yaml, document #1)`, for "first defined at" messages. */
export function describeResource(r: Resource): string {
  const origin = originOf(r);
  return origin ? `${resourceId(r)} (${origin.source}, ${origin.document})` : resourceId(r);
}

/** Services by namespace and name; references resolve in the referring resource's namespace. */
export class ServiceIndex {
  private readonly byKey = new Map<string, ServiceResource>();

  /** Adds `svc` unless one with its namespace/name exists; returns the one kept. */
  add(svc: ServiceResource): ServiceResource {
    const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
    const existing = this.byKey.get(key);
    if (existing) return existing;
    this.byKey.set(key, svc);
    return svc;
  }

  get(from: Resource, name: string): ServiceResource | undefined {
    return this.byKey.get(`${from.metadata.namespace}/${name}`);
  }

  all(): ServiceResource[] {
    return [...this.byKey.values()].sort((a, b) => byCodePoint(a.metadata.name, b.metadata.name));
  }

  /** The message for a reference to a service that does not exist. */
  unknown(from: Resource, name: string): string {
    const ns = from.metadata.namespace;
    const known = this.all()
      .filter((s) => s.metadata.namespace === ns)
      .map((s) => s.metadata.name);
    const list = known.length > 0 ? `services in namespace ${ns}: ${known.join(', ')}` : `no services in namespace ${ns}`;
    return `unknown service ${JSON.stringify(name)} (${list})`;
  }
}

/** Copy `defaults`, overriding with every field of `given` that is set. */
export function withDefaults<T extends object>(defaults: Readonly<T>, given: Partial<T> | undefined): T {
  const out = { ...defaults } as T;
  if (!given) return out;
  for (const key of Object.keys(given) as (keyof T)[]) {
    const v = given[key];
    if (v !== undefined) out[key] = v as T[keyof T];
  }
  return out;
}

/** Locale-independent string order, so output never depends on the host's settings. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
