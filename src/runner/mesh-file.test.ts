import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatFieldError } from '../errors.js';
import { decodeResources } from '../config/decode.js';
import { compileLocal } from '../proxy/xds/local.js';
import '../proxy/balancer/index.js';
import '../proxy/filters/index.js';
import { demoMeshValue, DEMO_SERVICES } from '../demo/mesh.js';
import { decodeMeshFile, validateMeshFile } from './mesh-file.js';
import { formatTable } from './table.js';
import { sidecarYaml } from './workload.js';

const errorsOf = (text: string): string[] => {
  const d = decodeMeshFile(text, 'mesh.yaml');
  assert.equal(d.ok, false, 'expected errors');
  return d.ok ? [] : d.errors.map(formatFieldError);
};

test('a minimal mesh file decodes with defaults', () => {
  const d = decodeMeshFile('workloads:\n  - { service: web, port: 8080, command: [node, app.js] }\n', 'mesh.yaml');
  assert.ok(d.ok, d.ok ? '' : d.errors.map(formatFieldError).join('\n'));
  assert.deepEqual(d.value.control, {});
  assert.deepEqual(d.value.resources, []);
  assert.deepEqual(d.value.apply, []);
  assert.deepEqual(d.value.workloads, [{ service: 'web', port: 8080, command: ['node', 'app.js'] }]);
});

test('examples/mesh.yaml is valid', () => {
  const path = fileURLToPath(new URL('../../../examples/mesh.yaml', import.meta.url));
  const d = decodeMeshFile(readFileSync(path, 'utf8'), path);
  assert.ok(d.ok, d.ok ? '' : d.errors.map(formatFieldError).join('\n'));
  assert.equal(d.value.resources.length, 3);
  assert.equal(d.value.workloads[1]?.replicas, 2);
});

test('every error carries the file and its field path', () => {
  const errs = errorsOf(`control: { apiPort: 0, extra: 1 }
resources:
  - { apiVersion: strata.dev/v1alpha1, kind: Service, metadata: { name: a }, spec: { protocol: nope } }
  - { kind: Nope }
workloads:
  - { service: web, port: 99999, command: [] }
  - { service: api, port: 80, command: "x", replica: 2, env: { "1BAD": x } }
`);
  const expected = [
    /^mesh\.yaml: control\.apiPort: must be between 1 and 65535 \(got 0\)$/,
    /^mesh\.yaml: control\.extra: unknown field "extra"$/,
    /^mesh\.yaml: workloads\[0\]\.port: must be between 1 and 65535 \(got 99999\)$/,
    /^mesh\.yaml: workloads\[0\]\.command: must be a non-empty list of strings/,
    /^mesh\.yaml: workloads\[1\]\.replica: unknown field "replica" \(did you mean "replicas"\?\)$/,
    /^mesh\.yaml: workloads\[1\]\.env\["1BAD"\]: /,
    /^mesh\.yaml: resources\[0\]\.spec\.protocol: must be one of http, http2, grpc, tcp/,
    /^mesh\.yaml: resources\[1\]\.kind: unknown kind "Nope"/,
  ];
  for (const re of expected) assert.ok(errs.some((e) => re.test(e)), `${re} in:\n${errs.join('\n')}`);
});

test('workloads are required, the file must be a mapping, YAML errors are located', () => {
  assert.deepEqual(errorsOf('control: {}\n'), ['mesh.yaml: workloads: required field missing']);
  assert.match(errorsOf('- a\n- b\n')[0] ?? '', /^mesh\.yaml: \(root\): expected a mapping/);
  assert.match(errorsOf('workloads: [\n')[0] ?? '', /^mesh\.yaml: \(root\): YAML syntax error at \d+:\d+/);
  assert.match(errorsOf('')[0] ?? '', /empty/);
});

test('fixed ports may not collide, across workloads, replicas and the control plane', () => {
  const errs = errorsOf(`control: { apiPort: 9000 }
workloads:
  - { service: a, port: 8080, replicas: 3, command: x }
  - { service: b, port: 8082, command: x, adminPort: 9000 }
  - { service: c, port: 65535, replicas: 2, command: x }
`);
  assert.deepEqual(errs, [
    'mesh.yaml: workloads[1].port: port 8082 is already used by workloads[0].port (replica 2)',
    'mesh.yaml: workloads[1].adminPort: port 9000 is already used by control.apiPort',
    'mesh.yaml: workloads[2].port: 2 replicas need ports 65535..65536, beyond 65535',
  ]);
});

test('the embedded demo mesh is valid, with a weighted split and a DAG with fan-out', () => {
  const apps = Object.fromEntries(DEMO_SERVICES.map((s, i) => [s.service, 20000 + i]));
  const d = validateMeshFile(demoMeshValue({ apps, frontendAdmin: 15000, frontendProxy: 15001 }), 'demo');
  assert.ok(d.ok, d.ok ? '' : d.errors.map(formatFieldError).join('\n'));
  assert.ok(d.value.workloads.length >= 5);
  const route = d.value.resources.find((r) => r.kind === 'Route' && r.metadata.name === 'pricing') as unknown as { spec: { rules: { backends: { service: string; weight: number }[] }[] } };
  assert.deepEqual(route.spec.rules[0]?.backends, [{ service: 'pricing-v1', weight: 80 }, { service: 'pricing-v2', weight: 20 }]);
  assert.ok(DEMO_SERVICES.some((s) => s.calls.length >= 2), 'fan-out');
});

test('the generated sidecar configuration compiles', () => {
  const yaml = sidecarYaml({ name: 'web-1', service: 'web', protocol: 'http2', dependencies: ['api', 'db'] }, { app: 8081, inbound: 15006, proxy: 15001, admin: 15000 });
  const d = decodeResources(yaml, 'gen');
  assert.ok(d.ok, d.ok ? '' : d.errors.map(formatFieldError).join('\n'));
  const s = compileLocal(d.value, 'gen');
  assert.ok(s.ok, s.ok ? '' : s.errors.map(formatFieldError).join('\n'));
  assert.equal(s.value.sidecar.service, 'web');
});

test('formatTable aligns columns', () => {
  assert.equal(formatTable(['A', 'LONGER'], [['xyz', '1'], ['', '22']]), 'A    LONGER\nxyz  1\n     22\n');
});
