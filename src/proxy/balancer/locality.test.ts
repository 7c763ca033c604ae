import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeEndpoints } from './conformance.js';
import { preferLocality } from './locality.js';

test('preferLocality: keeps the endpoints in the locality', () => {
  const a = makeEndpoints([1, 1], 1, 'zone-a');
  const b = makeEndpoints([1], 10, 'zone-b');
  assert.deepEqual(preferLocality([a[0]!, b[0]!, a[1]!], 'zone-a'), a);
  assert.deepEqual(preferLocality([a[0]!, b[0]!, a[1]!], 'zone-b'), b);
});

test('preferLocality: falls back to every endpoint when none is local', () => {
  const all = [...makeEndpoints([1], 1, 'zone-a'), ...makeEndpoints([1], 10, 'zone-b')];
  assert.equal(preferLocality(all, 'zone-c'), all);
  assert.deepEqual(preferLocality([], 'zone-a'), []);
});

test('preferLocality: returns the input itself when everything is local', () => {
  const all = makeEndpoints([1, 1, 1], 1, 'zone-a');
  assert.equal(preferLocality(all, 'zone-a'), all);
});
