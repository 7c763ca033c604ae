import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PrioritySpec } from '../../config/snapshot.js';
import { InFlightClasses } from './infer.js';
import { PriorityState } from './state.js';
import type { ClassSource, PriorityMetricsSink } from './state.js';

test('InFlightClasses: a class only while every in-flight request shares it', () => {
  const f = new InFlightClasses();
  assert.equal(f.inferred(), undefined);
  f.enter('bulk');
  f.enter('bulk');
  assert.equal(f.inferred(), 'bulk');
  f.enter('latency-sensitive');
  assert.equal(f.inferred(), undefined, 'mixed');
  f.leave('bulk');
  f.leave('bulk');
  assert.equal(f.inferred(), 'latency-sensitive');
  f.leave('latency-sensitive');
  f.leave('latency-sensitive'); // an extra leave (never entered) changes nothing
  assert.equal(f.inferred(), undefined);
  assert.deepEqual(f.snapshot(), {});
});

const spec = (over: Partial<PrioritySpec> = {}): PrioritySpec => ({
  classes: [
    { name: 'latency-sensitive', rank: 300, minShare: 0, maxShare: 1, shedOrder: 300 },
    { name: 'default', rank: 200, minShare: 0.1, maxShare: 1, shedOrder: 200 },
    { name: 'bulk', rank: 100, minShare: 0.05, maxShare: 1, shedOrder: 100 },
  ],
  defaultClass: 'default',
  rules: [],
  trustIncoming: true,
  pools: 'per-class',
  services: {},
  ...over,
});

function recorder(): { sink: PriorityMetricsSink; seen: string[] } {
  const seen: string[] = [];
  const sink: PriorityMetricsSink = {
    priorityAdmitted: () => undefined,
    priorityQueued: () => undefined,
    priorityShed: () => undefined,
    priorityClassified: (direction: string, cls: string, source: ClassSource) => seen.push(`${direction} ${cls} ${source}`),
  };
  return { sink, seen };
}

test('classifyAndMark: outbound requests without a class take the inferred one; explicit wins; gateway and inbound never infer', () => {
  const { sink, seen } = recorder();
  const s = new PriorityState(spec(), sink);
  const name = (role: 'inbound' | 'outbound' | 'gateway', headers: Record<string, string> = {}): string => {
    const h: Record<string, string | string[] | undefined> = { ...headers };
    return s.policy.names[s.classifyAndMark('GET', '/', h, 'api', role)] as string;
  };
  assert.equal(name('outbound'), 'default');
  s.inFlight.enter('bulk');
  assert.equal(s.inferredClass(), 'bulk');
  assert.equal(name('outbound'), 'bulk');
  assert.equal(name('outbound', { 'x-strata-priority': 'latency-sensitive' }), 'latency-sensitive');
  assert.equal(name('outbound', { baggage: 'strata.priority=latency-sensitive' }), 'latency-sensitive');
  assert.equal(name('inbound'), 'default');
  assert.equal(name('gateway'), 'default');
  assert.deepEqual(seen, [
    'outbound default none',
    'outbound bulk inferred',
    'outbound latency-sensitive explicit',
    'outbound latency-sensitive explicit',
    'inbound default none',
    'outbound default none',
  ]);

  // Counts carry over to the next snapshot's state; a class that no longer exists infers nothing.
  const next = new PriorityState(spec(), sink, s);
  assert.equal(next.inferredClass(), 'bulk');
  const renamed = new PriorityState(spec({ classes: [{ name: 'gold', rank: 1, minShare: 0, maxShare: 1, shedOrder: 1 }], defaultClass: 'gold' }), sink, next);
  assert.equal(renamed.inferredClass(), undefined);
  assert.equal(renamed.policy.names[renamed.classifyAndMark('GET', '/', {}, 'api', 'outbound')], 'gold');
});

test('classifyAndMark: with trustIncoming off an inferred class counts only where a rule trusts it, like a forwarded one', () => {
  const s = new PriorityState(
    spec({
      trustIncoming: false,
      rules: [{ name: 'p/internal', match: { path: { prefix: '/internal' } }, trustIncoming: true }],
    }),
    undefined,
  );
  s.inFlight.enter('bulk');
  const cls = (path: string): string => s.policy.names[s.classifyAndMark('GET', path, {}, 'api', 'outbound')] as string;
  assert.equal(cls('/public'), 'default');
  assert.equal(cls('/internal/x'), 'bulk');
});
