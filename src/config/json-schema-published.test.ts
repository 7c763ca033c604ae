/**
 * The published JSON Schema (docs/schema/) matches the code, and the shipped examples are valid
 * against it — with a real JSON Schema validator when one is installed (ajv, which eslint
 * brings in), and always through the same validation the loader runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { RESOURCE_SCHEMA_FILE, SCHEMA_DIR, publishedSchemaFiles } from './json-schema-publish.js';
import { allKinds } from './json-schema.js';
import { validateResource } from './resources.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DIR = join(ROOT, SCHEMA_DIR);
const STALE = `${SCHEMA_DIR} is out of date with the code: run npm run schema`;

test('docs/schema/*.json are what the code publishes (else: run npm run schema)', () => {
  const expected = publishedSchemaFiles();
  assert.deepEqual([...expected.keys()].sort(), [RESOURCE_SCHEMA_FILE, ...allKinds().map((k) => `${k}.json`)].sort());
  const onDisk = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.json')).sort() : [];
  assert.deepEqual(onDisk, [...expected.keys()].sort(), `${STALE} (files differ)`);
  for (const [name, text] of expected) {
    // Compare parsed first for a readable diff, then the bytes (formatting drift counts too).
    const file = readFileSync(join(DIR, name), 'utf8');
    assert.deepEqual(JSON.parse(file), JSON.parse(text), `${STALE} (${name})`);
    assert.equal(file, text, `${STALE} (${name}: formatting)`);
  }
});

/**
 * Every resource in examples/*.yaml, labelled `file#n`: each YAML document, or for a mesh file
 * of `strata up` (a document with `workloads`) each entry of its `resources`.
 */
function exampleDocuments(): { label: string; doc: unknown }[] {
  const dir = join(ROOT, 'examples');
  const out: { label: string; doc: unknown }[] = [];
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).forEach((d, i) => {
      assert.deepEqual(d.errors, [], `examples/${file} document #${i + 1} is not valid YAML`);
      const doc: unknown = d.toJS();
      const label = `examples/${file} document #${i + 1}`;
      if (doc !== null && typeof doc === 'object' && 'workloads' in doc) {
        const resources = (doc as { resources?: unknown[] }).resources ?? [];
        resources.forEach((r, j) => out.push({ label: `${label} resources[${j}]`, doc: r }));
      } else if (doc !== null && doc !== undefined) out.push({ label, doc });
    });
  }
  return out;
}

interface Validator {
  (data: unknown): boolean;
  errors?: unknown;
}

/** ajv (6, draft-07) if it is installed: the published schemas use no keyword draft-07 lacks. */
function loadAjv(): ((schema: unknown) => Validator) | undefined {
  try {
    const Ajv = createRequire(import.meta.url)('ajv') as new (o: Record<string, unknown>) => { compile(s: unknown): Validator };
    // validateSchema: ajv 6 has no 2020-12 meta-schema; unknown keywords (errorMessage) are ignored.
    const ajv = new Ajv({ allErrors: true, validateSchema: false, unknownFormats: 'ignore' });
    return (schema) => ajv.compile(schema);
  } catch {
    return undefined;
  }
}

test('examples/*.yaml validate against the published schema (ajv)', (t) => {
  const compile = loadAjv();
  if (!compile) {
    t.skip('no JSON Schema validator in node_modules (ajv); the loader-path test below still runs');
    return;
  }
  const any = compile(JSON.parse(readFileSync(join(DIR, RESOURCE_SCHEMA_FILE), 'utf8')));
  const docs = exampleDocuments();
  assert.ok(docs.length >= 4, 'the examples hold several resources');
  for (const { label, doc } of docs) {
    assert.ok(any(doc), `${label}: ${JSON.stringify(any.errors, null, 2)}`);
    const kind = (doc as { kind: string }).kind;
    const one = compile(JSON.parse(readFileSync(join(DIR, `${kind}.json`), 'utf8')));
    assert.ok(one(doc), `${label} against ${kind}.json: ${JSON.stringify(one.errors, null, 2)}`);
  }
  // The validator really checks: a misspelt field and a wrong kind are refused.
  const service = docs.find((d) => (d.doc as { kind?: string }).kind === 'Service');
  assert.ok(service);
  const spec = (service.doc as { spec: Record<string, unknown> }).spec;
  assert.equal(any({ ...(service.doc as object), spec: { ...spec, endpionts: [] } }), false);
  assert.equal(any({ ...(service.doc as object), kind: 'Servise' }), false);
});

test('examples/*.yaml pass the loader validation (TypeBox schema and per-kind checks)', () => {
  for (const { label, doc } of exampleDocuments()) {
    const r = validateResource(doc, label);
    assert.deepEqual(r.errors, [], label);
  }
});
