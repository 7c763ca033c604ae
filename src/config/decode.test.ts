import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import type { Decoded } from '../errors.js';
import { decodeResources } from './decode.js';
import { allKinds } from './json-schema.js';
import { originOf } from './resources.js';
import { SIDECAR, docs, errorAt, errorsOf, exampleText, route, service, valueOf } from './test-support.js';

test('the example decodes into its six resources, namespaces defaulted', () => {
  const resources = valueOf(decodeResources(exampleText(), 'examples/sidecar.yaml'));
  assert.deepEqual(
    resources.map((r) => `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`),
    [
      'Sidecar/default/frontend',
      'Service/default/backend',
      'Service/default/backend-canary',
      'Service/default/db',
      'Route/default/backend',
      'TrafficPolicy/default/backend',
    ],
  );
  assert.deepEqual(originOf(resources[2]!), { source: 'examples/sidecar.yaml', document: 'document #3' });
});

test('JSON, top-level lists and empty documents are accepted', () => {
  const json = JSON.stringify([
    { apiVersion: 'strata.dev/v1alpha1', kind: 'Sidecar', metadata: { name: 'a', namespace: 'prod' }, spec: {} },
    { apiVersion: 'strata.dev/v1alpha1', kind: 'Service', metadata: { name: 'b' }, spec: { endpoints: [] } },
  ]);
  const rs = valueOf(decodeResources(json, 'c.json'));
  assert.deepEqual(rs.map((r) => r.metadata.namespace), ['prod', 'default']);
  assert.deepEqual(valueOf(decodeResources('', 'e.yaml')), []);
  assert.equal(valueOf(decodeResources(`---\n# only a comment\n---\n${SIDECAR}---\n`, 'e.yaml')).length, 1);
});

test('a YAML syntax error is reported with its line and column', () => {
  const text = `${SIDECAR}---\napiVersion: strata.dev/v1alpha1\nkind: Service\nmetadata: { name: x\nspec: {}\n`;
  const errors = errorsOf(decodeResources(text, 'bad.yaml'));
  assert.ok(errors.length >= 1);
  const e = errors[0]!;
  assert.equal(e.source, 'bad.yaml');
  assert.equal(e.resource, 'document #2');
  assert.match(e.message, /^YAML syntax error at \d+:\d+: /);
  const [, line] = /at (\d+):/.exec(e.message) ?? [];
  assert.ok(Number(line) >= 9, `line ${line} should point into the second document`);
});

test('duplicate keys in a mapping are syntax errors', () => {
  const errors = errorsOf(decodeResources('a: 1\na: 2\n', 'dup.yaml'));
  assert.match(errors[0]!.message, /YAML syntax error at 2:1: .*unique/);
});

test('envelope errors name the field', () => {
  const cases: [string, string, RegExp][] = [
    ['kind: Sidecar\nmetadata: { name: a }\nspec: {}\n', 'apiVersion', /required field missing/],
    ['apiVersion: strata.dev/v1\nkind: Sidecar\nmetadata: { name: a }\nspec: {}\n', 'apiVersion', /unsupported apiVersion "strata.dev\/v1"/],
    ['apiVersion: strata.dev/v1alpha1\nmetadata: { name: a }\nspec: {}\n', 'kind', /required field missing/],
    ['apiVersion: strata.dev/v1alpha1\nkind: Servise\nmetadata: { name: a }\nspec: {}\n', 'kind', /unknown kind "Servise" \(did you mean "Service"\?\); known kinds: .*Route/],
    ['apiVersion: strata.dev/v1alpha1\nkind: Sidecar\nspec: {}\n', 'metadata', /required field missing/],
    ['apiVersion: strata.dev/v1alpha1\nkind: Sidecar\nmetadata: { name: Bad_Name }\nspec: {}\n', 'metadata.name', /DNS label/],
    ['apiVersion: strata.dev/v1alpha1\nkind: Sidecar\nmetadata: { name: a }\n', 'spec', /required field missing/],
    ['apiVersion: strata.dev/v1alpha1\nkind: Sidecar\nmetadata: { name: a }\nspec: {}\nstatus: {}\n', 'status', /unknown field "status"/],
    ['- 1\n', '', /must be a mapping/],
  ];
  for (const [text, path, message] of cases) {
    const errors = errorsOf(decodeResources(text, 'x.yaml'));
    const e = errorAt(errors, path);
    assert.ok(e, `${JSON.stringify(text)}: no error at ${path}: ${JSON.stringify(errors)}`);
    assert.match(e.message, message);
    assert.equal(e.source, 'x.yaml');
  }
});

test('a resource without a usable name is called by its document number', () => {
  const errors = errorsOf(decodeResources(`${SIDECAR}---\n${SIDECAR}---\nkind: Service\nspec: {}\n`, 'x.yaml'));
  assert.ok(errors.every((e) => e.resource === 'document #3'));
});

test('spec errors: wrong type, unknown field, missing field, enum, range', () => {
  const text = docs(
    service('a').replace('port: 8080', 'port: "8080"'),
    route('r', '  service: a\n  rules:\n    - matchh: {}\n      backends: [{ service: a }]\n'),
    'apiVersion: strata.dev/v1alpha1\nkind: Service\nmetadata: { name: b }\nspec: { protocol: htp }\n',
    `apiVersion: strata.dev/v1alpha1\nkind: Sidecar\nmetadata: { name: s }\nspec:\n  inbound: { port: 70000 }\n`,
  );
  const errors = errorsOf(decodeResources(text, 'x.yaml'));
  const expect: [string, string, RegExp][] = [
    ['Service/a', 'spec.endpoints[0].port', /expected an integer, got "8080"/],
    ['Route/r', 'spec.rules[0].matchh', /unknown field "matchh" \(did you mean "match"\?\)/],
    ['Sidecar/s', 'spec.inbound.appPort', /required field missing/],
    ['Service/b', 'spec.protocol', /must be one of http, http2, grpc, tcp \(got "htp"\)/],
    ['Sidecar/s', 'spec.inbound.port', /must be between 1 and 65535 \(got 70000\)/],
  ];
  for (const [resource, path, message] of expect) {
    const e = errorAt(errors, path, resource);
    assert.ok(e, `no error at ${resource} ${path}: ${JSON.stringify(errors, null, 1)}`);
    assert.match(e.message, message);
    assert.equal(e.source, 'x.yaml');
  }
  assert.equal(errors.length, expect.length, JSON.stringify(errors, null, 1));
});

test('rule checks: bad regex, zero weights, both or neither action, duplicate listener port', () => {
  const text = docs(
    route(
      'r',
      `  service: a
  rules:
    - match: { path: { prefix: /ok } }
      backends: [{ service: a }]
    - match: { path: { regex: "/v[0-9+" } }
      backends: [{ service: a }]
    - backends: [{ service: a, weight: 0 }, { service: b, weight: 0 }]
    - directResponse: { status: 200 }
      backends: [{ service: a }]
    - match: { path: { exact: /x, prefix: /y } }
      directResponse: { status: 204 }
`,
    ),
    `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: s }
spec:
  inbound: { port: 15001, appPort: 8080 }
  outbound: { proxyPort: 15001 }
`,
  );
  const errors = errorsOf(decodeResources(text, 'x.yaml'));
  const expect: [string, RegExp][] = [
    ['spec.rules[1].match.path.regex', /invalid regular expression/],
    ['spec.rules[2].backends', /weights must add up to more than 0/],
    ['spec.rules[3].directResponse', /exactly one of backends \| directResponse/],
    ['spec.rules[4].match.path.prefix', /exactly one of exact \| prefix \| regex/],
    ['spec.outbound.proxyPort', /port 15001 is already used by spec.inbound.port/],
  ];
  for (const [path, message] of expect) {
    const e = errorAt(errors, path);
    assert.ok(e, `no error at ${path}: ${JSON.stringify(errors, null, 1)}`);
    assert.match(e.message, message);
  }
  assert.equal(errors.length, expect.length, JSON.stringify(errors, null, 1));
});

test('every error of every document is reported', () => {
  const text = docs(
    'apiVersion: strata.dev/v1alpha1\nkind: Nope\nmetadata: { name: a }\nspec: {}\n',
    service('b').replace('port: 8080', 'port: 0').replace('address: 127.0.0.1', 'address: "http://x"'),
    'apiVersion: strata.dev/v1alpha1\nkind: Sidecar\nmetadata: { name: c, extra: 1 }\nspec: { upstreamProtocol: h3 }\n',
  );
  const errors = errorsOf(decodeResources(text, 'many.yaml'));
  assert.deepEqual(
    errors.map((e) => `${e.resource} ${e.path}`),
    [
      'Nope/a kind',
      'Service/b spec.endpoints[0].address',
      'Service/b spec.endpoints[0].port',
      'Sidecar/c metadata.extra',
      'Sidecar/c spec.upstreamProtocol',
    ],
  );
});

/** A result, with every error well-formed and none from the last-resort exception guard. */
function assertHandled(r: Decoded<unknown>): void {
  if (r.ok) return;
  assert.ok(r.errors.length > 0);
  for (const e of r.errors) {
    assert.equal(typeof e.path, 'string');
    assert.ok(e.message.length > 0);
    assert.doesNotMatch(e.message, /^cannot parse:/);
  }
}

test('decodeResources never throws on arbitrary text', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
      assertHandled(decodeResources(text, 'fuzz.yaml'));
    }),
    { numRuns: 500 },
  );
});

test('decodeResources never throws on arbitrary JSON values, nor YAML renderings of them', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
      assertHandled(decodeResources(JSON.stringify(value), 'fuzz.json'));
      assertHandled(decodeResources(stringify(value), 'fuzz.yaml'));
    }),
    { numRuns: 300 },
  );
});

test('decodeResources never throws on resource-shaped documents with arbitrary specs', () => {
  const spec = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record({
      service: fc.constantFrom('a', 'b', 'A'),
      rules: fc.array(
        fc.record(
          {
            match: fc.jsonValue({ maxDepth: 3 }),
            backends: fc.jsonValue({ maxDepth: 2 }),
            directResponse: fc.jsonValue({ maxDepth: 2 }),
            retries: fc.jsonValue({ maxDepth: 2 }),
            rewrite: fc.jsonValue({ maxDepth: 2 }),
          },
          { requiredKeys: [] },
        ),
      ),
      endpoints: fc.jsonValue({ maxDepth: 3 }),
      loadBalancer: fc.jsonValue({ maxDepth: 3 }),
    }, { requiredKeys: [] }),
  );
  const resource = fc.record({
    apiVersion: fc.constantFrom('strata.dev/v1alpha1', 'v1'),
    kind: fc.constantFrom(...allKinds(), 'Other'),
    metadata: fc.record({ name: fc.constantFrom('a', 'b-1', ''), namespace: fc.constantFrom('default', 'x') }, { requiredKeys: ['name'] }),
    spec,
  });
  fc.assert(
    fc.property(fc.array(resource, { maxLength: 4 }), (rs) => {
      assertHandled(decodeResources(JSON.stringify(rs), 'fuzz.json'));
    }),
    { numRuns: 300 },
  );
});
