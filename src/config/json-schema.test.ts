import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { decodeResources } from './decode.js';
import { allKinds, jsonSchemaFor } from './json-schema.js';
import { registerKind } from './resources.js';
import { errorAt, errorsOf, valueOf } from './test-support.js';

test('allKinds lists the built-in kinds', () => {
  assert.deepEqual(allKinds(), ['PriorityClass', 'PriorityPolicy', 'Route', 'Service', 'Sidecar', 'TrafficPolicy']);
});

test('the schema of one kind wraps its spec in the resource envelope', () => {
  const s = jsonSchemaFor('Route');
  assert.ok(s);
  assert.equal(s['$schema'], 'https://json-schema.org/draft/2020-12/schema');
  assert.deepEqual(s['required'], ['apiVersion', 'kind', 'metadata', 'spec']);
  assert.equal(s['additionalProperties'], false);
  const props = s['properties'] as Record<string, Record<string, unknown>>;
  assert.deepEqual(props['apiVersion'], { type: 'string', const: 'strata.dev/v1alpha1' });
  assert.deepEqual(props['kind'], { type: 'string', const: 'Route' });
  assert.deepEqual((props['metadata']?.['required'] as string[]), ['name']);
  const spec = props['spec']!;
  assert.equal(spec['type'], 'object');
  assert.equal(spec['additionalProperties'], false);
  assert.deepEqual(spec['required'], ['service', 'rules']);
  // Plain JSON, nothing lost in serialisation.
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
});

test('defaults are published in the schema', () => {
  const sidecar = jsonSchemaFor('Sidecar') as { properties: { spec: { properties: { limits: { properties: Record<string, { default?: number }> } } } } };
  assert.equal(sidecar.properties.spec.properties.limits.properties['maxHeaderBytes']?.default, 61440);
});

test('without a kind: one of every kind; an unknown kind has no schema', () => {
  const all = jsonSchemaFor();
  assert.equal((all?.['oneOf'] as unknown[]).length, allKinds().length);
  assert.equal(jsonSchemaFor('Nope'), undefined);
});

test('a new kind slots in through registerKind', () => {
  registerKind({
    kind: 'PriorityClass',
    schema: Type.Object({ value: Type.Integer({ minimum: 0, maximum: 1000 }) }, { additionalProperties: false }),
    validate: (spec, path) => (spec.value === 13 ? [{ path: `${path}.value`, message: 'unlucky' }] : []),
  });
  assert.ok(allKinds().includes('PriorityClass'));
  assert.ok(jsonSchemaFor('PriorityClass'));
  const doc = (spec: string) => `apiVersion: strata.dev/v1alpha1\nkind: PriorityClass\nmetadata: { name: high }\nspec: ${spec}\n`;
  assert.equal(valueOf(decodeResources(doc('{ value: 900 }'), 'p.yaml'))[0]?.kind, 'PriorityClass');
  assert.match(errorAt(errorsOf(decodeResources(doc('{ value: 900, x: 1 }'), 'p.yaml')), 'spec.x')?.message ?? '', /unknown field "x"/);
  assert.equal(errorAt(errorsOf(decodeResources(doc('{ value: 13 }'), 'p.yaml')), 'spec.value', 'PriorityClass/high')?.message, 'unlucky');
});
