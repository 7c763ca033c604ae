import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from './retry-budget.js';

test('minRetryConcurrency retries are always allowed', () => {
  const b = new RetryBudget({ budgetPercent: 20, minRetryConcurrency: 3 });
  assert.equal(b.tryAcquire(0), true);
  assert.equal(b.tryAcquire(1), true);
  assert.equal(b.tryAcquire(2), true);
  assert.equal(b.active, 3);
  assert.equal(b.tryAcquire(3), false);
  assert.equal(b.active, 3);
  assert.equal(b.overflow, 1);
});

test('budgetPercent of active requests, rounded down, once above the minimum', () => {
  const b = new RetryBudget({ budgetPercent: 20, minRetryConcurrency: 3 });
  assert.equal(b.limit(0), 3);
  assert.equal(b.limit(19), 3);
  assert.equal(b.limit(20), 4);
  assert.equal(b.limit(24), 4);
  assert.equal(b.limit(100), 20);
  assert.equal(b.limit(-10), 3);
  for (let i = 0; i < 20; i++) assert.equal(b.tryAcquire(100), true, `retry ${i}`);
  assert.equal(b.tryAcquire(100), false);
  assert.equal(b.tryAcquire(105), true, 'more traffic, more budget');
  assert.equal(b.active, 21);
  assert.equal(b.overflow, 1);
});

test('release frees a slot and never goes below zero', () => {
  const b = new RetryBudget({ budgetPercent: 0, minRetryConcurrency: 1 });
  assert.equal(b.tryAcquire(50), true);
  assert.equal(b.tryAcquire(50), false);
  b.release();
  assert.equal(b.active, 0);
  assert.equal(b.tryAcquire(50), true);
  b.release();
  b.release();
  b.release();
  assert.equal(b.active, 0);
});

test('no budget at all refuses every retry', () => {
  const b = new RetryBudget({ budgetPercent: 0, minRetryConcurrency: 0 });
  assert.equal(b.tryAcquire(1000), false);
  assert.equal(b.overflow, 1);
});

test('update changes the limits and keeps retries in flight', () => {
  const b = new RetryBudget({ budgetPercent: 50, minRetryConcurrency: 0 });
  for (let i = 0; i < 5; i++) assert.equal(b.tryAcquire(10), true);
  b.update({ budgetPercent: 20, minRetryConcurrency: 0 });
  assert.equal(b.active, 5);
  assert.equal(b.tryAcquire(10), false, '5 in flight ≥ 20% of 10');
  for (let i = 0; i < 3; i++) b.release();
  assert.equal(b.tryAcquire(10), false, '2 in flight = 20% of 10');
  b.release();
  assert.equal(b.tryAcquire(10), true);
  b.update({ budgetPercent: 20, minRetryConcurrency: 10 });
  assert.equal(b.tryAcquire(0), true);
});

test('a non-finite budget share falls back to the minimum', () => {
  const b = new RetryBudget({ budgetPercent: Number.NaN, minRetryConcurrency: 2 });
  assert.equal(b.limit(100), 2);
  const inf = new RetryBudget({ budgetPercent: Number.POSITIVE_INFINITY, minRetryConcurrency: 1 });
  assert.equal(inf.limit(0), 1, '∞ × 0 is NaN, not a licence');
});
