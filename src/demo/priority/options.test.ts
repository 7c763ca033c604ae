import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WORKLOAD, portsFrom } from '../../experiment/topology.js';
import { MAX_PRIORITY_BASE, PORT_SPAN, PRIORITY_DEFAULT_BASE, parsePriorityOptions, portList } from './options.js';

test('portList / PORT_SPAN: every port of the block, from base to base + PORT_SPAN', () => {
  const l = portList(portsFrom(20000));
  assert.equal(l[0], 20000);
  assert.equal(l[l.length - 1], 20000 + PORT_SPAN);
  assert.equal(new Set(l).size, l.length);
  assert.equal(l.length, 18);
  assert.equal(MAX_PRIORITY_BASE + PORT_SPAN, 65535);
});

test('parsePriorityOptions: defaults', () => {
  assert.deepEqual(parsePriorityOptions({}), {
    ok: true,
    value: { priority: true, lsRate: DEFAULT_WORKLOAD.lsRate, bulk: DEFAULT_WORKLOAD.bulkConcurrency, base: PRIORITY_DEFAULT_BASE },
  });
  assert.deepEqual(parsePriorityOptions({ priority: 'off', 'ls-rate': '12.5', bulk: '0', 'base-port': '0' }), {
    ok: true,
    value: { priority: false, lsRate: 12.5, bulk: 0, base: 0 },
  });
});

test('parsePriorityOptions: every bad value is refused with a message naming the option', () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ priority: 'maybe' }, /^--priority must be on or off, got 'maybe'$/],
    [{ 'ls-rate': '-1' }, /^--ls-rate must be .* got '-1'$/],
    [{ 'ls-rate': '0' }, /^--ls-rate /],
    [{ 'ls-rate': '1001' }, /^--ls-rate /],
    [{ 'ls-rate': 'fast' }, /^--ls-rate /],
    [{ bulk: '-2' }, /^--bulk must be a whole number .* got '-2'$/],
    [{ bulk: '1.5' }, /^--bulk /],
    [{ bulk: '257' }, /^--bulk /],
    [{ 'base-port': '80' }, /^--base-port must be 0 \(a free block\) or 1024-\d+ for --app priority/],
    [{ 'base-port': String(MAX_PRIORITY_BASE + 1) }, /^--base-port /],
    [{ 'base-port': 'x' }, /^--base-port /],
  ];
  for (const [values, re] of bad) {
    const r = parsePriorityOptions(values);
    assert.ok(!r.ok, JSON.stringify(values));
    if (!r.ok) assert.match(r.error, re);
  }
  assert.ok(parsePriorityOptions({ 'base-port': String(MAX_PRIORITY_BASE) }).ok);
});
