import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdmissionSpec } from '../../config/snapshot.js';
import { AdmissionController } from './admission.js';
import type { AdmissionClass, AdmissionTimers, ShedReason, Ticket } from './admission.js';
import { StaticLimit } from './limiter.js';
import type { ConcurrencyLimit } from './limiter.js';

/** Latency-sensitive, default, bulk (highest rank first), as the built-in classes. */
const CLASSES: AdmissionClass[] = [
  { name: 'ls', minShare: 0, shedOrder: 300 },
  { name: 'default', minShare: 0, shedOrder: 200 },
  { name: 'bulk', minShare: 0, shedOrder: 100 },
];
const LS = 0;
const DEFAULT = 1;
const BULK = 2;

class FakeTimers implements AdmissionTimers {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.timers.delete(h as number);
  };
  advance(ms: number): void {
    this.t += ms;
    for (const [id, tm] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (tm.at <= this.t && this.timers.delete(id)) tm.fn();
    }
  }
  get pending(): number {
    return this.timers.size;
  }
}

interface Log {
  admitted: string[];
  shed: { id: string; reason: ShedReason }[];
  tickets: Map<string, Ticket>;
}

function setup(opts: { limit?: number | ConcurrencyLimit; maxQueue?: number; timeoutMs?: number; classes?: AdmissionClass[] } = {}) {
  const timers = new FakeTimers();
  const spec: AdmissionSpec = { limit: { kind: 'static', limit: 1 }, maxQueue: opts.maxQueue ?? 100, queueTimeoutMs: opts.timeoutMs ?? 1000, retryAfterSeconds: 1 };
  const limit = typeof opts.limit === 'object' ? opts.limit : new StaticLimit(opts.limit ?? 1);
  const seen: { admitted: [number, number][]; queued: number[]; shed: [number, ShedReason][] } = { admitted: [], queued: [], shed: [] };
  const ctrl = new AdmissionController(
    opts.classes ?? CLASSES,
    spec,
    limit,
    { admitted: (c, ms) => seen.admitted.push([c, ms]), queued: (c) => seen.queued.push(c), shed: (c, r) => seen.shed.push([c, r]) },
    timers,
  );
  const log: Log = { admitted: [], shed: [], tickets: new Map() };
  const send = (id: string, cls: number): Ticket => {
    const t = ctrl.acquire(cls, {
      admitted: () => log.admitted.push(id),
      rejected: (reason) => log.shed.push({ id, reason }),
    });
    log.tickets.set(id, t);
    return t;
  };
  const finish = (id: string): void => (log.tickets.get(id) as Ticket).release();
  return { ctrl, timers, log, send, finish, seen };
}

test('under the limit: admitted at once, synchronously', () => {
  const { ctrl, log, send } = setup({ limit: 2 });
  send('a', BULK);
  send('b', LS);
  assert.deepEqual(log.admitted, ['a', 'b']);
  assert.equal(ctrl.inFlight, 2);
});

test('saturated: higher classes go first, FIFO within a class, regardless of arrival order', () => {
  const { log, send, finish } = setup();
  send('first', BULK);
  for (const id of ['b1', 'b2', 'b3']) send(id, BULK);
  send('d1', DEFAULT);
  send('l1', LS);
  send('l2', LS);
  assert.deepEqual(log.admitted, ['first']);
  for (const id of ['first', 'l1', 'l2', 'd1', 'b1', 'b2']) finish(id);
  assert.deepEqual(log.admitted, ['first', 'l1', 'l2', 'd1', 'b1', 'b2', 'b3']);
});

test('minimum share: a flood of high-class requests cannot starve bulk', () => {
  const classes: AdmissionClass[] = [
    { name: 'ls', minShare: 0, shedOrder: 300 },
    { name: 'default', minShare: 0, shedOrder: 200 },
    { name: 'bulk', minShare: 0.25, shedOrder: 100 },
  ];
  const { log, send } = setup({ classes });
  send('x', LS);
  send('b1', BULK);
  send('b2', BULK);
  for (let i = 1; i <= 12; i++) send(`l${i}`, LS);
  // Release one at a time: every 4th slot is bulk's while it waits.
  for (let i = 0; i < 14; i++) (log.tickets.get(log.admitted.at(-1) as string) as Ticket).release();
  assert.deepEqual(log.admitted, ['x', 'l1', 'l2', 'l3', 'b1', 'l4', 'l5', 'l6', 'b2', 'l7', 'l8', 'l9', 'l10', 'l11', 'l12']);
});

test('shares do not bank while a class has nothing waiting', () => {
  const classes: AdmissionClass[] = [
    { name: 'ls', minShare: 0, shedOrder: 300 },
    { name: 'bulk', minShare: 0.5, shedOrder: 100 },
  ];
  const { log, send } = setup({ classes });
  send('x', 0);
  send('l1', 0);
  send('l2', 0);
  send('l3', 0);
  const next = (): void => (log.tickets.get(log.admitted.at(-1) as string) as Ticket).release();
  next();
  next(); // l1, l2 admitted with bulk not waiting: no credit
  send('b1', 1);
  next();
  assert.deepEqual(log.admitted, ['x', 'l1', 'l2', 'l3'], 'bulk earns 0.5, not yet a slot');
  next();
  assert.deepEqual(log.admitted.at(-1), 'b1');
});

test('queue full: the arrival evicts the newest request of the lowest shed order below it, else is shed', () => {
  const { ctrl, log, send, seen } = setup({ maxQueue: 3 });
  send('run', DEFAULT);
  send('b1', BULK);
  send('b2', BULK);
  send('d1', DEFAULT);
  assert.equal(ctrl.queued(), 3);
  send('b3', BULK);
  assert.deepEqual(log.shed, [{ id: 'b3', reason: 'queue-full' }], 'same class as the lowest waiting: shed itself');
  send('l1', LS);
  assert.deepEqual(log.shed.at(-1), { id: 'b2', reason: 'evicted' }, 'newest bulk makes room for latency-sensitive');
  send('d2', DEFAULT);
  assert.deepEqual(log.shed.at(-1), { id: 'b1', reason: 'evicted' });
  send('d3', DEFAULT);
  assert.deepEqual(log.shed.at(-1), { id: 'd3', reason: 'queue-full' }, 'no lower class left to evict');
  assert.equal(ctrl.queued(), 3);
  assert.deepEqual(seen.shed.map(([c, r]) => `${c}:${r}`), ['2:queue-full', '2:evicted', '2:evicted', '1:queue-full']);
});

test('maxQueue 0: nothing waits; saturated arrivals are shed', () => {
  const { log, send } = setup({ maxQueue: 0 });
  send('a', BULK);
  send('b', LS);
  assert.deepEqual(log.shed, [{ id: 'b', reason: 'queue-full' }]);
});

test('queue timeout: shed after queueTimeoutMs; the rest keep their place', () => {
  const { ctrl, timers, log, send, finish, seen } = setup({ timeoutMs: 100 });
  send('run', BULK);
  send('b1', BULK);
  timers.advance(60);
  send('l1', LS);
  timers.advance(50);
  assert.deepEqual(log.shed, [{ id: 'b1', reason: 'timeout' }]);
  assert.equal(ctrl.queued(), 1);
  finish('run');
  assert.deepEqual(log.admitted, ['run', 'l1']);
  assert.equal(timers.pending, 0, 'the admitted request\'s timer was cleared');
  assert.deepEqual(seen.admitted.at(-1), [LS, 50], 'queue time reported');
});

test('cancel (client left while waiting): leaves the queue, no slot used, no verdict', () => {
  const { ctrl, timers, log, send, finish } = setup();
  send('run', BULK);
  const t = send('l1', LS);
  send('l2', LS);
  t.cancel();
  assert.equal(ctrl.queued(), 1);
  finish('run');
  assert.deepEqual(log.admitted, ['run', 'l2']);
  assert.deepEqual(log.shed, []);
  timers.advance(5000);
  assert.deepEqual(log.shed, []);
});

test('release is idempotent and only for admitted tickets; in-flight never goes negative', () => {
  const { ctrl, send, finish } = setup({ limit: 2 });
  send('a', BULK);
  finish('a');
  finish('a');
  assert.equal(ctrl.inFlight, 0);
});

test('a growing limit admits waiting requests on the next release; the limiter sees latency and in-flight', () => {
  const samples: [number, number, boolean][] = [];
  const limit = {
    limit: 1,
    onSample(ms: number, inFlight: number, dropped: boolean) {
      samples.push([ms, inFlight, dropped]);
      this.limit = 3;
    },
  };
  const { timers, log, send, ctrl } = setup({ limit });
  send('a', BULK);
  send('b', BULK);
  send('c', BULK);
  send('d', BULK);
  timers.advance(20);
  (log.tickets.get('a') as Ticket).release(true);
  assert.deepEqual(samples, [[20, 1, true]]);
  assert.deepEqual(log.admitted, ['a', 'b', 'c', 'd']);
  assert.equal(ctrl.inFlight, 3);
});

test('maxShare: bulk holds at most its share of the limit, the rest stays free for higher classes', () => {
  const classes: AdmissionClass[] = [
    { name: 'ls', minShare: 0, shedOrder: 300 },
    { name: 'default', minShare: 0, shedOrder: 200 },
    { name: 'bulk', minShare: 0, maxShare: 0.5, shedOrder: 100 },
  ];
  const { ctrl, log, send, finish } = setup({ limit: 4, classes });
  for (const id of ['b1', 'b2', 'b3', 'b4']) send(id, BULK);
  // Two bulk in flight (half of 4), two waiting although two slots are free.
  assert.deepEqual(log.admitted, ['b1', 'b2']);
  assert.equal(ctrl.holding(BULK), 2);
  assert.equal(ctrl.queued(BULK), 2);
  // A latency-sensitive arrival takes a free slot at once: it does not wait behind bulk.
  send('l1', LS);
  send('d1', DEFAULT);
  assert.deepEqual(log.admitted, ['b1', 'b2', 'l1', 'd1']);
  // A bulk request ending lets the next bulk one in (its own slot), not more.
  finish('b1');
  assert.deepEqual(log.admitted, ['b1', 'b2', 'l1', 'd1', 'b3']);
  finish('l1');
  finish('d1');
  assert.deepEqual(log.admitted, ['b1', 'b2', 'l1', 'd1', 'b3'], 'slots freed by higher classes are not taken beyond the ceiling');
  assert.equal(ctrl.inFlight, 2);
  finish('b2');
  assert.deepEqual(log.admitted, ['b1', 'b2', 'l1', 'd1', 'b3', 'b4']);
});

test('maxShare: a class may always hold one request, and the ceiling follows the current limit', () => {
  const classes: AdmissionClass[] = [
    { name: 'ls', minShare: 0, shedOrder: 300 },
    { name: 'bulk', minShare: 0, maxShare: 0.3, shedOrder: 100 },
  ];
  const small = setup({ limit: 2, classes });
  small.send('b1', 1);
  small.send('b2', 1);
  assert.deepEqual(small.log.admitted, ['b1'], 'floor(0.3 × 2) = 0, yet one request may run');
  small.send('l1', 0);
  assert.deepEqual(small.log.admitted, ['b1', 'l1']);

  const limit = { limit: 10, onSample: () => undefined };
  const big = setup({ limit, classes });
  for (let i = 1; i <= 5; i++) big.send(`b${i}`, 1);
  assert.equal(big.ctrl.holding(1), 3, 'floor(0.3 × 10)');
  limit.limit = 20;
  big.ctrl.dispatch();
  assert.equal(big.ctrl.holding(1), 5, 'the limit grew: floor(0.3 × 20) = 6 ≥ 5 waiting');
});

test('maxShare: a waiting bulk request does not block a new arrival of a class below its ceiling', () => {
  const classes: AdmissionClass[] = [
    { name: 'ls', minShare: 0, shedOrder: 300 },
    { name: 'bulk', minShare: 0, maxShare: 0.5, shedOrder: 100 },
  ];
  const { log, send, timers } = setup({ limit: 2, classes, timeoutMs: 50 });
  send('b1', 1);
  send('b2', 1);
  send('l1', 0);
  assert.deepEqual(log.admitted, ['b1', 'l1']);
  // b2 still waits for b1; its queue timeout applies as usual.
  timers.advance(60);
  assert.deepEqual(log.shed, [{ id: 'b2', reason: 'timeout' }]);
});
