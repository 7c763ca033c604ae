/** The control plane's apply-time checks for PriorityClass / PriorityPolicy, across stored and submitted resources. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResources } from '../../config/decode.js';
import type { Resource } from '../../config/resources.js';
import { checkBatch } from './references.js';

function decode(text: string): Resource[] {
  const d = decodeResources(text, 'apply.yaml');
  if (!d.ok) throw new Error(JSON.stringify(d.errors));
  return d.value;
}
const cls = (name: string, rank: number): string => `apiVersion: strata.dev/v1alpha1\nkind: PriorityClass\nmetadata: { name: ${name} }\nspec: { rank: ${rank} }\n`;
const pol = (name: string, c: string): string => `apiVersion: strata.dev/v1alpha1\nkind: PriorityPolicy\nmetadata: { name: ${name} }\nspec:\n  rules: [{ class: ${c} }]\n`;

test('a policy may name a class stored earlier or applied with it', () => {
  assert.deepEqual(checkBatch(decode(pol('p', 'gold')), decode(cls('gold', 400))), []);
  assert.deepEqual(checkBatch(decode(`${cls('gold', 400)}---\n${pol('p', 'gold')}`), []), []);
  assert.deepEqual(checkBatch(decode(pol('p', 'bulk')), []), [], 'built-in classes need no declaration');
});

test('an unknown class, or a rank taken by a stored class, is refused with its field', () => {
  const unknown = checkBatch(decode(pol('p', 'gold')), []);
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0]?.resource, 'PriorityPolicy/p');
  assert.equal(unknown[0]?.path, 'spec.rules[0].class');
  const rank = checkBatch(decode(cls('silver', 400)), decode(cls('gold', 400)));
  assert.ok(rank.some((e) => e.path === 'spec.rank' && /ranks must be unique/.test(e.message)), JSON.stringify(rank));
});
