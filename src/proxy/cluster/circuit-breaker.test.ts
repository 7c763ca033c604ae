import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CircuitBreakerSpec } from '../../config/snapshot.js';
import { CircuitBreaker } from './circuit-breaker.js';

type Kind = 'requests' | 'pending' | 'connections';
const ops: Record<Kind, { add: (b: CircuitBreaker) => boolean; remove: (b: CircuitBreaker) => void; max: keyof CircuitBreakerSpec }> = {
  requests: { add: (b) => b.tryStartRequest(), remove: (b) => b.endRequest(), max: 'maxRequests' },
  pending: { add: (b) => b.tryAddPending(), remove: (b) => b.removePending(), max: 'maxPending' },
  connections: { add: (b) => b.tryOpenConnection(), remove: (b) => b.closeConnection(), max: 'maxConnections' },
};

for (const kind of Object.keys(ops) as Kind[]) {
  const { add, remove, max } = ops[kind];
  const others = (Object.keys(ops) as Kind[]).filter((k) => k !== kind);

  test(`${kind}: admits up to the limit, then counts overflows`, () => {
    const spec: CircuitBreakerSpec = { maxRequests: 100, maxPending: 100, maxConnections: 100 };
    spec[max] = 2;
    const b = new CircuitBreaker(spec);
    assert.equal(add(b), true);
    assert.equal(b.open[kind], false);
    assert.equal(add(b), true);
    assert.equal(b[kind], 2);
    assert.equal(b.open[kind], true);
    assert.equal(add(b), false);
    assert.equal(add(b), false);
    assert.equal(b[kind], 2);
    assert.equal(b.overflow[kind], 2);
    for (const o of others) {
      assert.equal(b[o], 0, `${o} untouched`);
      assert.equal(b.overflow[o], 0, `${o} overflow untouched`);
      assert.equal(b.open[o], false);
    }
    remove(b);
    assert.equal(b[kind], 1);
    assert.equal(b.open[kind], false);
    assert.equal(add(b), true);
  });

  test(`${kind}: never negative`, () => {
    const b = new CircuitBreaker({ maxRequests: 1, maxPending: 1, maxConnections: 1 });
    remove(b);
    assert.equal(b[kind], 0);
    assert.equal(add(b), true);
    remove(b);
    remove(b);
    assert.equal(b[kind], 0);
    assert.equal(add(b), true);
    assert.equal(add(b), false, 'the extra removals did not create room');
  });
}

test('a limit of 0 admits nothing', () => {
  const b = new CircuitBreaker({ maxRequests: 0, maxPending: 0, maxConnections: 0 });
  assert.equal(b.tryStartRequest(), false);
  assert.equal(b.tryAddPending(), false);
  assert.equal(b.tryOpenConnection(), false);
  assert.deepEqual(b.overflow, { requests: 1, pending: 1, connections: 1 });
});

test('update keeps current counts: lowering refuses until below, raising admits at once', () => {
  const b = new CircuitBreaker({ maxRequests: 4, maxPending: 4, maxConnections: 4 });
  for (let i = 0; i < 4; i++) {
    assert.equal(b.tryStartRequest(), true);
    assert.equal(b.tryAddPending(), true);
    assert.equal(b.tryOpenConnection(), true);
  }
  b.update({ maxRequests: 2, maxPending: 2, maxConnections: 2 });
  assert.deepEqual([b.requests, b.pending, b.connections], [4, 4, 4]);
  assert.equal(b.tryStartRequest(), false);
  b.endRequest();
  b.endRequest();
  assert.equal(b.tryStartRequest(), false, '2 in flight, limit 2');
  b.endRequest();
  assert.equal(b.tryStartRequest(), true);

  b.update({ maxRequests: 10, maxPending: 10, maxConnections: 10 });
  assert.equal(b.tryAddPending(), true);
  assert.equal(b.tryOpenConnection(), true);
  assert.deepEqual([b.requests, b.pending, b.connections], [2, 5, 5]);
  assert.deepEqual(b.overflow, { requests: 2, pending: 0, connections: 0 });
});
