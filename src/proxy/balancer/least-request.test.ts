import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBalancer, makeEndpoints, runBalancerConformance, seededRandom } from './conformance.js';
import { LEAST_REQUEST } from './least-request.js';

runBalancerConformance(LEAST_REQUEST);

test('least-request: prefers the less loaded endpoint', () => {
  const [busy, idle] = makeEndpoints([1, 1]);
  busy!.active = 10;
  const lb = createBalancer(LEAST_REQUEST, seededRandom(1));
  lb.update([busy!, idle!]);
  for (let k = 0; k < 1000; k++) assert.equal(lb.pick({ now: 0 }), idle);
});

test('least-request: never picks the most loaded of three or more', () => {
  const eps = makeEndpoints([1, 1, 1, 1]);
  eps.forEach((ep, i) => (ep.active = i * 5));
  const lb = createBalancer(LEAST_REQUEST, seededRandom(2));
  lb.update(eps);
  const counts = [0, 0, 0, 0];
  for (let k = 0; k < 4000; k++) counts[eps.indexOf(lb.pick({ now: 0 })!)]!++;
  assert.equal(counts[3], 0, 'the busiest loses every comparison');
  assert.ok(counts[0]! > counts[1]! && counts[1]! > counts[2]!, `counts ${counts.join(',')}`);
});

test('least-request: compares load per unit of weight', () => {
  const [big, small] = makeEndpoints([4, 1]);
  big!.active = 6; // 1.5 per unit of weight
  small!.active = 2; // 2 per unit of weight
  const lb = createBalancer(LEAST_REQUEST, seededRandom(3));
  lb.update([big!, small!]);
  for (let k = 0; k < 200; k++) assert.equal(lb.pick({ now: 0 }), big);
});

test('least-request: balances in-flight requests under a steady load', () => {
  // Closed loop: 40 requests stay in flight; each pick starts one, and a random in-flight
  // request finishes. In-flight counts should stay close together.
  const eps = makeEndpoints([1, 1, 1, 1, 1]);
  const lb = createBalancer(LEAST_REQUEST, seededRandom(4));
  lb.update(eps);
  const random = seededRandom(40);
  const inFlight: (typeof eps)[number][] = [];
  for (let k = 0; k < 5000; k++) {
    const ep = lb.pick({ now: k })!;
    ep.onStart();
    inFlight.push(ep);
    if (inFlight.length > 40) {
      const done = inFlight.splice(Math.floor(random() * inFlight.length), 1)[0]!;
      done.onEnd(1, false, k);
    }
  }
  const actives = eps.map((ep) => ep.active);
  assert.ok(Math.max(...actives) - Math.min(...actives) <= 4, `in flight: ${actives.join(',')}`);
});
