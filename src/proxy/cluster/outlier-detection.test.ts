import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { OutlierDetectionSpec } from '../../config/snapshot.js';
import { Endpoint } from './endpoint.js';
import type { OutlierEvent } from './outlier-detection.js';
import { OUTLIER_CHANNEL, OutlierDetector } from './outlier-detection.js';

const WAIT_MS = 15_000;

function spec(over: Partial<OutlierDetectionSpec> = {}): OutlierDetectionSpec {
  return {
    consecutive5xx: 5,
    consecutiveGatewayErrors: 3,
    intervalMs: 10_000,
    baseEjectionMs: 30_000,
    maxEjectionMs: 300_000,
    maxEjectionPercent: 100,
    ...over,
  };
}

function endpoints(n: number): Endpoint[] {
  return Array.from(
    { length: n },
    (_, i) => new Endpoint({ address: `10.0.0.${i + 1}`, port: 8080, weight: 1, locality: '', sidecar: false }),
  );
}

/** A detector over `n` endpoints with a hand-driven clock and an onChange counter. */
function setup(n: number, over: Partial<OutlierDetectionSpec> = {}) {
  const eps = endpoints(n);
  const clock = { now: 1_000_000 };
  const changes = { count: 0 };
  const od = new OutlierDetector(spec(over), () => eps, () => changes.count++, () => clock.now);
  const fail = (ep: Endpoint, times: number, outcome: '5xx' | 'gateway-error' | 'connect-failure' = '5xx') => {
    for (let i = 0; i < times; i++) od.report(ep, outcome);
  };
  return { eps, clock, changes, od, fail };
}

function at<T>(arr: readonly T[], i: number): T {
  const v = arr[i];
  assert.ok(v !== undefined, `index ${i}`);
  return v;
}

test('consecutive 5xx: ejected on reaching the threshold for baseEjectionMs', () => {
  const { eps, clock, changes, od, fail } = setup(4);
  const ep = at(eps, 0);
  fail(ep, 4);
  assert.equal(ep.ejectedUntil, 0);
  assert.equal(changes.count, 0);
  od.report(ep, '5xx');
  assert.equal(ep.ejectedUntil, clock.now + 30_000);
  assert.equal(ep.ejections, 1);
  assert.equal(ep.available(clock.now), false);
  assert.equal(changes.count, 1);
  assert.equal(od.stats.ejectedConsecutive5xx, 1);
  assert.equal(od.ejectedCount(), 1);
});

test('a success resets the consecutive counts', () => {
  const { eps, od, fail } = setup(4);
  const ep = at(eps, 0);
  fail(ep, 4);
  od.report(ep, 'success');
  fail(ep, 4);
  assert.equal(ep.ejectedUntil, 0);
  od.report(ep, 'success');
  fail(ep, 2, 'gateway-error');
  od.report(ep, 'success');
  fail(ep, 2, 'gateway-error');
  assert.equal(ep.ejectedUntil, 0);
  od.report(ep, 'success');
  od.report(at(eps, 1), 'success'); // never failed: no state needed
  assert.equal(od.ejectedCount(), 0);
});

test('consecutive gateway errors: 502/503/504 and connect failures count, other 5xx reset', () => {
  const { eps, changes, od, fail } = setup(4, { consecutive5xx: 100 });
  const [a, b] = [at(eps, 0), at(eps, 1)];
  fail(a, 2, 'gateway-error');
  od.report(a, '5xx'); // a 500 breaks the gateway streak
  fail(a, 2, 'connect-failure');
  assert.equal(a.ejectedUntil, 0);
  od.report(a, 'gateway-error');
  assert.ok(a.ejectedUntil > 0);
  assert.equal(od.stats.ejectedConsecutiveGatewayError, 1);

  fail(b, 1, 'connect-failure');
  fail(b, 1, 'gateway-error');
  fail(b, 1, 'connect-failure');
  assert.ok(b.ejectedUntil > 0);
  assert.equal(changes.count, 2);
});

test('gateway errors also count toward consecutive 5xx', () => {
  const { eps, od, fail } = setup(4, { consecutive5xx: 3, consecutiveGatewayErrors: 0 });
  const ep = at(eps, 0);
  fail(ep, 1, '5xx');
  fail(ep, 1, 'gateway-error');
  fail(ep, 1, 'connect-failure');
  assert.ok(ep.ejectedUntil > 0);
  assert.equal(od.stats.ejectedConsecutive5xx, 1);
});

test('a threshold of 0 disables its detector', () => {
  const { eps, od, fail } = setup(4, { consecutive5xx: 0, consecutiveGatewayErrors: 0 });
  fail(at(eps, 0), 50, 'connect-failure');
  fail(at(eps, 0), 50, '5xx');
  assert.equal(od.ejectedCount(), 0);
});

test('both counts restart after a threshold fires', () => {
  const { eps, clock, od, fail } = setup(4, { consecutive5xx: 3, consecutiveGatewayErrors: 2 });
  const ep = at(eps, 0);
  fail(ep, 2, 'gateway-error'); // gateway threshold → ejected, counts reset
  assert.ok(ep.ejectedUntil > clock.now);
  clock.now = ep.ejectedUntil;
  od.tick();
  assert.equal(ep.ejectedUntil, 0);
  fail(ep, 1, 'gateway-error'); // without the reset: 3rd gateway error and 3rd 5xx in a row
  fail(ep, 1, '5xx');
  assert.equal(ep.ejectedUntil, 0);
  assert.equal(ep.ejections, 1);
  fail(ep, 1, '5xx'); // 3 × 5xx since the reset
  assert.ok(ep.ejectedUntil > clock.now);
  assert.equal(od.stats.ejectedConsecutive5xx, 1);
  assert.equal(od.stats.ejectedConsecutiveGatewayError, 1);
});

test('an ejected endpoint is not ejected again or extended', () => {
  const { eps, clock, changes, od, fail } = setup(4, { consecutive5xx: 1 });
  const ep = at(eps, 0);
  fail(ep, 1);
  const until = ep.ejectedUntil;
  clock.now += 1000;
  fail(ep, 10); // late responses from requests already in flight
  assert.equal(ep.ejectedUntil, until);
  assert.equal(ep.ejections, 1);
  assert.equal(changes.count, 1);
  assert.equal(od.stats.overflow, 0);
});

test('reports for an endpoint no longer in the cluster are ignored', () => {
  const { changes, od } = setup(4, { consecutive5xx: 1 });
  const stranger = at(endpoints(1), 0);
  od.report(stranger, '5xx');
  assert.equal(stranger.ejectedUntil, 0);
  assert.equal(changes.count, 0);
});

test('a zero ejection time ejects nothing', () => {
  const { eps, changes, od, fail } = setup(4, { consecutive5xx: 1, baseEjectionMs: 0 });
  fail(at(eps, 0), 1);
  assert.equal(at(eps, 0).ejectedUntil, 0);
  assert.equal(at(eps, 0).ejections, 0);
  assert.equal(changes.count, 0);
  assert.equal(od.ejectedCount(), 0);
});

test('tick returns expired endpoints and calls onChange once per sweep', () => {
  const { eps, clock, changes, od, fail } = setup(4, { consecutive5xx: 1 });
  const [a, b, c] = [at(eps, 0), at(eps, 1), at(eps, 2)];
  fail(a, 1);
  fail(b, 1);
  clock.now += 10_000;
  fail(c, 1); // ejected later: still out at the first sweep below
  assert.equal(changes.count, 3);

  od.tick(clock.now + 20_000 - 1); // a and b have 1 ms to go
  assert.equal(changes.count, 3);
  assert.equal(od.ejectedCount(clock.now + 20_000 - 1), 3);

  od.tick(clock.now + 20_000);
  assert.equal(changes.count, 4, 'one onChange for two endpoints');
  assert.equal(a.ejectedUntil, 0);
  assert.equal(b.ejectedUntil, 0);
  assert.ok(c.ejectedUntil > clock.now + 20_000);
  assert.equal(a.ejections, 1, 'the multiplier survives the return');

  od.tick(clock.now + 30_000);
  assert.equal(c.ejectedUntil, 0);
  assert.equal(changes.count, 5);
});

test('ejection time grows with each ejection and is capped at maxEjectionMs', () => {
  const { eps, clock, od, fail } = setup(4, { consecutive5xx: 1, baseEjectionMs: 10_000, maxEjectionMs: 25_000 });
  const ep = at(eps, 0);
  const durations: number[] = [];
  for (let i = 0; i < 4; i++) {
    fail(ep, 1);
    durations.push(ep.ejectedUntil - clock.now);
    clock.now = ep.ejectedUntil;
    od.tick(); // returns it; not a healthy interval, so no decay
    assert.equal(ep.ejectedUntil, 0);
  }
  assert.deepEqual(durations, [10_000, 20_000, 25_000, 25_000]);
  assert.equal(ep.ejections, 4);
});

test('an endpoint that stays in service has its ejection multiplier decay', () => {
  const { eps, clock, changes, od, fail } = setup(4, { consecutive5xx: 1, baseEjectionMs: 10_000 });
  const ep = at(eps, 0);
  fail(ep, 1);
  clock.now = ep.ejectedUntil;
  fail(ep, 1); // expired but not yet swept: may be ejected again
  assert.equal(ep.ejections, 2);
  assert.equal(ep.ejectedUntil, clock.now + 20_000);

  clock.now += 10_000;
  od.tick(); // still ejected: no decay
  assert.equal(ep.ejections, 2);
  clock.now += 10_000;
  od.tick(); // returned this sweep: no decay yet
  assert.equal(ep.ejections, 2);
  const changesBefore = changes.count;
  clock.now += 10_000;
  od.tick();
  assert.equal(ep.ejections, 1, 'a full healthy interval');
  clock.now += 10_000;
  od.tick();
  assert.equal(ep.ejections, 0);
  clock.now += 10_000;
  od.tick();
  assert.equal(ep.ejections, 0, 'never below zero');
  assert.equal(changes.count, changesBefore, 'decay alone changes no availability');

  fail(ep, 1);
  assert.equal(ep.ejectedUntil - clock.now, 10_000, 'back to the base time');
});

test('maxEjectionPercent caps concurrent ejections (Envoy: allowed while the ejected share is below it)', () => {
  const { eps, clock, od, fail } = setup(10, { consecutive5xx: 1, maxEjectionPercent: 20 });
  fail(at(eps, 0), 1); // 0% ejected → allowed
  clock.now += 1000;
  fail(at(eps, 1), 1); // 10% → allowed
  fail(at(eps, 2), 1); // 20% → refused
  assert.equal(od.ejectedCount(), 2);
  assert.equal(at(eps, 2).ejectedUntil, 0);
  assert.equal(at(eps, 2).ejections, 0);
  assert.equal(od.stats.overflow, 1);

  // Expired ejections do not count, even before the sweep clears them.
  clock.now = at(eps, 0).ejectedUntil;
  fail(at(eps, 3), 1);
  assert.ok(at(eps, 3).ejectedUntil > clock.now);
  assert.equal(od.ejectedCount(), 2);
});

test('maxEjectionPercent: at least one ejection when the percent is below one endpoint’s share', () => {
  const { eps, od, fail } = setup(3, { consecutive5xx: 1, maxEjectionPercent: 10 });
  fail(at(eps, 0), 1);
  fail(at(eps, 1), 1);
  assert.equal(od.ejectedCount(), 1);
  assert.equal(od.stats.overflow, 1);
});

test('maxEjectionPercent: the cap may be passed by one endpoint', () => {
  const { eps, od, fail } = setup(4, { consecutive5xx: 1, maxEjectionPercent: 30 });
  for (const ep of eps) fail(ep, 1);
  // 0% and 25% are below 30%: two ejected (50%); at 50% the third is refused.
  assert.equal(od.ejectedCount(), 2);
  assert.equal(od.stats.overflow, 2);
});

test('maxEjectionPercent 0 disables ejection; 100 may eject every endpoint', () => {
  const none = setup(2, { consecutive5xx: 1, maxEjectionPercent: 0 });
  none.fail(at(none.eps, 0), 1);
  assert.equal(none.od.ejectedCount(), 0);
  const all = setup(2, { consecutive5xx: 1, maxEjectionPercent: 100 });
  for (const ep of all.eps) all.fail(ep, 1);
  assert.equal(all.od.ejectedCount(), 2);
});

test('a refused ejection restarts the count', () => {
  const { eps, od, fail } = setup(2, { consecutive5xx: 2, maxEjectionPercent: 50 });
  fail(at(eps, 0), 2);
  fail(at(eps, 1), 2);
  assert.equal(od.stats.overflow, 1);
  fail(at(eps, 1), 1);
  assert.equal(od.stats.overflow, 1, 'one more failure is not a new streak');
  fail(at(eps, 1), 1);
  assert.equal(od.stats.overflow, 2);
});

test('update: new thresholds apply to the running counts; ejections are kept', () => {
  const { eps, od, fail } = setup(4, { consecutive5xx: 5 });
  const [a, b] = [at(eps, 0), at(eps, 1)];
  fail(b, 1);
  od.report(b, 'success');
  fail(a, 3);
  od.update(spec({ consecutive5xx: 3 }));
  assert.equal(a.ejectedUntil, 0);
  fail(a, 1); // 4 ≥ 3
  assert.ok(a.ejectedUntil > 0);
  od.update(spec({ maxEjectionPercent: 0 }));
  assert.ok(a.ejectedUntil > 0, 'lowering the cap ejects no one back');
});

test('onChange errors stay inside and are published on the diagnostics channel', () => {
  const eps = endpoints(2);
  const clock = { now: 1_000 };
  const od = new OutlierDetector(
    spec({ consecutive5xx: 1 }),
    () => eps,
    () => {
      throw new Error('boom');
    },
    () => clock.now,
  );
  const seen: OutlierEvent[] = [];
  const onEvent = (m: unknown) => seen.push(m as OutlierEvent);
  subscribe(OUTLIER_CHANNEL, onEvent);
  try {
    od.report(at(eps, 0), '5xx');
    clock.now += 60_000;
    od.tick();
  } finally {
    unsubscribe(OUTLIER_CHANNEL, onEvent);
  }
  assert.deepEqual(
    seen.map((e) => e.type),
    ['eject', 'error', 'uneject', 'error'],
  );
  const first = seen[0];
  assert.ok(first?.type === 'eject');
  assert.equal(first.endpoint, '10.0.0.1:8080');
  assert.equal(first.reason, 'consecutive-5xx');
});

test('overflow is published on the diagnostics channel', () => {
  const { eps, od, fail } = setup(2, { consecutive5xx: 1, maxEjectionPercent: 50 });
  const seen: OutlierEvent[] = [];
  const onEvent = (m: unknown) => seen.push(m as OutlierEvent);
  subscribe(OUTLIER_CHANNEL, onEvent);
  try {
    fail(at(eps, 0), 1);
    fail(at(eps, 1), 1);
  } finally {
    unsubscribe(OUTLIER_CHANNEL, onEvent);
  }
  assert.deepEqual(seen.map((e) => e.type), ['eject', 'overflow']);
  assert.equal(od.stats.overflow, 1);
});

/** Resolves on the next onChange, or rejects after WAIT_MS. */
function nextChange(hook: { resolve?: () => void }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no onChange within the wait')), WAIT_MS);
    hook.resolve = () => {
      clearTimeout(t);
      hook.resolve = undefined;
      resolve();
    };
  });
}

test('start(): the interval timer sweeps; update() with a new interval restarts it; stop() ends it', async () => {
  const eps = endpoints(2);
  const clock = { now: 1_000 };
  const hook: { resolve?: () => void } = {};
  const od = new OutlierDetector(
    spec({ consecutive5xx: 1, intervalMs: 60_000 }),
    () => eps,
    () => hook.resolve?.(),
    () => clock.now,
  );
  try {
    od.report(at(eps, 0), '5xx');
    clock.now += 60_000; // expired: the next sweep returns it
    od.start();
    od.start(); // idempotent
    // The first interval is a minute: only the restart below can make the sweep run now.
    const changed = nextChange(hook);
    od.update(spec({ consecutive5xx: 1, intervalMs: 5 }));
    await changed;
    assert.equal(at(eps, 0).ejectedUntil, 0);
    od.update(spec({ consecutive5xx: 1, intervalMs: 5, maxEjectionPercent: 50 })); // same interval: no restart

    // The running timer sweeps again: eject, let it expire, wait for the return.
    od.report(at(eps, 1), '5xx');
    const again = nextChange(hook);
    clock.now += 10 * 60_000;
    await again;
    assert.equal(at(eps, 1).ejectedUntil, 0);
  } finally {
    od.stop();
    od.stop();
  }
});

test('the timer survives a throwing endpoints() source', async () => {
  let calls = 0;
  const hook: { resolve?: () => void } = {};
  const od = new OutlierDetector(
    spec({ intervalMs: 5 }),
    () => {
      calls++;
      if (calls >= 3) hook.resolve?.();
      throw new Error('membership unavailable');
    },
    () => {},
  );
  const seen: OutlierEvent[] = [];
  const onEvent = (m: unknown) => seen.push(m as OutlierEvent);
  subscribe(OUTLIER_CHANNEL, onEvent);
  try {
    const thirdSweep = nextChange(hook);
    od.start();
    await thirdSweep;
    assert.ok(seen.length >= 2 && seen.every((e) => e.type === 'error'));
  } finally {
    od.stop();
    unsubscribe(OUTLIER_CHANNEL, onEvent);
  }
});
