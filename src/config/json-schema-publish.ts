/**
 * @module config/json-schema-publish
 * The published JSON Schema files (docs/schema/): `resource.json` (any resource, `oneOf` every
 * kind) and `<Kind>.json` per kind, as written by `npm run schema` (scripts/gen-schema.mjs).
 * A test compares them with this output, so they never drift from the code.
 */
import { allKinds, jsonSchemaFor } from './json-schema.js';

/** Where the schema files live, relative to the repository root. */
export const SCHEMA_DIR = 'docs/schema';
/** File name of the schema of any resource. */
export const RESOURCE_SCHEMA_FILE = 'resource.json';

/** File name → file text (2-space JSON, trailing newline), in a stable order. */
export function publishedSchemaFiles(): Map<string, string> {
  const text = (schema: unknown): string => `${JSON.stringify(schema, null, 2)}\n`;
  const files = new Map<string, string>([[RESOURCE_SCHEMA_FILE, text(jsonSchemaFor())]]);
  for (const kind of allKinds()) files.set(`${kind}.json`, text(jsonSchemaFor(kind)));
  return files;
}
