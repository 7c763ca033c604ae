/**
 * @module proxy/balancer/conformance
 * The behaviour every registered balancer must show, as node:test tests. A policy's test
 * file calls `runBalancerConformance(name)` and adds its own policy-specific tests; the
 * helpers here (seeded random, endpoint builders, pick counting) are shared with them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { LoadBalancerSpec } from '../../config/snapshot.js';
import { Endpoint } from '../cluster/endpoint.js';
import type { Balancer, PickContext } from './balancer.js';
import { getBalancer } from './index.js';

export interface ConformanceOptions {
  /** The policy maps a hash key to a fixed endpoint (ring-hash): test that it does. */
  consistentHash?: boolean;
}

/** mulberry32: a small, fast, seeded PRNG returning values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One endpoint per weight, at 10.0.0.<first+i>:8080. */
export function makeEndpoints(weights: readonly number[], first = 1, locality = 'zone-a'): Endpoint[] {
  return weights.map(
    (weight, i) => new Endpoint({ address: `10.0.0.${first + i}`, port: 8080, weight, locality, sidecar: true }),
  );
}

/** A balancer of the registered policy `name`, driven by `random`. */
export function createBalancer(
  name: string,
  random: () => number,
  spec: Partial<LoadBalancerSpec> = {},
): Balancer {
  const factory = getBalancer(name);
  assert.ok(factory, `balancer ${name} is registered`);
  return factory.create({ policy: name, ...spec }, random);
}

/** A stream of distinct-looking hash keys. */
export function keyStream(random: () => number): () => string {
  let n = 0;
  return () => `user-${n++}-${Math.floor(random() * 0x100000000).toString(36)}`;
}

/** Pick `picks` times with a fresh hash key each time; count the picks per endpoint. */
export function countPicks(balancer: Balancer, picks: number, random: () => number): Map<Endpoint, number> {
  const nextKey = keyStream(random);
  const counts = new Map<Endpoint, number>();
  for (let k = 0; k < picks; k++) {
    const ep = balancer.pick({ hashKey: nextKey(), now: 0 });
    assert.ok(ep, 'pick returned an endpoint');
    counts.set(ep, (counts.get(ep) ?? 0) + 1);
  }
  return counts;
}

const endpointArb = fc.record({
  weight: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, -1, 0.25, Number.NaN, Infinity)),
  active: fc.nat(1000),
  ewmaMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
  completed: fc.nat(1000),
});

export function runBalancerConformance(name: string, options: ConformanceOptions = {}): void {
  describe(`balancer conformance: ${name}`, () => {
    test('is registered under its name', () => {
      assert.equal(getBalancer(name)?.name, name);
    });

    test('picks nothing from an empty set', () => {
      const lb = createBalancer(name, seededRandom(1));
      assert.equal(lb.pick({ now: 0 }), undefined, 'before any update()');
      lb.update(makeEndpoints([1, 1]));
      lb.update([]);
      assert.equal(lb.pick({ now: 0 }), undefined);
      assert.equal(lb.pick({ hashKey: 'k', now: 0 }), undefined);
    });

    test('picks the only endpoint', () => {
      const lb = createBalancer(name, seededRandom(2));
      const [only] = makeEndpoints([7]);
      lb.update([only!]);
      for (let k = 0; k < 50; k++) {
        assert.equal(lb.pick({ now: k }), only);
        assert.equal(lb.pick({ hashKey: `k${k}`, now: k }), only);
      }
    });

    test('picks only from the current set after update()', () => {
      const lb = createBalancer(name, seededRandom(3));
      const [a, b, c, d] = makeEndpoints([1, 1, 1, 1]);
      lb.update([a!, b!, c!]);
      countPicks(lb, 300, seededRandom(30));
      lb.update([b!, c!, d!]);
      const counts = countPicks(lb, 3000, seededRandom(31));
      assert.equal(counts.get(a!), undefined, 'a removed endpoint is never picked');
      assert.deepEqual(new Set(counts.keys()), new Set([b, c, d]));
      lb.update([d!]);
      assert.deepEqual([...countPicks(lb, 100, seededRandom(32)).keys()], [d]);
    });

    test('update() keeps its own copy of the endpoint list', () => {
      const lb = createBalancer(name, seededRandom(4));
      const eps = makeEndpoints([1, 1, 1]);
      const list = [...eps];
      lb.update(list);
      const [stranger] = makeEndpoints([1], 100);
      list.length = 0;
      list.push(stranger!);
      const counts = countPicks(lb, 600, seededRandom(40));
      assert.equal(counts.get(stranger!), undefined);
      assert.equal(counts.size, 3);
    });

    test('spreads traffic over every endpoint', () => {
      const lb = createBalancer(name, seededRandom(5));
      const eps = makeEndpoints([1, 1, 1, 1, 1, 1]);
      lb.update(eps);
      const picks = 6000;
      const counts = countPicks(lb, picks, seededRandom(50));
      for (const ep of eps) {
        const got = counts.get(ep) ?? 0;
        assert.ok(got > (picks / eps.length) * 0.5, `${ep.key} got ${got} of ${picks} picks`);
      }
    });

    test('respects weights (3:1 → ~75%)', () => {
      for (const seed of [6, 7, 8]) {
        const lb = createBalancer(name, seededRandom(seed));
        const [heavy, light] = makeEndpoints([3, 1]);
        lb.update([heavy!, light!]);
        const picks = 10_000;
        const counts = countPicks(lb, picks, seededRandom(seed * 10));
        const share = (counts.get(heavy!) ?? 0) / picks;
        assert.ok(Math.abs(share - 0.75) <= 0.05, `seed ${seed}: heavy share ${share}`);
      }
    });

    test('respects weights over several endpoints (1:2:5)', () => {
      const lb = createBalancer(name, seededRandom(9));
      const eps = makeEndpoints([1, 2, 5]);
      lb.update(eps);
      const picks = 16_000;
      const counts = countPicks(lb, picks, seededRandom(90));
      for (const ep of eps) {
        const share = (counts.get(ep) ?? 0) / picks;
        assert.ok(Math.abs(share - ep.weight / 8) <= 0.05, `${ep.key}: share ${share}, weight ${ep.weight}/8`);
      }
    });

    test('is deterministic for an injected random', () => {
      const run = (): string[] => {
        const lb = createBalancer(name, seededRandom(10));
        lb.update(makeEndpoints([1, 2, 3, 4]));
        const nextKey = keyStream(seededRandom(100));
        return Array.from({ length: 200 }, () => lb.pick({ hashKey: nextKey(), now: 0 })?.key ?? '');
      };
      assert.deepEqual(run(), run());
    });

    if (options.consistentHash) {
      test('maps the same hash key to the same endpoint', () => {
        const eps = makeEndpoints([1, 1, 2, 3, 1]);
        const lb = createBalancer(name, seededRandom(11));
        lb.update(eps);
        // Another sidecar: different random, endpoints listed in another order.
        const other = createBalancer(name, seededRandom(12));
        other.update([...eps].reverse());
        const nextKey = keyStream(seededRandom(110));
        for (let k = 0; k < 500; k++) {
          const hashKey = nextKey();
          const first = lb.pick({ hashKey, now: 0 });
          assert.equal(lb.pick({ hashKey, now: k }), first);
          assert.equal(other.pick({ hashKey, now: 0 }), first, `key ${hashKey}`);
        }
      });
    }

    test('never throws and only returns current endpoints, for any input', () => {
      fc.assert(
        fc.property(
          fc.array(fc.array(endpointArb, { maxLength: 12 }), { minLength: 1, maxLength: 4 }),
          fc.array(fc.option(fc.string({ unit: 'binary', maxLength: 24 }), { nil: undefined }), {
            minLength: 1,
            maxLength: 16,
          }),
          fc.array(fc.oneof(fc.double({ min: 0, max: 1 }), fc.constant(Number.NaN)), { minLength: 1, maxLength: 32 }),
          fc.option(fc.integer({ min: -4, max: 2048 }), { nil: undefined }),
          (sets, keys, randoms, ringSize) => {
            let r = 0;
            const random = (): number => randoms[r++ % randoms.length]!;
            const lb = createBalancer(name, random, { ringSize });
            sets.forEach((set, s) => {
              const eps = set.map((e, i) => {
                const ep = new Endpoint({
                  address: `10.${s}.0.${i}`,
                  port: 80,
                  weight: e.weight,
                  locality: '',
                  sidecar: false,
                });
                ep.active = e.active;
                ep.ewmaMs = e.ewmaMs;
                ep.totalRequests = e.active + e.completed;
                return ep;
              });
              lb.update(eps);
              keys.forEach((hashKey, k) => {
                const ctx: PickContext = hashKey === undefined ? { now: k } : { hashKey, now: k };
                const got = lb.pick(ctx);
                if (eps.length === 0) assert.equal(got, undefined);
                else assert.ok(got !== undefined && eps.includes(got), 'pick is a current endpoint');
              });
            });
          },
        ),
        { seed: 42, numRuns: 150 },
      );
    });
  });
}
