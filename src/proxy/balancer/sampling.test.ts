import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeEndpoints, seededRandom } from './conformance.js';
import { AliasSampler, Rng, effectiveWeight, uniformIndex } from './sampling.js';

test('AliasSampler: draws indices in proportion to weight', () => {
  const weights = [1, 2, 3, 10, 0.5];
  const total = weights.reduce((a, b) => a + b, 0);
  const sampler = new AliasSampler(new Rng(seededRandom(1)));
  sampler.reset(Float64Array.from(weights));
  const counts = weights.map(() => 0);
  const draws = 200_000;
  for (let k = 0; k < draws; k++) counts[sampler.sample()]!++;
  weights.forEach((w, i) => {
    assert.ok(Math.abs(counts[i]! / draws - w / total) < 0.005, `index ${i}: ${counts[i]! / draws}`);
  });
});

test('AliasSampler: empty → -1, single → 0', () => {
  const sampler = new AliasSampler(new Rng(seededRandom(2)));
  assert.equal(sampler.sample(), -1);
  sampler.reset(Float64Array.from([5]));
  assert.equal(sampler.sample(), 0);
  sampler.reset(Float64Array.from([1, 7, 2]));
  for (let k = 0; k < 60; k++) {
    const i = sampler.sample();
    assert.ok(i >= 0 && i < 3, `index ${i}`);
  }
});

test('Rng: the same seed gives the same draws', () => {
  const a = new Rng(seededRandom(3));
  const b = new Rng(seededRandom(3));
  const c = new Rng(seededRandom(4));
  const draw = (rng: Rng): number[] => Array.from({ length: 50 }, () => rng.below(1000));
  const fromA = draw(a);
  assert.deepEqual(fromA, draw(b));
  assert.notDeepEqual(fromA, draw(c));
});

test('Rng: uniform, and well seeded even by a constant or broken random', () => {
  for (const random of [seededRandom(5), () => 0, () => 1, () => -3, () => Number.NaN]) {
    const rng = new Rng(random);
    const buckets = new Array<number>(10).fill(0);
    for (let k = 0; k < 50_000; k++) buckets[rng.below(10)]!++;
    for (const b of buckets) assert.ok(Math.abs(b - 5000) < 300, `bucket ${b}`);
  }
  const rng = new Rng(seededRandom(6));
  for (let k = 0; k < 1000; k++) {
    const x = rng.below(2 ** 32);
    assert.ok(Number.isInteger(x) && x >= 0 && x < 2 ** 32);
  }
});

test('uniformIndex: clamps whatever random returns', () => {
  assert.equal(uniformIndex(() => 0, 5), 0);
  assert.equal(uniformIndex(() => 0.9999, 5), 4);
  assert.equal(uniformIndex(() => 1, 5), 4);
  assert.equal(uniformIndex(() => -1, 5), 0);
  assert.equal(uniformIndex(() => Number.NaN, 5), 0);
});

test('effectiveWeight: positive finite weights, else 1', () => {
  const eps = makeEndpoints([3, 0.5, 0, -2, Number.NaN, Infinity]);
  assert.deepEqual(eps.map(effectiveWeight), [3, 0.5, 1, 1, 1, 1]);
});
