/**
 * @module config/json-schema
 * The published JSON Schema of the resources, for editors and CI: the envelope
 * (apiVersion, kind, metadata) around each registered kind's spec schema.
 */
import { API_VERSION } from './defaults.js';
import { MetadataSchema, getKind, kindNames } from './resources.js';

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

export type JsonSchema = Record<string, unknown>;

/** Every registered kind, sorted. */
export function allKinds(): string[] {
  return kindNames();
}

/**
 * The schema of one kind's resources, or (without `kind`) of any resource: a `oneOf` over
 * every kind. Undefined for a kind that is not registered.
 */
export function jsonSchemaFor(kind?: string): JsonSchema | undefined {
  if (kind === undefined) {
    return {
      $schema: DRAFT,
      $id: `https://strata.dev/schemas/${API_VERSION}/resource.json`,
      title: `Strata resource (${API_VERSION})`,
      oneOf: allKinds().map((k) => resourceSchema(k)),
    };
  }
  if (!getKind(kind)) return undefined;
  return { $schema: DRAFT, $id: `https://strata.dev/schemas/${API_VERSION}/${kind}.json`, ...resourceSchema(kind) };
}

function resourceSchema(kind: string): JsonSchema {
  const def = getKind(kind);
  return {
    title: kind,
    ...(def?.description ? { description: def.description } : {}),
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { type: 'string', const: API_VERSION },
      kind: { type: 'string', const: kind },
      metadata: plain(MetadataSchema),
      spec: plain(def?.schema ?? {}),
    },
  };
}

/** A TypeBox schema as plain JSON (TypeBox keeps its bookkeeping under symbol keys). */
function plain(schema: unknown): JsonSchema {
  return JSON.parse(JSON.stringify(schema)) as JsonSchema;
}
