import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { backoffMs } from './backoff.js';

const ALMOST_ONE = 1 - Number.EPSILON;

test('the window doubles per retry from baseMs', () => {
  assert.equal(backoffMs(1, 25, 10_000, () => ALMOST_ONE), 25);
  assert.equal(backoffMs(2, 25, 10_000, () => ALMOST_ONE), 50);
  assert.equal(backoffMs(3, 25, 10_000, () => ALMOST_ONE), 100);
  assert.equal(backoffMs(4, 25, 10_000, () => ALMOST_ONE), 200);
});

test('the window is capped at maxMs', () => {
  assert.equal(backoffMs(5, 25, 250, () => ALMOST_ONE), 250);
  assert.equal(backoffMs(60, 25, 250, () => ALMOST_ONE), 250);
  assert.equal(backoffMs(1e9, 25, 250, () => ALMOST_ONE), 250);
});

test('full jitter: the lower end is 1 ms, never 0', () => {
  assert.equal(backoffMs(1, 25, 250, () => 0), 1);
  assert.equal(backoffMs(8, 25, 250, () => 0), 1);
  assert.equal(backoffMs(3, 25, 250, () => 0.5), 50);
});

test('degenerate inputs', () => {
  for (const n of [0, -1, 0.5, Number.NaN]) assert.equal(backoffMs(n, 25, 250, () => 0.5), 0, `retry ${n}`);
  assert.equal(backoffMs(3, 0, 250, () => ALMOST_ONE), 1, 'no base');
  assert.equal(backoffMs(3, 25, 0, () => ALMOST_ONE), 1, 'no ceiling');
  assert.equal(backoffMs(3, -5, -5, () => ALMOST_ONE), 1, 'negative');
  assert.equal(backoffMs(3, Number.NaN, 250, () => ALMOST_ONE), 1, 'NaN base');
  assert.equal(backoffMs(2, 25, Number.POSITIVE_INFINITY, () => ALMOST_ONE), 50, 'infinite ceiling: no cap');
  assert.equal(backoffMs(3, 25, Number.NaN, () => ALMOST_ONE), 1, 'NaN ceiling');
  assert.equal(backoffMs(2.9, 25, 250, () => ALMOST_ONE), 50, 'fractional retry numbers round down');
  // A broken random source falls back to the low end instead of escaping the window.
  assert.equal(backoffMs(3, 25, 250, () => 1), 1);
  assert.equal(backoffMs(3, 25, 250, () => -0.2), 1);
  assert.equal(backoffMs(3, 25, 250, () => Number.NaN), 1);
});

test('the default random source stays inside the window', () => {
  for (let i = 0; i < 1000; i++) {
    const d = backoffMs(3, 25, 250);
    assert.ok(d >= 1 && d <= 100 && Number.isInteger(d), String(d));
  }
});

test('spread: the whole window is used', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 100; i++) seen.add(backoffMs(4, 1, 1000, () => i / 100));
  // Window [0, 8]: every value from 1 to 8 appears.
  assert.deepEqual([...seen].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('property: an integer in [1, max(1, min(max, base·2^(n−1)))]', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 0, max: 100_000 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (n, base, max, r) => {
        const d = backoffMs(n, base, max, () => r);
        const ceiling = Math.max(1, Math.floor(Math.min(max, base * 2 ** Math.min(n - 1, 52))));
        return Number.isInteger(d) && d >= 1 && d <= ceiling;
      },
    ),
  );
});
