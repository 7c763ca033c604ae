import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBalancer, makeEndpoints, runBalancerConformance, seededRandom } from './conformance.js';
import { PEAK_EWMA, UNSAMPLED_PENALTY_MS, peakEwmaCost } from './peak-ewma.js';

runBalancerConformance(PEAK_EWMA);

test('peak-ewma: avoids a slow endpoint', () => {
  const eps = makeEndpoints([1, 1, 1, 1]);
  eps.forEach((ep, i) => ep.recordLatency(i === 0 ? 2000 : 20, 1));
  const lb = createBalancer(PEAK_EWMA, seededRandom(1));
  lb.update(eps);
  let slow = 0;
  for (let k = 0; k < 10_000; k++) if (lb.pick({ now: 2 }) === eps[0]) slow++;
  assert.ok(slow < 1000, `slow endpoint got ${slow} of 10000 picks`);
});

test('peak-ewma: a slow endpoint still gets little traffic under load', () => {
  // Closed loop with latency: the slow endpoint holds its requests 20× longer.
  const eps = makeEndpoints([1, 1, 1]);
  const latency = [200, 10, 10];
  const lb = createBalancer(PEAK_EWMA, seededRandom(2));
  lb.update(eps);
  const ends: { at: number; i: number }[] = [];
  const picks = [0, 0, 0];
  for (let now = 1; now <= 20_000; now++) {
    for (let e = ends.length - 1; e >= 0; e--) {
      const end = ends[e]!;
      if (end.at <= now) {
        eps[end.i]!.onEnd(latency[end.i]!, false, now);
        ends.splice(e, 1);
      }
    }
    const ep = lb.pick({ now })!;
    const i = eps.indexOf(ep);
    ep.onStart();
    picks[i]!++;
    ends.push({ at: now + latency[i]!, i });
  }
  assert.ok(picks[0]! < 0.1 * 20_000, `picks: ${picks.join(',')}`);
});

test('peak-ewma: an idle endpoint without a latency sample is tried first', () => {
  const eps = makeEndpoints([1, 1, 1]);
  eps[0]!.recordLatency(5, 1);
  eps[1]!.recordLatency(5, 1);
  const fresh = eps[2]!;
  const lb = createBalancer(PEAK_EWMA, seededRandom(3));
  lb.update(eps);
  let picked = 0;
  for (let k = 0; k < 1000; k++) if (lb.pick({ now: 2 }) === fresh) picked++;
  // It wins every comparison it is drawn into: 2 of the 3 pairs.
  assert.ok(picked > 600, `fresh endpoint got ${picked} of 1000`);
});

test('peak-ewma: an endpoint with a request in flight and no answer is not flooded', () => {
  const [fresh] = makeEndpoints([1]);
  assert.equal(peakEwmaCost(fresh!, 1), 0);
  fresh!.onStart();
  assert.equal(peakEwmaCost(fresh!, 1), UNSAMPLED_PENALTY_MS * 2);
  fresh!.onEnd(0, false, 1);
  assert.ok(peakEwmaCost(fresh!, 1) > 0, 'a 0 ms answer is a sample');
  assert.ok(peakEwmaCost(fresh!, 1) < 1);
});

test('peak-ewma: cost grows with load and shrinks with weight', () => {
  const [a, b] = makeEndpoints([1, 2]);
  a!.recordLatency(10, 1);
  b!.recordLatency(10, 1);
  assert.equal(peakEwmaCost(a!, 1, 1), 10);
  a!.active = 3;
  assert.equal(peakEwmaCost(a!, 1, 1), 40);
  assert.equal(peakEwmaCost(b!, 2, 1), 5);
});

test('peak-ewma: an idle slow endpoint decays back into rotation', () => {
  const [a] = makeEndpoints([1]);
  a!.recordLatency(1000, 1);
  assert.equal(peakEwmaCost(a!, 1, 1), 1000);
  assert.ok(peakEwmaCost(a!, 1, 1 + 60_000) < 10, 'a minute later the spike is forgotten');
});
