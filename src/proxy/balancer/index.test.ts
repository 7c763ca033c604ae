import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balancerNames, getBalancer, setupBalancers } from './index.js';

test('every built-in balancer is registered by name', () => {
  assert.deepEqual(balancerNames(), ['least-request', 'peak-ewma', 'ring-hash', 'round-robin']);
  for (const name of balancerNames()) assert.equal(getBalancer(name)?.name, name);
  assert.equal(getBalancer('no-such-policy'), undefined);
});

test('setupBalancers() is idempotent', () => {
  setupBalancers();
  setupBalancers();
  assert.equal(balancerNames().length, 4);
});
