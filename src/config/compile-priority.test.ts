/**
 * PriorityClass / PriorityPolicy / Sidecar priority → Snapshot.priority: defaults, overrides,
 * rule compilation, and every bad input with its file, resource and field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileMesh } from '../control/mesh-compile.js';
import { decodeResources } from './decode.js';
import { formatFieldError } from '../errors.js';
import type { MarkingEnvironment } from '../net/marking.js';
import { machineEnvironment, setMachineEnvironment } from './compile-priority.js';
import { SIDECAR, build, docs, errorAt, errorsOf, registerFakes, service, valueOf } from './test-support.js';

registerFakes();

const cls = (name: string, spec: string): string => `apiVersion: strata.dev/v1alpha1
kind: PriorityClass
metadata: { name: ${name} }
spec: ${spec}
`;
const pol = (name: string, spec: string): string => `apiVersion: strata.dev/v1alpha1
kind: PriorityPolicy
metadata: { name: ${name} }
spec:
${spec}`;
const sidecarWith = (priority: string): string => `${SIDECAR}  priority:\n${priority}`;

test('no priority declared: Snapshot.priority is absent (nothing to do per request)', () => {
  const s = valueOf(build(docs(SIDECAR, service('a'))));
  assert.equal(s.priority, undefined);
});

test('a policy alone turns priority on with the three built-in classes, highest rank first', () => {
  const s = valueOf(build(docs(SIDECAR, pol('p', '  rules:\n    - { match: { path: { prefix: /x } }, class: bulk }\n'))));
  const p = s.priority;
  assert.ok(p);
  assert.deepEqual(
    p.classes.map((c) => [c.name, c.rank, c.dscp, c.soPriority, c.congestion, c.minShare]),
    [
      ['latency-sensitive', 300, 46, 6, 'bbr', 0],
      ['default', 200, 0, 0, undefined, 0.1],
      ['bulk', 100, 1, 2, 'reno', 0.05],
    ],
  );
  assert.equal(p.defaultClass, 'default');
  assert.equal(p.trustIncoming, true);
  assert.equal(p.pools, 'per-class');
  assert.deepEqual(p.rules, [{ name: 'p/rule-0', match: { path: { prefix: '/x' } }, class: 'bulk', trustIncoming: false }]);
  assert.equal(p.inbound, undefined);
});

test('a declared class overrides the built-in one of its name and new classes sort by rank', () => {
  const s = valueOf(build(docs(SIDECAR, cls('bulk', '{ rank: 10, dscp: 8, congestion: cubic }'), cls('gold', '{ rank: 400, minShare: 0.2 }'))));
  const p = s.priority;
  assert.ok(p);
  assert.deepEqual(p.classes.map((c) => c.name), ['gold', 'latency-sensitive', 'default', 'bulk']);
  const bulk = p.classes.find((c) => c.name === 'bulk');
  assert.deepEqual(bulk, { name: 'bulk', rank: 10, dscp: 8, congestion: 'cubic', minShare: 0, maxShare: 1, shedOrder: 10 });
});

test('rules: policies in name order, matches compiled (methods upper-case, header names lower-case, api key header default)', () => {
  const s = valueOf(
    build(
      docs(
        SIDECAR,
        pol('b', '  rules:\n    - { name: last, class: bulk }\n'),
        pol(
          'a',
          `  defaultClass: bulk
  rules:
    - name: keyed
      match: { apiKey: { values: [k1] }, methods: [get], headers: [{ name: X-A, exact: "1" }], services: [Api] }
      trustIncoming: true
`,
        ),
      ),
    ),
  );
  const p = s.priority;
  assert.ok(p);
  assert.equal(p.defaultClass, 'bulk');
  assert.deepEqual(p.rules, [
    {
      name: 'a/keyed',
      match: { methods: ['GET'], headers: [{ name: 'x-a', match: { exact: '1' } }], apiKey: { header: 'x-api-key', values: ['k1'] }, services: ['api'] },
      trustIncoming: true,
    },
    { name: 'b/last', match: {}, class: 'bulk', trustIncoming: false },
  ]);
});

test('sidecar priority block: admission specs with defaults, static and adaptive', () => {
  const s = valueOf(
    build(
      docs(
        sidecarWith(`    trustIncoming: false
    pools: shared
    inbound: { limit: { static: 8 }, maxQueue: 4 }
    outbound: { limit: { adaptive: { min: 2, max: 50 } }, queueTimeoutMs: 100 }
    services: { a: { limit: { static: 3 } } }
`),
        service('a'),
      ),
    ),
  );
  const p = s.priority;
  assert.ok(p);
  assert.equal(p.trustIncoming, false);
  assert.equal(p.pools, 'shared');
  assert.deepEqual(p.inbound, { limit: { kind: 'static', limit: 8 }, maxQueue: 4, queueTimeoutMs: 5000, retryAfterSeconds: 1 });
  assert.deepEqual(p.outbound, {
    limit: { kind: 'adaptive', min: 2, max: 50, initial: 4, tolerance: 2, windowMs: 30000, smoothing: 0.2 },
    maxQueue: 1024,
    queueTimeoutMs: 100,
    retryAfterSeconds: 1,
  });
  assert.deepEqual(p.services['a'], { limit: { kind: 'static', limit: 3 }, maxQueue: 1024, queueTimeoutMs: 5000, retryAfterSeconds: 1 });
});

test('gateway listener compiles with defaults', () => {
  const s = valueOf(build(docs(`${SIDECAR}  gateway: { port: 18080, defaultService: a }\n`, service('a'))));
  assert.deepEqual(s.sidecar.gateway, { port: 18080, address: '0.0.0.0', defaultService: 'a' });
  assert.ok(s.priority, 'a gateway turns priority on');
});

// ── bad input ────────────────────────────────────────────────────────────────────────────

test('bad classes: DSCP out of range, unknown congestion control, SO_PRIORITY, duplicate rank, shares over 1, duplicate name', () => {
  const errors = errorsOf(
    build(
      docs(
        SIDECAR,
        cls('a', '{ rank: 1, dscp: 64 }'),
        cls('b', '{ rank: 2, congestion: turbo }'),
        cls('c', '{ rank: 3, soPriority: -1 }'),
        cls('d', '{ rank: -1 }'),
        cls('e', '{ rank: 5, minShare: 1.5 }'),
        cls('f', '{ rank: 6, maxShare: 0 }'),
        cls('g', '{ rank: 9, minShare: 0.3, maxShare: 0.2 }'),
      ),
      'bad.yaml',
    ),
  );
  assert.match(errorAt(errors, 'spec.dscp', 'PriorityClass/a')?.message ?? '', /between 0 and 63/);
  assert.match(errorAt(errors, 'spec.congestion', 'PriorityClass/b')?.message ?? '', /one of bbr, cubic, reno/);
  assert.ok(errorAt(errors, 'spec.soPriority', 'PriorityClass/c'));
  assert.ok(errorAt(errors, 'spec.rank', 'PriorityClass/d'));
  assert.ok(errorAt(errors, 'spec.minShare', 'PriorityClass/e'));
  assert.ok(errorAt(errors, 'spec.maxShare', 'PriorityClass/f'));
  assert.match(errorAt(errors, 'spec.maxShare', 'PriorityClass/g')?.message ?? '', /at least minShare \(0\.3\)/);
  assert.ok(errors.every((e) => e.source === 'bad.yaml'));

  const cross = errorsOf(build(docs(SIDECAR, cls('x', '{ rank: 200 }'), cls('y', '{ rank: 7, minShare: 0.5 }'), cls('z', '{ rank: 8, minShare: 0.5 }'))));
  assert.match(errorAt(cross, 'spec.rank', 'PriorityClass/x')?.message ?? '', /rank 200 is also the rank of built-in class "default"/);
  assert.match(errorAt(cross, 'spec.minShare', 'PriorityClass/z')?.message ?? '', /adds up to 1\.15 .*at most 1/);

  const dup = errorsOf(build(docs(SIDECAR, cls('x', '{ rank: 7 }'), cls('y', '{ rank: 7 }'))));
  assert.match(errorAt(dup, 'spec.rank', 'PriorityClass/y')?.message ?? '', /also the rank of PriorityClass\/x/);
});

test('bad policies: unknown class (rule and default) with the known ones listed', () => {
  const errors = errorsOf(build(docs(SIDECAR, pol('p', '  defaultClass: gold\n  rules:\n    - { class: bulk }\n    - { class: platinum }\n'))));
  assert.match(errorAt(errors, 'spec.defaultClass', 'PriorityPolicy/p')?.message ?? '', /unknown priority class "gold" \(classes: latency-sensitive, default, bulk\)/);
  assert.match(errorAt(errors, 'spec.rules[1].class', 'PriorityPolicy/p')?.message ?? '', /unknown priority class "platinum"/);
  assert.equal(errors.length, 2);
});

test('bad policies: no class, bad matches, duplicate rule names', () => {
  const errors = errorsOf(
    build(
      docs(
        SIDECAR,
        pol(
          'p',
          `  rules:
    - { class: bulk }
    - { match: { path: { prefix: /a } } }
    - { match: { path: { prefix: a } }, class: bulk }
    - { match: { path: { exact: /a, prefix: /b } }, class: bulk }
    - { match: { headers: [{ name: x, regex: "(" }] }, class: bulk }
    - { name: r, class: bulk }
    - { name: r, class: bulk }
`,
        ),
      ),
    ),
  );
  assert.match(errorAt(errors, 'spec.rules[1]', 'PriorityPolicy/p')?.message ?? '', /set class, trustIncoming: true, or both/);
  assert.match(errorAt(errors, 'spec.rules[2].match.path.prefix', 'PriorityPolicy/p')?.message ?? '', /must start with/);
  assert.ok(errorAt(errors, 'spec.rules[3].match.path.prefix', 'PriorityPolicy/p'));
  assert.match(errorAt(errors, 'spec.rules[4].match.headers[0].regex', 'PriorityPolicy/p')?.message ?? '', /invalid regular expression/);
  assert.match(errorAt(errors, 'spec.rules[6].name', 'PriorityPolicy/p')?.message ?? '', /duplicate rule name/);
});

test('two default classes: the second policy (by name) is the error', () => {
  const errors = errorsOf(build(docs(SIDECAR, pol('q', '  defaultClass: bulk\n'), pol('r', '  defaultClass: default\n'))));
  assert.match(errorAt(errors, 'spec.defaultClass', 'PriorityPolicy/r')?.message ?? '', /already set by PriorityPolicy\/q/);
});

test('bad sidecar priority block: both limits, none, adaptive min above max, initial out of range, unknown field', () => {
  const errors = errorsOf(
    build(
      sidecarWith(`    inbound: { limit: { static: 4, adaptive: {} } }
    outbound: { limit: {} }
    services:
      a: { limit: { adaptive: { min: 10, max: 5 } } }
      b: { limit: { adaptive: { min: 2, max: 5, initial: 9 } } }
`),
    ),
  );
  assert.match(errorAt(errors, 'spec.priority.inbound.limit.adaptive')?.message ?? '', /exactly one of static \| adaptive/);
  assert.match(errorAt(errors, 'spec.priority.outbound.limit')?.message ?? '', /exactly one of static \| adaptive/);
  assert.match(errorAt(errors, 'spec.priority.services.a.limit.adaptive.max')?.message ?? '', /at least min \(10\)/);
  assert.match(errorAt(errors, 'spec.priority.services.b.limit.adaptive.initial')?.message ?? '', /between min \(2\) and max \(5\)/);

  const unknown = errorsOf(build(sidecarWith('    inbund: { limit: { static: 1 } }\n')));
  assert.ok(unknown.some((e) => e.path.startsWith('spec.priority') && /unknown field/.test(e.message)), JSON.stringify(unknown));
  const zero = errorsOf(build(sidecarWith('    inbound: { limit: { static: 0 } }\n')));
  assert.ok(errorAt(zero, 'spec.priority.inbound.limit.static'));
  const clash = errorsOf(build(`${SIDECAR}  admin: { port: 18080 }\n  gateway: { port: 18080 }\n`));
  assert.match(errorAt(clash, 'spec.gateway.port')?.message ?? '', /already used by spec\.admin\.port/);
});

test('the control plane compiles the same classes and policies (and reports the same errors)', () => {
  const good = decodeResources(docs(cls('gold', '{ rank: 400 }'), pol('p', '  rules:\n    - { class: gold }\n')), 'mesh.yaml');
  assert.ok(good.ok);
  const mesh = compileMesh(good.value, []);
  assert.ok(mesh.ok);
  assert.deepEqual(mesh.value.priority?.classes.map((c) => c.name), ['gold', 'latency-sensitive', 'default', 'bulk']);
  const bad = decodeResources(pol('p', '  rules:\n    - { class: gold }\n'), 'mesh.yaml');
  assert.ok(bad.ok);
  const r = compileMesh(bad.value, []);
  assert.ok(!r.ok);
  assert.ok(r.errors.some((e) => e.path === 'spec.rules[0].class' && e.resource === 'PriorityPolicy/p'));
});

test('examples/priority.yaml is valid', () => {
  const path = fileURLToPath(new URL('../../../examples/priority.yaml', import.meta.url));
  const s = valueOf(build(readFileSync(path, 'utf8'), path));
  assert.ok(s.priority);
  assert.deepEqual(s.priority.classes.map((c) => c.name), ['latency-sensitive', 'default', 'bulk', 'batch']);
});

// ---- socket options against the machine (net/marking.ts checkClassOptions) ------------------

/** A machine offering reno, bbr and cubic, unprivileged sockets limited to reno and bbr. */
const MACHINE: MarkingEnvironment = { available: ['reno', 'bbr', 'cubic'], allowed: ['reno', 'bbr'], netAdmin: false, supported: true };

function withMachine<T>(env: MarkingEnvironment, f: () => T): T {
  setMachineEnvironment(env);
  try {
    return f();
  } finally {
    setMachineEnvironment(undefined);
  }
}

test('sidecar compile: a congestion control this machine lacks is an error with file, resource and field', () => {
  const errors = withMachine(MACHINE, () => errorsOf(build(docs(SIDECAR, cls('x', '{ rank: 400, congestion: vegas }')), 'prio.yaml')));
  assert.deepEqual(errors.map(formatFieldError), [
    "prio.yaml: PriorityClass/x: spec.congestion: TCP congestion control 'vegas' is not available: /proc/sys/net/ipv4/tcp_available_congestion_control lists reno bbr cubic",
  ]);
});

test('sidecar compile: privileges — SO_PRIORITY above 6 and a congestion control not allowed need CAP_NET_ADMIN', () => {
  const text = docs(SIDECAR, cls('htb', '{ rank: 400, soPriority: 65552, congestion: cubic }'));
  const errors = withMachine(MACHINE, () => errorsOf(build(text)));
  assert.match(errorAt(errors, 'spec.soPriority', 'PriorityClass/htb')?.message ?? '', /65552 needs CAP_NET_ADMIN/);
  assert.match(errorAt(errors, 'spec.congestion', 'PriorityClass/htb')?.message ?? '', /'cubic' is available but not allowed without CAP_NET_ADMIN/);
  withMachine({ ...MACHINE, netAdmin: true }, () => valueOf(build(text)));
});

test('sidecar compile: built-in classes are not checked (latency-sensitive asks for bbr, absent here)', () => {
  withMachine({ ...MACHINE, available: ['reno'] }, () => valueOf(build(docs(SIDECAR, pol('p', '  rules:\n    - { class: latency-sensitive }\n')))));
});

test('mesh compile (control plane): ranges only, the sidecars\' machines may differ', () => {
  const d = decodeResources(docs(cls('x', '{ rank: 400, congestion: vegas, soPriority: 65552 }')), 'mesh.yaml');
  assert.ok(d.ok, JSON.stringify(!d.ok && d.errors));
  const m = withMachine({ ...MACHINE, available: ['reno'] }, () => compileMesh(d.value, []));
  assert.ok(m.ok, JSON.stringify(!m.ok && m.errors));
  assert.equal(m.value.priority?.classes.find((c) => c.name === 'x')?.congestion, 'vegas');
});

test('the machine is read once and kept; where socket options cannot be set, only ranges are checked', () => {
  setMachineEnvironment(undefined);
  const first = machineEnvironment();
  assert.equal(machineEnvironment(), first);
  if (first.supported && first.available) {
    const missing = ['vegas', 'westwood', 'htcp'].find((a) => !first.available?.includes(a));
    if (missing) {
      const errors = errorsOf(build(docs(SIDECAR, cls('x', `{ rank: 400, congestion: ${missing} }`))));
      assert.match(errorAt(errors, 'spec.congestion', 'PriorityClass/x')?.message ?? '', /is not available/);
    }
  }
});
