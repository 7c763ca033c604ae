import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBalancer, makeEndpoints, runBalancerConformance, seededRandom } from './conformance.js';
import { ROUND_ROBIN } from './round-robin.js';

runBalancerConformance(ROUND_ROBIN);

function sequence(weights: number[], picks: number, seed: number): number[] {
  const eps = makeEndpoints(weights);
  const lb = createBalancer(ROUND_ROBIN, seededRandom(seed));
  lb.update(eps);
  return Array.from({ length: picks }, () => eps.indexOf(lb.pick({ now: 0 })!));
}

function longestRun(seq: number[], of: number): number {
  let best = 0;
  let run = 0;
  for (const x of seq) {
    run = x === of ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

test('round-robin: equal weights rotate strictly in list order', () => {
  const seq = sequence([1, 1, 1, 1, 1], 50, 1);
  const start = seq[0]!;
  seq.forEach((got, k) => assert.equal(got, (start + k) % 5, `pick ${k}`));
});

test('round-robin: the rotation starts at a random offset', () => {
  const starts = new Set<number>();
  for (let seed = 1; seed <= 40; seed++) starts.add(sequence([1, 1, 1, 1], 1, seed)[0]!);
  assert.deepEqual([...starts].sort(), [0, 1, 2, 3]);
});

test('round-robin: weights are exact over a full cycle', () => {
  const seq = sequence([5, 1, 1], 7000, 2);
  const counts = [0, 0, 0];
  for (const i of seq) counts[i]!++;
  assert.deepEqual(counts, [5000, 1000, 1000]);
});

test('round-robin: picks are spread, not bunched', () => {
  // Bunched would be a a a a a b c; smooth interleaves the light endpoints.
  const seq = sequence([5, 1, 1], 700, 3);
  assert.ok(longestRun(seq, 0) <= 4, `longest run of the heavy endpoint: ${longestRun(seq, 0)}`);
  for (let k = 0; k + 7 <= seq.length; k++) {
    const window = seq.slice(k, k + 7);
    assert.equal(window.filter((i) => i === 0).length, 5, `window at ${k}: ${window.join('')}`);
  }
  const twoToOne = sequence([2, 1], 300, 4);
  assert.equal(longestRun(twoToOne, 1), 1, 'the light endpoint is never picked twice in a row');
  assert.ok(longestRun(twoToOne, 0) <= 2);
});

test('round-robin: a membership change keeps the weights', () => {
  const eps = makeEndpoints([1, 3, 1]);
  const lb = createBalancer(ROUND_ROBIN, seededRandom(5));
  lb.update(eps);
  for (let k = 0; k < 7; k++) lb.pick({ now: 0 });
  lb.update([eps[0]!, eps[1]!]);
  const counts = new Map<string, number>();
  for (let k = 0; k < 400; k++) {
    const key = lb.pick({ now: 0 })!.key;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.get(eps[1]!.key), 300);
  assert.equal(counts.get(eps[0]!.key), 100);
});

test('round-robin: rebasing the deadlines does not disturb the schedule', () => {
  // Weights this small give strides near 2^48: the deadlines are rebased every few picks.
  const tiny = 2 ** -16;
  const seq = sequence([3 * tiny, tiny], 40_000, 6);
  const counts = [0, 0];
  for (const i of seq) counts[i]!++;
  assert.deepEqual(counts, [30_000, 10_000]);
  for (let k = 4; k < seq.length; k++) assert.equal(seq[k], seq[k - 4], `pick ${k} repeats the cycle`);
});
