/**
 * The `strata.priority` Listener: what the control plane encodes is what a sidecar decodes
 * (over the wire), and a bad one is refused with every field path (the NACK message).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import '../proxy/balancer/index.js';
import '../proxy/filters/index.js';
import { decodeResources } from '../config/decode.js';
import { compileMesh } from '../control/mesh-compile.js';
import type { FieldError } from '../errors.js';
import { LISTENER_TYPE_URL, TYPED_STRUCT_TYPE_URL, pack, unpack } from './protos.js';
import type { XdsAny, XdsMessage } from './protos.js';
import { nackMessage } from './from-xds.js';
import { PRIORITY_LISTENER_NAME, PRIORITY_TYPE_URL, decodePriorityTypedStruct, meshPriorityOf, priorityListenerToXds } from './priority-xds.js';
import type { MeshPrioritySpec } from './priority-xds.js';
import { overTheWire } from './test-support.js';
import { jsonToStruct } from './wkt.js';

const MESH = `apiVersion: strata.dev/v1alpha1
kind: PriorityClass
metadata: { name: gold }
spec: { rank: 400, dscp: 34, soPriority: 5, congestion: reno, minShare: 0.2, shedOrder: 50 }
---
apiVersion: strata.dev/v1alpha1
kind: PriorityClass
metadata: { name: bulk }
spec: { rank: 10, dscp: 8 }
---
apiVersion: strata.dev/v1alpha1
kind: PriorityPolicy
metadata: { name: b-ingress }
spec:
  defaultClass: bulk
  rules:
    - { name: partners, match: { apiKey: { values: [k1, k2] } }, trustIncoming: true }
    - name: checkout
      match:
        path: { regex: "/checkout/[0-9]+" }
        methods: [post, PUT]
        headers: [ { name: X-Tier, exact: gold }, { name: x-debug, present: true, invert: true }, { name: x-p, prefix: a }, { name: x-r, regex: "v[12]" } ]
      class: gold
---
apiVersion: strata.dev/v1alpha1
kind: PriorityPolicy
metadata: { name: a-internal }
spec:
  rules:
    - { match: { services: [Reports], path: { exact: /all } }, class: bulk }
    - { match: { path: { prefix: /x } }, class: latency-sensitive }
`;

function compiled(): MeshPrioritySpec {
  const d = decodeResources(MESH, 'mesh.yaml');
  assert.ok(d.ok, JSON.stringify(!d.ok && d.errors));
  const m = compileMesh(d.value, []);
  assert.ok(m.ok, JSON.stringify(!m.ok && m.errors));
  assert.ok(m.value.priority);
  return meshPriorityOf(m.value.priority);
}

/** The Listener as a sidecar sees it: encoded, decoded, and its TypedStruct unpacked. */
function received(listener: XdsMessage): { name: string; typedStruct: XdsMessage } {
  const l = overTheWire(LISTENER_TYPE_URL, listener);
  const inner = (l.api_listener as { api_listener: XdsAny }).api_listener;
  assert.equal(inner.type_url, TYPED_STRUCT_TYPE_URL);
  return { name: String(l.name), typedStruct: unpack(inner) };
}

/** A priority listener whose Struct holds `json` as is. */
function listenerWith(json: Record<string, unknown>, name = PRIORITY_LISTENER_NAME): XdsMessage {
  return { name, api_listener: { api_listener: pack(TYPED_STRUCT_TYPE_URL, { type_url: PRIORITY_TYPE_URL, value: jsonToStruct(json) }) } };
}

function errorsOf(d: ReturnType<typeof decodePriorityTypedStruct>): string[] {
  assert.ok('errors' in d, `expected errors, got ${JSON.stringify(d)}`);
  return d.errors.map((e: FieldError) => `${e.path}: ${e.message}`);
}

test('round trip: classes, every rule condition and the default class come back as compiled', () => {
  const p = compiled();
  assert.deepEqual(p.classes.map((c) => c.name), ['gold', 'latency-sensitive', 'default', 'bulk']);
  assert.equal(p.rules.length, 4);
  const listener = priorityListenerToXds(p);
  assert.equal(listener.name, PRIORITY_LISTENER_NAME);
  const { name, typedStruct } = received(listener);
  assert.equal(typedStruct.type_url, PRIORITY_TYPE_URL);
  const d = decodePriorityTypedStruct(name, typedStruct);
  assert.ok('value' in d, JSON.stringify(d));
  assert.deepEqual(d.value, p);
  assert.equal(d.name, PRIORITY_LISTENER_NAME);
});

test('the encoding is deterministic (one version per content)', () => {
  const a = pack(LISTENER_TYPE_URL, priorityListenerToXds(compiled()));
  const b = pack(LISTENER_TYPE_URL, priorityListenerToXds(compiled()));
  assert.deepEqual(a.value, b.value);
});

test('a bad priority listener is refused with every field path', () => {
  const good = compiled();
  const json = JSON.parse(JSON.stringify(good)) as { classes: Record<string, unknown>[]; rules: Record<string, unknown>[]; defaultClass?: string };
  json.classes[0]!.dscp = 99;
  json.classes[1]!.minShare = 'lots';
  json.classes[1]!.maxShare = 0;
  json.classes[2]!.congestion = 'no such thing!';
  json.classes[3]!.rank = 300; // latency-sensitive's rank, and out of order
  json.rules[0]!.class = 'platinum';
  (json.rules[1]!.match as Record<string, unknown>).path = { regex: '(' };
  (json.rules[2]!.match as Record<string, unknown>).headers = [{ name: 'x', match: { exact: 'a', prefix: 'b' } }];
  delete json.rules[3]!.name;
  delete json.defaultClass;
  const { name, typedStruct } = received(listenerWith(json));
  const errors = errorsOf(decodePriorityTypedStruct(name, typedStruct));
  const v = 'api_listener.api_listener.value';
  assert.deepEqual(errors, [
    `${v}.classes[0].dscp: must be an integer 0-63 (a DSCP code point, e.g. 46 for EF), got 99`,
    `${v}.classes[1].minShare: expected a number`,
    `${v}.classes[1].maxShare: must be above 0 and at most 1`,
    `${v}.classes[2].congestion: must be a congestion control name such as bbr, cubic or reno, got "no such thing!"`,
    `${v}.classes[3].rank: rank 300 is also the rank of classes[1]; ranks must be unique`,
    `${v}.classes[3].rank: classes must be in rank order, highest first (300 follows 200)`,
    `${v}.defaultClass: not set`,
    `${v}.rules[0].class: unknown priority class "platinum" (classes: gold, latency-sensitive, default, bulk)`,
    `${v}.rules[1].match.path.regex: invalid regular expression: Invalid regular expression: /^(?:()$/: Unterminated group`,
    `${v}.rules[2].match.headers[0].match: expected exactly one of exact, prefix, regex, present`,
    `${v}.rules[3].name: not set`,
  ]);
  // What the ADS client sends back as the NACK's error_detail.
  assert.match(nackMessage((decodePriorityTypedStruct(name, typedStruct) as { errors: FieldError[] }).errors), /classes\[0\]\.dscp: must be an integer 0-63.*; .*rules\[3\]\.name: not set$/);
});

test('shape errors: wrong name, wrong type_url, no classes, not a Struct', () => {
  const p = compiled();
  const wrongName = received(listenerWith(p as unknown as Record<string, unknown>, 'prio'));
  assert.deepEqual(errorsOf(decodePriorityTypedStruct(wrongName.name, wrongName.typedStruct)), [
    `name: a ${PRIORITY_TYPE_URL} listener must be named strata.priority, got "prio"`,
  ]);
  assert.deepEqual(errorsOf(decodePriorityTypedStruct(PRIORITY_LISTENER_NAME, { type_url: 'type.strata.dev/other', value: jsonToStruct({}) })), [
    `api_listener.api_listener.type_url: expected ${PRIORITY_TYPE_URL}, got "type.strata.dev/other"`,
  ]);
  assert.deepEqual(errorsOf(decodePriorityTypedStruct(PRIORITY_LISTENER_NAME, { type_url: PRIORITY_TYPE_URL, value: jsonToStruct({ defaultClass: 'default', rules: 'x' }) })), [
    'api_listener.api_listener.value.classes: not set',
    'api_listener.api_listener.value.rules: expected a list',
  ]);
  assert.deepEqual(errorsOf(decodePriorityTypedStruct(PRIORITY_LISTENER_NAME, { type_url: PRIORITY_TYPE_URL, value: 'junk' })), [
    'api_listener.api_listener.value: expected a google.protobuf.Struct',
  ]);
});
