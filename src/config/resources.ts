/**
 * @module config/resources
 * Resources and the registry of kinds. A resource is a Kubernetes-style document:
 * `apiVersion: strata.dev/v1alpha1`, `kind`, `metadata.name` (+ namespace, default
 * `default`) and a kind-specific `spec`. Each kind registers its spec schema here with
 * registerKind(); the built-in kinds (Sidecar, Service, Route, TrafficPolicy, PriorityClass,
 * PriorityPolicy) are registered when this module loads. validateResource() checks one decoded
 * document completely.
 */
import { Type } from '@sinclair/typebox';
import type { Static, TSchema } from '@sinclair/typebox';
import type { FieldError } from '../errors.js';
import { API_VERSION, DEFAULT_NAMESPACE } from './defaults.js';
import { fieldPath, isRecord } from './field-path.js';
import { Closed, Name } from './kinds/common.js';
import type { KindDefinition } from './kinds/common.js';
import { priorityClassKind } from './kinds/priority-class.js';
import type { PriorityClassSpecInput } from './kinds/priority-class.js';
import { priorityPolicyKind } from './kinds/priority-policy.js';
import type { PriorityPolicySpecInput } from './kinds/priority-policy.js';
import { routeKind } from './kinds/route.js';
import type { RouteSpecInput } from './kinds/route.js';
import { serviceKind } from './kinds/service.js';
import type { ServiceSpecInput } from './kinds/service.js';
import { sidecarKind } from './kinds/sidecar.js';
import type { SidecarSpecInput } from './kinds/sidecar.js';
import { trafficPolicyKind } from './kinds/traffic-policy.js';
import type { TrafficPolicySpecInput } from './kinds/traffic-policy.js';
import { describeValue, schemaErrors, suggest } from './schema-errors.js';

export type { KindDefinition } from './kinds/common.js';
export type { RouteRuleInput, RouteSpecInput } from './kinds/route.js';
export type { ServiceSpecInput } from './kinds/service.js';
export type { SidecarSpecInput } from './kinds/sidecar.js';
export type { TrafficPolicySpecInput } from './kinds/traffic-policy.js';
export { API_VERSION } from './defaults.js';

export const MetadataSchema = Type.Object(
  {
    name: Name('Unique among resources of the same kind and namespace.'),
    namespace: Type.Optional(Name(`Default ${DEFAULT_NAMESPACE}.`)),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  Closed,
);

export type ResourceMetadata = Static<typeof MetadataSchema> & { namespace: string };

/** A validated resource; `spec` has passed its kind's schema and checks. */
export interface Resource<S = unknown> {
  apiVersion: typeof API_VERSION;
  kind: string;
  metadata: ResourceMetadata;
  spec: S;
}

export type SidecarResource = Resource<SidecarSpecInput> & { kind: 'Sidecar' };
export type ServiceResource = Resource<ServiceSpecInput> & { kind: 'Service' };
export type RouteResource = Resource<RouteSpecInput> & { kind: 'Route' };
export type TrafficPolicyResource = Resource<TrafficPolicySpecInput> & { kind: 'TrafficPolicy' };
export type PriorityClassResource = Resource<PriorityClassSpecInput> & { kind: 'PriorityClass' };
export type PriorityPolicyResource = Resource<PriorityPolicySpecInput> & { kind: 'PriorityPolicy' };

const ENVELOPE_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'] as const;

// ---- the registry -------------------------------------------------------------------------

const kinds = new Map<string, KindDefinition>();

/** Register (or replace) a kind. Later kinds slot in without touching the others. */
export function registerKind<T extends TSchema>(def: KindDefinition<T>): void {
  kinds.set(def.kind, def as unknown as KindDefinition);
}

export function getKind(kind: string): KindDefinition | undefined {
  return kinds.get(kind);
}

export function kindNames(): string[] {
  return [...kinds.keys()].sort();
}

registerKind(sidecarKind);
registerKind(serviceKind);
registerKind(routeKind);
registerKind(trafficPolicyKind);
registerKind(priorityClassKind);
registerKind(priorityPolicyKind);

// ---- where a resource came from -----------------------------------------------------------

/** The file and document a decoded resource came from, for error messages. */
export interface Origin {
  source: string;
  /** `document #2` (1-based), or `document #2[0]` for an item of a top-level list. */
  document: string;
}

const origins = new WeakMap<object, Origin>();

export function setOrigin(resource: Resource, origin: Origin): void {
  origins.set(resource, origin);
}

export function originOf(resource: Resource): Origin | undefined {
  return origins.get(resource);
}

/** `Kind/name`, as errors name a resource. */
export function resourceId(r: Pick<Resource, 'kind' | 'metadata'>): string {
  return `${r.kind}/${r.metadata.name}`;
}

// ---- validation ---------------------------------------------------------------------------

export interface ValidatedResource {
  /** Set when there are no errors. */
  resource?: Resource;
  /** `Kind/name` when both are strings, else the fallback label (e.g. `document #3`). */
  label: string;
  /** Every problem found; paths are rooted at the resource (`spec.rules[0].name`). */
  errors: FieldError[];
}

/** Check one decoded document: envelope, metadata, and the kind's spec schema and checks. */
export function validateResource(doc: unknown, fallbackLabel: string): ValidatedResource {
  if (!isRecord(doc)) {
    return {
      label: fallbackLabel,
      errors: [{ path: '', message: `a resource must be a mapping with ${ENVELOPE_FIELDS.join(', ')}; got ${describeValue(doc)}` }],
    };
  }
  const meta = doc['metadata'];
  const kind = doc['kind'];
  const name = isRecord(meta) ? meta['name'] : undefined;
  const label = typeof kind === 'string' && kind !== '' && typeof name === 'string' && name !== '' ? `${kind}/${name}` : fallbackLabel;
  const errors: FieldError[] = [];
  const push = (path: string, message: string) => errors.push({ path, message });

  for (const key of Object.keys(doc)) {
    if (!(ENVELOPE_FIELDS as readonly string[]).includes(key)) {
      push(fieldPath('', key), `unknown field ${JSON.stringify(key)}${suggest(key, ENVELOPE_FIELDS)}`);
    }
  }

  const apiVersion = doc['apiVersion'];
  if (apiVersion === undefined) push('apiVersion', `required field missing; expected ${JSON.stringify(API_VERSION)}`);
  else if (apiVersion !== API_VERSION) {
    push('apiVersion', `unsupported apiVersion ${describeValue(apiVersion)}; expected ${JSON.stringify(API_VERSION)}`);
  }

  let def: KindDefinition | undefined;
  if (kind === undefined) push('kind', `required field missing; one of ${kindNames().join(', ')}`);
  else if (typeof kind !== 'string') push('kind', `expected a string, got ${describeValue(kind)}`);
  else {
    def = kinds.get(kind);
    if (!def) push('kind', `unknown kind ${JSON.stringify(kind)}${suggest(kind, kindNames())}; known kinds: ${kindNames().join(', ')}`);
  }

  if (meta === undefined) push('metadata', 'required field missing (metadata.name at least)');
  else errors.push(...schemaErrors(MetadataSchema, meta, 'metadata'));

  const spec = doc['spec'];
  if (def) {
    if (spec === undefined) push('spec', 'required field missing');
    else {
      const specErrors = schemaErrors(def.schema, spec, 'spec');
      errors.push(...(specErrors.length > 0 ? specErrors : (def.validate?.(spec, 'spec') ?? [])));
    }
  }

  if (errors.length > 0 || !def || !isRecord(meta)) return { label, errors };
  const metadata = { ...meta, namespace: meta['namespace'] ?? DEFAULT_NAMESPACE } as ResourceMetadata;
  return { label, errors, resource: { apiVersion: API_VERSION, kind: def.kind, metadata, spec } };
}

export function isKind(r: Resource, kind: 'Sidecar'): r is SidecarResource;
export function isKind(r: Resource, kind: 'Service'): r is ServiceResource;
export function isKind(r: Resource, kind: 'Route'): r is RouteResource;
export function isKind(r: Resource, kind: 'TrafficPolicy'): r is TrafficPolicyResource;
export function isKind(r: Resource, kind: 'PriorityClass'): r is PriorityClassResource;
export function isKind(r: Resource, kind: 'PriorityPolicy'): r is PriorityPolicyResource;
export function isKind(r: Resource, kind: string): boolean {
  return r.kind === kind;
}
