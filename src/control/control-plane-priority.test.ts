// Request priority over xDS through a running control plane: PriorityClass / PriorityPolicy
// applied through the REST API reach Strata sidecars as the LDS resource `strata.priority`
// (whatever their dependencies), and only them: not proxyless gRPC clients, not Envoy.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LISTENER_TYPE_URL, decodeResource, unpack } from '../xds/protos.js';
import type { XdsAny } from '../xds/protos.js';
import { decodePriorityTypedStruct } from '../xds/priority-xds.js';
import type { ApiClient } from './api/client.js';
import type { ControlPlane } from './control-plane.js';
import { startTestControlPlane } from './test-control-plane.js';
import type { TestControlPlane } from './test-control-plane.js';
import type { DiscoveryResponse } from './xds/ads-proto.js';
import type { SotwTestStream } from './xds/test-client.js';

const SERVICE = 'apiVersion: strata.dev/v1alpha1\nkind: Service\nmetadata: { name: x }\nspec: { endpoints: [{ address: 10.0.0.1, port: 80 }] }\n';
const PRIORITY = (prefix: string): string => `apiVersion: strata.dev/v1alpha1
kind: PriorityClass
metadata: { name: gold }
spec: { rank: 400, dscp: 34 }
---
apiVersion: strata.dev/v1alpha1
kind: PriorityPolicy
metadata: { name: p }
spec:
  rules: [ { match: { path: { prefix: ${prefix} } }, class: gold } ]
`;

const meta = (fields: Record<string, string>): { fields: Record<string, { stringValue: string }> } => ({
  fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, { stringValue: v }])),
});

const names = (res: DiscoveryResponse): string[] => res.resources.map((r) => String(decodeResource(r.type_url, r.value)['name'])).sort();

function priorityOf(res: DiscoveryResponse): unknown {
  const any = res.resources.find((r) => decodeResource(r.type_url, r.value)['name'] === 'strata.priority');
  assert.ok(any, 'strata.priority in LDS');
  const l = decodeResource(any.type_url, any.value);
  const d = decodePriorityTypedStruct(String(l.name), unpack((l.api_listener as { api_listener: XdsAny }).api_listener));
  assert.ok('value' in d, JSON.stringify(d));
  return d.value;
}

describe('priority over xDS', { timeout: 60_000 }, () => {
  let t: TestControlPlane;
  let cp: ControlPlane;
  let api: ApiClient;

  before(async () => {
    t = await startTestControlPlane('cp-priority');
    ({ cp, api } = t);
  });
  after(async () => {
    await t?.close();
  });

  /** A wildcard LDS subscription; returns the stream after its first response (ACKed). */
  async function lds(id: string, metadata?: Record<string, string>): Promise<{ s: SotwTestStream; first: DiscoveryResponse; ack: (r: DiscoveryResponse) => void }> {
    const s = t.sotw();
    const node = { id, ...(metadata && { metadata: meta(metadata) }) };
    const ack = (r: DiscoveryResponse): void => s.send({ node, type_url: LISTENER_TYPE_URL, version_info: r.version_info, response_nonce: r.nonce });
    s.send({ node, type_url: LISTENER_TYPE_URL });
    const first = await s.next(10_000);
    assert.equal(first.type_url, LISTENER_TYPE_URL);
    ack(first);
    return { s, first, ack };
  }

  it('sidecars receive strata.priority in LDS, scoped or not; proxyless gRPC and Envoy do not', async () => {
    await api.applyText([SERVICE, PRIORITY('/checkout')].join('---\n'), 'mesh.yaml');
    await new Promise<void>((resolve) => {
      if (cp.cache.get('full:mesh', LISTENER_TYPE_URL).resources.has('strata.priority')) return resolve();
      const off = cp.onUpdate(() => {
        off();
        resolve();
      });
    });

    const sidecar = await lds('sidecar-1', { 'strata.kind': 'sidecar', 'strata.dependencies': 'x' });
    assert.deepEqual(names(sidecar.first), ['strata.priority', 'x']);
    const p = priorityOf(sidecar.first) as { classes: { name: string }[]; rules: { name: string; class: string }[]; defaultClass: string };
    assert.deepEqual(p.classes.map((c) => c.name), ['gold', 'latency-sensitive', 'default', 'bulk']);
    assert.deepEqual(p.rules.map((r) => [r.name, r.class]), [['p/rule-0', 'gold']]);
    assert.equal(p.defaultClass, 'default');

    const nothing = await lds('sidecar-2', { 'strata.kind': 'sidecar', 'strata.dependencies': '' });
    assert.deepEqual(names(nothing.first), ['strata.priority'], 'mesh-wide: a sidecar that depends on nothing yet gets it too');

    const proxyless = await lds('grpc-1');
    assert.deepEqual(names(proxyless.first), ['x']);
    const envoy = await lds('envoy-1', { 'strata.kind': 'envoy' });
    assert.deepEqual(names(envoy.first), ['x']);
    const st = cp.ads.status();
    assert.equal(st.find((c) => c.nodeId === 'sidecar-1')?.group, 'full:deps:x');
    assert.equal(st.find((c) => c.nodeId === 'envoy-1')?.group, 'envoy:mesh');

    // A rule change reaches sidecars only.
    await api.applyText(PRIORITY('/pay'), 'priority.yaml');
    const next = await sidecar.s.next(10_000);
    assert.equal(next.type_url, LISTENER_TYPE_URL);
    const changed = priorityOf(next) as { rules: { match: unknown }[] };
    assert.deepEqual(changed.rules[0]?.match, { path: { prefix: '/pay' } });
    sidecar.ack(next);
    await proxyless.s.none(300);
    await envoy.s.none(0);

    // Deleting the kinds removes the resource (LDS is full state).
    await api.delete('PriorityPolicy', 'default', 'p');
    await api.delete('PriorityClass', 'default', 'gold');
    let last = await sidecar.s.next(10_000);
    sidecar.ack(last);
    while (names(last).includes('strata.priority')) {
      last = await sidecar.s.next(10_000);
      sidecar.ack(last);
    }
    assert.deepEqual(names(last), ['x']);
    assert.equal(cp.ads.status().find((c) => c.nodeId === 'sidecar-1')?.lastNack, undefined);
  });
});
