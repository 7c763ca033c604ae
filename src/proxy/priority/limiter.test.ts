import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GradientLimit, StaticLimit, makeLimit } from './limiter.js';

const opts = { min: 2, max: 100, initial: 10, tolerance: 2, windowMs: 1000, smoothing: 0.5 };

test('static: fixed', () => {
  const l = new StaticLimit(5);
  l.onSample();
  assert.equal(l.limit, 5);
  assert.equal(makeLimit({ kind: 'static', limit: 3 }).limit, 3);
});

test('gradient: grows while latency stays near the no-load minimum and the limit is used', () => {
  let now = 0;
  const l = new GradientLimit(opts, () => now);
  for (let i = 0; i < 200; i++) {
    now += 1;
    l.onSample(10, l.limit, false);
  }
  assert.equal(l.limit, 100, 'reaches max');
});

test('gradient: does not grow when the limit is not used (app-limited)', () => {
  const l = new GradientLimit(opts, () => 0);
  for (let i = 0; i < 50; i++) l.onSample(10, 1, false);
  assert.equal(l.limit, 10);
});

test('gradient: shrinks when latency rises past tolerance × no-load, down to min; recovers after', () => {
  const l = new GradientLimit({ ...opts, initial: 50 }, () => 0);
  l.onSample(10, 50, false); // no-load 10 ms
  const before = l.limit;
  for (let i = 0; i < 5; i++) l.onSample(100, l.limit, false);
  assert.ok(l.limit < before, `${l.limit} < ${before}`);
  for (let i = 0; i < 100; i++) l.onSample(100, l.limit, false);
  assert.ok(l.limit <= 5, `near min: ${l.limit}`);
  assert.ok(l.limit >= 2);
  for (let i = 0; i < 300; i++) l.onSample(10, l.limit, false);
  assert.ok(l.limit > 50, `recovers: ${l.limit}`);
});

test('gradient: a drop backs off by 10 %', () => {
  const l = new GradientLimit({ ...opts, initial: 50, smoothing: 1 }, () => 0);
  l.onSample(10, 1, true);
  assert.equal(l.limit, 45);
});

test('gradient: the no-load minimum follows a service that became slower for good (two windows)', () => {
  let now = 0;
  const l = new GradientLimit(opts, () => now);
  l.onSample(10, 1, false);
  assert.equal(l.noLoadMs, 10);
  now = 1500;
  l.onSample(50, 1, false);
  assert.equal(l.noLoadMs, 10, 'previous window still remembered');
  now = 2600;
  l.onSample(50, 1, false);
  assert.equal(l.noLoadMs, 50);
});
