import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { build, registerFakes } from '../test-support.js';

const sidecar = (amqp: string): string => `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: s }
spec:
  admin: { port: 15000 }
  amqp:
${amqp}
`;

before(() => registerFakes());

test('spec.amqp compiles with defaults: loopback, port 5672, the three default classes', () => {
  const r = build(sidecar('    port: 5673\n    upstream: { address: rabbit.local }\n    priorities: { bulk: 1, batch: 2 }\n    maxPriorityQueues: { pattern: "^work\\\\." }'));
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.deepEqual(r.value.sidecar.amqp, {
    port: 5673,
    address: '127.0.0.1',
    upstream: { address: 'rabbit.local', port: 5672 },
    priorities: { 'latency-sensitive': 9, default: 4, bulk: 1, batch: 2 },
    maxPriorityQueues: { pattern: '^work\\.', maxPriority: 10 },
  });
});

test('every amqp error is named by its field: port clash, priority range, class name, regex', () => {
  const r = build(
    sidecar('    port: 15000\n    upstream: { address: 127.0.0.1, port: 70000 }\n    priorities: { bulk: 300, "Not A Label": 1 }\n    maxPriorityQueues: { pattern: "(", maxPriority: 0 }'),
  );
  assert.equal(r.ok, false);
  const paths = !r.ok ? r.errors.map((e) => `${e.path}: ${e.message}`).join('\n') : '';
  assert.match(paths, /spec\.amqp\.upstream\.port/);
  assert.match(paths, /spec\.amqp\.priorities\.bulk: must be between 0 and 255/);
  assert.match(paths, /spec\.amqp\.priorities\["Not A Label"\]/);
  assert.match(paths, /spec\.amqp\.maxPriorityQueues\.maxPriority/);
  const regex = build(sidecar('    port: 15000\n    upstream: { address: 127.0.0.1 }\n    maxPriorityQueues: { pattern: "(" }'));
  assert.equal(regex.ok, false);
  const msgs = !regex.ok ? regex.errors.map((e) => `${e.path}: ${e.message}`).join('\n') : '';
  assert.match(msgs, /spec\.amqp\.maxPriorityQueues\.pattern: invalid regular expression/);
  assert.match(msgs, /spec\.amqp\.port: port 15000 is already used by spec\.admin\.port/);
});
