/**
 * @module control/api/references
 * Mesh-level checks the control plane runs before it stores a batch: the kinds it accepts,
 * duplicates within the batch, and Service references resolved across the union of what is
 * stored and what is submitted (references resolve in the referring resource's namespace),
 * and priority classes against the policies that name them.
 * Also finds the resources that still refer to a Service, to refuse deleting it. Pure.
 */
import type { FieldError } from '../../errors.js';
import { Diagnostics } from '../../config/compile-context.js';
import { compilePriority } from '../../config/compile-priority.js';
import { isKind, originOf, resourceId } from '../../config/resources.js';
import type { PriorityClassResource, PriorityPolicyResource, Resource } from '../../config/resources.js';

/** Kinds that belong to a sidecar's own file, never to the control plane's store. */
const LOCAL_ONLY_KINDS = new Set(['Sidecar']);

/** One place a resource names a Service. */
export interface ServiceReference {
  path: string;
  service: string;
}

/** Every Service a Route or TrafficPolicy names, with the field that names it. */
export function serviceReferences(r: Resource): ServiceReference[] {
  const refs: ServiceReference[] = [];
  const spec = r.spec as { service?: unknown; rules?: unknown } | undefined;
  if (r.kind !== 'Route' && r.kind !== 'TrafficPolicy') return refs;
  if (typeof spec?.service === 'string') refs.push({ path: 'spec.service', service: spec.service });
  if (r.kind === 'Route' && Array.isArray(spec?.rules)) {
    spec.rules.forEach((rule: unknown, i) => {
      const backends = (rule as { backends?: unknown } | null)?.backends;
      if (!Array.isArray(backends)) return;
      backends.forEach((b: unknown, j) => {
        const service = (b as { service?: unknown } | null)?.service;
        if (typeof service === 'string') refs.push({ path: `spec.rules[${i}].backends[${j}].service`, service });
      });
    });
  }
  return refs;
}

const keyOf = (r: Resource): string => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;

/** Check a decoded batch against the stored resources; every problem, with its field. */
export function checkBatch(submitted: readonly Resource[], stored: readonly Resource[]): FieldError[] {
  const errors: FieldError[] = [];
  const err = (r: Resource, path: string, message: string): void => {
    errors.push({ source: originOf(r)?.source, resource: resourceId(r), path, message });
  };

  const first = new Map<string, Resource>();
  for (const r of submitted) {
    if (LOCAL_ONLY_KINDS.has(r.kind)) {
      err(r, 'kind', `the control plane does not store ${r.kind} resources; a ${r.kind} belongs to the sidecar's own configuration file`);
      continue;
    }
    const k = keyOf(r);
    const prev = first.get(k);
    if (prev) {
      const o = originOf(prev);
      const where = o ? ` (${o.source}, ${o.document})` : '';
      err(r, 'metadata.name', `duplicate ${r.kind} ${JSON.stringify(r.metadata.name)} in namespace ${r.metadata.namespace}; first defined by ${resourceId(prev)}${where}`);
      continue;
    }
    first.set(k, r);
  }

  // Services by namespace: the stored ones, replaced or joined by the submitted ones.
  const services = new Map<string, Set<string>>();
  for (const r of [...stored, ...submitted]) {
    if (r.kind !== 'Service') continue;
    const set = services.get(r.metadata.namespace) ?? new Set<string>();
    set.add(r.metadata.name);
    services.set(r.metadata.namespace, set);
  }
  for (const r of submitted) {
    for (const ref of serviceReferences(r)) {
      const known = services.get(r.metadata.namespace);
      if (known?.has(ref.service)) continue;
      const ns = r.metadata.namespace;
      const list = known && known.size > 0 ? `services in namespace ${ns}: ${[...known].sort().join(', ')}` : `no services in namespace ${ns}`;
      err(r, ref.path, `unknown service ${JSON.stringify(ref.service)} (${list})`);
    }
  }
  errors.push(...priorityErrors(submitted, stored));
  return errors;
}

/** PriorityClass / PriorityPolicy checks across what is stored and submitted (class references, ranks, shares). */
function priorityErrors(submitted: readonly Resource[], stored: readonly Resource[]): FieldError[] {
  if (!submitted.some((r) => isKind(r, 'PriorityClass') || isKind(r, 'PriorityPolicy'))) return [];
  const merged = new Map<string, Resource>();
  for (const r of [...stored, ...submitted]) merged.set(keyOf(r), r);
  const classes: PriorityClassResource[] = [];
  const policies: PriorityPolicyResource[] = [];
  for (const r of merged.values()) {
    if (isKind(r, 'PriorityClass')) classes.push(r);
    else if (isKind(r, 'PriorityPolicy')) policies.push(r);
  }
  // What was stored compiled before, so every error here comes from this batch.
  const diag = new Diagnostics('store');
  compilePriority(diag, { classes, policies });
  return diag.errors;
}

/** The resources (Routes, TrafficPolicies) that still name the Service `namespace/name`. */
export function referrersOf(namespace: string, name: string, resources: readonly Resource[]): FieldError[] {
  const out: FieldError[] = [];
  for (const r of resources) {
    if (r.metadata.namespace !== namespace) continue;
    for (const ref of serviceReferences(r)) {
      if (ref.service === name) out.push({ resource: resourceId(r), path: ref.path, message: `refers to Service/${name}` });
    }
  }
  return out;
}
