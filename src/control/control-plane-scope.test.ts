// Scoped push through a running control plane: what each client receives depends on the
// services its node metadata says it calls, and a change reaches only the clients it concerns.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeResource } from '../xds/protos.js';
import type { ApiClient } from './api/client.js';
import type { ControlPlane } from './control-plane.js';
import { startTestControlPlane } from './test-control-plane.js';
import type { TestControlPlane } from './test-control-plane.js';
import type { DiscoveryResponse } from './xds/ads-proto.js';
import type { SotwTestStream } from './xds/test-client.js';
import { CDS, EDS, LDS, RDS } from './xds/test-resources.js';

const svc = (name: string, ip: string, extra = ''): string =>
  `apiVersion: strata.dev/v1alpha1\nkind: Service\nmetadata: { name: ${name} }\nspec: { endpoints: [{ address: ${ip}, port: 80 }]${extra} }\n`;
const split = (v2: number): string =>
  `apiVersion: strata.dev/v1alpha1\nkind: Route\nmetadata: { name: web-split }\nspec:\n  service: web\n  rules:\n    - backends: [{ service: web, weight: ${100 - v2} }, { service: web-v2, weight: ${v2} }]\n`;

const names = (res: DiscoveryResponse): string[] =>
  res.resources
    .map((r) => {
      const m = decodeResource(r.type_url, r.value);
      return String(m['name'] ?? m['cluster_name']);
    })
    .sort();

describe('scoped push', { timeout: 60_000 }, () => {
  let t: TestControlPlane;
  let cp: ControlPlane;
  let api: ApiClient;

  before(async () => {
    t = await startTestControlPlane('scope');
    ({ cp, api } = t);
    await api.applyText([svc('web', '10.0.0.1'), svc('web-v2', '10.0.0.2'), svc('db', '10.0.0.3'), split(10)].join('---\n'), 'mesh.yaml');
    await new Promise<void>((resolve) => {
      if (cp.cache.get('mesh', CDS).resources.size === 3) return resolve();
      const off = cp.onUpdate(() => {
        if (cp.cache.get('mesh', CDS).resources.size === 3) {
          off();
          resolve();
        }
      });
    });
  });
  after(async () => {
    await t?.close();
  });

  /** Open a stream, subscribe every type (wildcard CDS/LDS), ACK everything; returns the first responses by type. */
  async function subscribe(id: string, deps?: string): Promise<{ s: SotwTestStream; first: Map<string, DiscoveryResponse> }> {
    const s = t.sotw();
    const node = { id, ...(deps !== undefined && { metadata: { fields: { 'strata.dependencies': { stringValue: deps } } } }) };
    const first = new Map<string, DiscoveryResponse>();
    s.send({ node, type_url: CDS });
    s.send({ node, type_url: LDS });
    while (first.size < 2) {
      const r = await s.next(10_000);
      first.set(r.type_url, r);
      s.send({ node, type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce });
    }
    // EDS and RDS name their resources, in the ACK too (an empty list would unsubscribe).
    const named = new Map([
      [EDS, names(first.get(CDS)!)],
      [RDS, names(first.get(LDS)!).includes('web') ? ['web-routes'] : []],
    ]);
    for (const [type_url, resource_names] of named) s.send({ node, type_url, resource_names });
    while (first.size < 4) {
      const r = await s.next(10_000);
      first.set(r.type_url, r);
      s.send({ node, type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce, resource_names: named.get(r.type_url)! });
    }
    return { s, first };
  }

  it('a client receives only what its dependencies reach; a client without metadata receives the mesh', async () => {
    const web = await subscribe('caller-of-web', 'web');
    assert.deepEqual(names(web.first.get(CDS)!), ['web', 'web-v2'], 'the split reaches web-v2');
    assert.deepEqual(names(web.first.get(LDS)!), ['web']);
    assert.deepEqual(names(web.first.get(EDS)!), ['web', 'web-v2']);
    const all = await subscribe('whole-mesh');
    assert.deepEqual(names(all.first.get(CDS)!), ['db', 'web', 'web-v2']);
    assert.deepEqual(names(all.first.get(LDS)!), ['db', 'web', 'web-v2']);
    const st = cp.ads.status();
    assert.equal(st.find((c) => c.nodeId === 'caller-of-web')?.group, 'deps:web');
    assert.equal(st.find((c) => c.nodeId === 'whole-mesh')?.group, 'mesh');

    // A change to db reaches the whole-mesh client, not the web caller.
    await api.applyText(svc('db', '10.0.0.9'), 'db.yaml');
    const eds = await all.s.next(10_000);
    assert.equal(eds.type_url, EDS);
    await web.s.none(500);

    // Dropping web-v2 from the split removes its cluster from the web caller.
    await api.applyText(
      `apiVersion: strata.dev/v1alpha1\nkind: Route\nmetadata: { name: web-split }\nspec:\n  service: web\n  rules:\n    - backends: [{ service: web }]\n`,
      'route.yaml',
    );
    const cds = await web.s.next(10_000);
    assert.equal(cds.type_url, CDS);
    assert.deepEqual(names(cds), ['web']);
  });

  it('clients with the same dependencies share a group; the group goes away with its last client', async () => {
    const a = await subscribe('db-caller-1', 'db');
    const b = await subscribe('db-caller-2', 'db');
    assert.deepEqual(names(a.first.get(CDS)!), ['db']);
    assert.equal(a.first.get(CDS)!.version_info, b.first.get(CDS)!.version_info);
    assert.ok(cp.cache.keys().includes('deps:db'));
    a.s.close();
    b.s.close();
    const deadline = Date.now() + 10_000;
    while (cp.cache.keys().includes('deps:db')) {
      assert.ok(Date.now() < deadline, 'group deps:db released');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
