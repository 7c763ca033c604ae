import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Endpoint } from '../cluster/endpoint.js';
import type { Balancer } from './balancer.js';
import { createBalancer, keyStream, makeEndpoints, runBalancerConformance, seededRandom } from './conformance.js';
import { DEFAULT_RING_SIZE, MAX_RING_SIZE, RING_HASH, RingHashBalancer, ringSizeOf } from './ring-hash.js';

runBalancerConformance(RING_HASH, { consistentHash: true });

const KEYS = 20_000;

function keys(seed: number): string[] {
  const next = keyStream(seededRandom(seed));
  return Array.from({ length: KEYS }, next);
}

function assign(lb: Balancer, ks: string[]): (Endpoint | undefined)[] {
  return ks.map((hashKey) => lb.pick({ hashKey, now: 0 }));
}

test('ring-hash: adding an endpoint moves about 1/N of keys, all to it', () => {
  const ks = keys(1);
  const eps = makeEndpoints(Array.from({ length: 11 }, () => 1));
  const lb = createBalancer(RING_HASH, seededRandom(1));
  lb.update(eps.slice(0, 10));
  const before = assign(lb, ks);
  lb.update(eps);
  const after = assign(lb, ks);
  let moved = 0;
  ks.forEach((_, k) => {
    if (after[k] !== before[k]) {
      moved++;
      assert.equal(after[k], eps[10], 'a moved key moves to the new endpoint');
    }
  });
  const fraction = moved / KEYS;
  assert.ok(fraction > 0.5 / 11 && fraction < 1.5 / 11, `moved ${fraction}`);
});

test('ring-hash: removing an endpoint moves only its keys', () => {
  const ks = keys(2);
  const eps = makeEndpoints([1, 1, 1, 1, 1, 1, 1, 1]);
  const lb = createBalancer(RING_HASH, seededRandom(2));
  lb.update(eps);
  const before = assign(lb, ks);
  const gone = eps[3]!;
  lb.update(eps.filter((ep) => ep !== gone));
  const after = assign(lb, ks);
  let moved = 0;
  ks.forEach((_, k) => {
    if (before[k] === gone) {
      moved++;
      assert.notEqual(after[k], gone);
    } else {
      assert.equal(after[k], before[k], 'keys of the other endpoints stay');
    }
  });
  const fraction = moved / KEYS;
  assert.ok(fraction > 0.5 / 8 && fraction < 1.5 / 8, `moved ${fraction}`);
});

test('ring-hash: keys of a removed endpoint spread over the others', () => {
  const ks = keys(3);
  const eps = makeEndpoints([1, 1, 1, 1, 1]);
  const lb = createBalancer(RING_HASH, seededRandom(3));
  lb.update(eps);
  const before = assign(lb, ks);
  lb.update(eps.slice(1));
  const after = assign(lb, ks);
  const heirs = new Set(ks.flatMap((_, k) => (before[k] === eps[0] ? [after[k]] : [])));
  assert.equal(heirs.size, 4);
});

test('ring-hash: a weight change moves keys only to or from that endpoint', () => {
  const ks = keys(4);
  const eps = makeEndpoints([1, 1, 1, 1]);
  const lb = createBalancer(RING_HASH, seededRandom(4));
  lb.update(eps);
  const before = assign(lb, ks);
  const heavier = makeEndpoints([1, 1, 3, 1]);
  // Same addresses, the third now weighs 3.
  lb.update(heavier);
  const after = assign(lb, ks);
  ks.forEach((_, k) => {
    const from = eps.indexOf(before[k]!);
    const to = heavier.indexOf(after[k]!);
    if (from !== to) assert.equal(to, 2, 'keys only move to the heavier endpoint');
  });
  const share = after.filter((ep) => ep === heavier[2]).length / KEYS;
  assert.ok(Math.abs(share - 0.5) < 0.05, `heavier share ${share}`);
});

test('ring-hash: without a hash key, picks are random by weight', () => {
  const [heavy, light] = makeEndpoints([3, 1]);
  const lb = createBalancer(RING_HASH, seededRandom(5));
  lb.update([heavy!, light!]);
  let h = 0;
  for (let k = 0; k < 10_000; k++) if (lb.pick({ now: 0 }) === heavy) h++;
  assert.ok(Math.abs(h / 10_000 - 0.75) < 0.05, `heavy share ${h / 10_000}`);
});

test('ring-hash: the ring size comes from the spec', () => {
  assert.equal(ringSizeOf({ policy: RING_HASH }), DEFAULT_RING_SIZE);
  assert.equal(ringSizeOf({ policy: RING_HASH, ringSize: 4096 }), 4096);
  assert.equal(ringSizeOf({ policy: RING_HASH, ringSize: 0 }), DEFAULT_RING_SIZE);
  assert.equal(ringSizeOf({ policy: RING_HASH, ringSize: 2.5 }), DEFAULT_RING_SIZE);
  assert.equal(ringSizeOf({ policy: RING_HASH, ringSize: 1e12 }), MAX_RING_SIZE);
  const lb = createBalancer(RING_HASH, seededRandom(6), { ringSize: 64 });
  assert.ok(lb instanceof RingHashBalancer);
  assert.equal(lb.ringSize, 64);
});

test('ring-hash: a tiny ring still only picks current endpoints', () => {
  const eps = makeEndpoints([1, 1, 1]);
  const lb = createBalancer(RING_HASH, seededRandom(7), { ringSize: 1 });
  lb.update(eps);
  const first = lb.pick({ hashKey: 'a', now: 0 });
  assert.ok(first && eps.includes(first));
  assert.equal(lb.pick({ hashKey: 'b', now: 0 }), first, 'one point: one owner');
});
