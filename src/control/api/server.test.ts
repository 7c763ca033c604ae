/**
 * The control plane API over HTTP, in-process, on a SqliteStore in a temporary directory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { docs, policy, route, service, SIDECAR } from '../../config/test-support.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { ApiServer } from './server.js';
import { ApiClient } from './client.js';
import type { ApiClientError } from './client.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-api-'));
const store = new SqliteStore({ dir, sweepIntervalMs: 20 });
const api = new ApiServer({ store });
let base = '';
let client: ApiClient;

before(async () => {
  const port = await api.listen('127.0.0.1', 0);
  base = `http://127.0.0.1:${port}`;
  client = new ApiClient(base);
});

after(async () => {
  await api.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const ROUTE_X = route('x', '  service: a\n  rules:\n    - backends: [{ service: a }]\n');

async function post(path: string, body: string | Buffer, type = 'application/yaml', headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
  const json = (await res.json()) as { error?: { code: string; message: string; errors: { source?: string; resource?: string; path: string; message: string }[] } } & Record<string, unknown>;
  return { status: res.status, json };
}

async function alive(): Promise<void> {
  const res = await fetch(`${base}/api/v1/resources`);
  assert.equal(res.status, 200);
  await res.arrayBuffer();
}

describe('apply', () => {
  test('valid resources are stored; a second apply reports them unchanged', async () => {
    const r = await post('/api/v1/apply', docs(service('a'), ROUTE_X), 'application/yaml', { 'x-strata-source': 'mesh.yaml' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok((r.json['revision'] as number) > 0);
    assert.deepEqual((r.json['results'] as { status: string }[]).map((x) => x.status), ['configured', 'configured']);
    const stored = await client.get('Route', 'default', 'x');
    assert.equal(stored.metadata.name, 'x');
    const again = await client.applyText(docs(service('a'), ROUTE_X), 'mesh.yaml');
    assert.deepEqual(again.results.map((x) => `${x.kind}/${x.name} ${x.status}`), ['Service/a unchanged', 'Route/x unchanged']);
  });

  test('JSON text is accepted too', async () => {
    const body = JSON.stringify({ apiVersion: 'strata.dev/v1alpha1', kind: 'Service', metadata: { name: 'j' }, spec: { protocol: 'http', endpoints: [{ address: '127.0.0.1', port: 8080 }] } });
    const r = await post('/api/v1/apply', body, 'application/json');
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  test('invalid YAML: 400 with the line, nothing stored', async () => {
    const before = await store.revision();
    const r = await post('/api/v1/apply', `${service('b')}---\nkind: [\n  oops: :\n`, 'application/yaml', { 'x-strata-source': 'bad.yaml' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error?.code, 'STRATA_API_INVALID');
    const e = r.json.error?.errors[0];
    assert.equal(e?.source, 'bad.yaml');
    assert.match(e?.message ?? '', /YAML syntax error at \d+:\d+/);
    assert.equal(await store.revision(), before);
    assert.equal(await store.get('Service', 'default', 'b'), undefined);
  });

  test('a dangling reference names the field; nothing of the batch is stored', async () => {
    const r = await post('/api/v1/apply', docs(service('c'), route('y', '  service: c\n  rules:\n    - backends: [{ service: gone }]\n')));
    assert.equal(r.status, 400);
    const e = r.json.error?.errors.find((x) => x.resource === 'Route/y');
    assert.equal(e?.path, 'spec.rules[0].backends[0].service');
    assert.match(e?.message ?? '', /unknown service "gone"/);
    assert.equal(await store.get('Service', 'default', 'c'), undefined);
    const p = await post('/api/v1/apply', policy('p', '  service: nope\n'));
    assert.equal(p.status, 400);
    assert.ok(p.json.error?.errors.some((x) => x.resource === 'TrafficPolicy/p' && x.path === 'spec.service'), JSON.stringify(p.json));
  });

  test('references resolve against stored resources', async () => {
    const r = await post('/api/v1/apply', route('z', '  service: a\n  rules:\n    - backends: [{ service: a }]\n'));
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });

  test('Sidecar is refused, naming the resource and kind', async () => {
    const r = await post('/api/v1/apply', SIDECAR);
    assert.equal(r.status, 400);
    const e = r.json.error?.errors[0];
    assert.equal(e?.resource, 'Sidecar/me');
    assert.equal(e?.path, 'kind');
  });

  test('duplicates within the batch are reported', async () => {
    const r = await post('/api/v1/apply', docs(service('d'), service('d')));
    assert.equal(r.status, 400);
    assert.ok(r.json.error?.errors.some((x) => x.resource === 'Service/d' && /duplicate/.test(x.message)));
  });

  test('a file batch attributes errors to each file', async () => {
    const files = [
      { source: 'one.yaml', text: service('e') },
      { source: 'two.yaml', text: route('w', '  service: e\n  rules:\n    - backends: [{ service: f }]\n') },
    ];
    const r = await post('/api/v1/apply', JSON.stringify({ files }), 'application/vnd.strata.files+json');
    assert.equal(r.status, 400);
    assert.deepEqual(r.json.error?.errors.map((x) => [x.source, x.resource, x.path]), [['two.yaml', 'Route/w', 'spec.rules[0].backends[0].service']]);
  });
});

describe('resources', () => {
  test('list, get, delete; missing → 404; unknown kind → 400', async () => {
    const all = await client.list('Service');
    assert.ok(all.items.some((r) => r.metadata.name === 'a'));
    const missing = await fetch(`${base}/api/v1/resources/Service/default/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'STRATA_API_NOT_FOUND');
    const unknown = await fetch(`${base}/api/v1/resources?kind=Bogus`);
    assert.equal(unknown.status, 400);
    await unknown.arrayBuffer();
    await client.applyText(service('gone-soon'));
    const d = await client.delete('Service', 'default', 'gone-soon');
    assert.equal(d.deleted.length, 1);
    await assert.rejects(client.delete('Service', 'default', 'gone-soon'), (e: ApiClientError) => e.status === 404);
  });

  test('deleting a referenced Service → 409 naming the referrers', async () => {
    await assert.rejects(client.delete('Service', 'default', 'a'), (e: ApiClientError) => {
      assert.equal(e.status, 409);
      assert.equal(e.code, 'STRATA_API_CONFLICT');
      assert.match(e.message, /Route\/x/);
      assert.ok(e.errors.some((x) => x.resource === 'Route/z' && x.path === 'spec.service'));
      return true;
    });
    assert.ok(await store.get('Service', 'default', 'a'));
  });
});

describe('endpoints', () => {
  test('register, heartbeat, list, deregister; expiry leaves the list', async () => {
    const { id } = await client.register({ service: 'a', address: '10.0.0.1', port: 8080 });
    assert.ok((await client.listEndpoints('a')).items.some((e) => e.id === id && e.ttlMs === 15_000));
    await client.heartbeat(id);
    await client.deregister(id);
    assert.ok(!(await client.listEndpoints('a')).items.some((e) => e.id === id));

    const short = await client.register({ service: 'a', address: '10.0.0.2', port: 8080, ttlMs: 100 });
    assert.ok((await client.listEndpoints()).items.some((e) => e.id === short.id));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!(await client.listEndpoints()).items.some((e) => e.id === short.id));
    await assert.rejects(client.heartbeat(short.id), (e: ApiClientError) => e.status === 404);
  });

  test('bad registrations → 400 with fields', async () => {
    const r = await post('/api/v1/endpoints', JSON.stringify({ service: 'a', address: 1, port: 'x', bogus: true }), 'application/json');
    assert.equal(r.status, 400);
    assert.deepEqual(r.json.error?.errors.map((e) => e.path).sort(), ['address', 'bogus', 'port']);
    const range = await post('/api/v1/endpoints', JSON.stringify({ service: 'a', address: 'h', port: 70000 }), 'application/json');
    assert.equal(range.status, 400);
    assert.ok(range.json.error?.errors.some((e) => e.path === 'port'));
    const notJson = await post('/api/v1/endpoints', '{', 'application/json');
    assert.equal(notJson.status, 400);
  });
});

describe('watch', () => {
  test('SSE delivers an event after an apply; the store watch closes when the client leaves', async () => {
    const from = await store.revision();
    const ac = new AbortController();
    const res = await fetch(`${base}/api/v1/watch?from=${from}`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    await client.applyText(service('watched'));
    let text = '';
    while (!/event: resource\.put/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    assert.match(text, /"name":"watched"/);
    ac.abort();
    await reader.cancel().catch(() => undefined);
    const watchers = (store as unknown as { watchers: Set<unknown> }).watchers;
    for (let i = 0; i < 50 && watchers.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(watchers.size, 0);
  });

  test('a bad revision → 400', async () => {
    const res = await fetch(`${base}/api/v1/watch?from=abc`);
    assert.equal(res.status, 400);
    await res.arrayBuffer();
  });
});

describe('bad requests', () => {
  test('wrong method → 405 with Allow; unknown path → 404; wrong content type → 415', async () => {
    const m = await fetch(`${base}/api/v1/apply`);
    assert.equal(m.status, 405);
    assert.equal(m.headers.get('allow'), 'POST');
    await m.arrayBuffer();
    const nf = await fetch(`${base}/nope`);
    assert.equal(nf.status, 404);
    await nf.arrayBuffer();
    const ct = await post('/api/v1/apply', 'x', 'image/png');
    assert.equal(ct.status, 415);
    const ct2 = await post('/api/v1/endpoints', '{}', 'text/yaml');
    assert.equal(ct2.status, 415);
    await alive();
  });

  test('a body over 4 MiB → 413, and the server keeps serving', async () => {
    const r = await post('/api/v1/apply', Buffer.alloc(4 * 1024 * 1024 + 1, 0x61));
    assert.equal(r.status, 413);
    assert.equal(r.json.error?.code, 'STRATA_API_BODY_TOO_LARGE');
    await alive();
  });

  test('invalid UTF-8 and bad batches → 400', async () => {
    assert.equal((await post('/api/v1/apply', Buffer.from([0xff, 0xfe, 0x00]))).status, 400);
    assert.equal((await post('/api/v1/apply', '{"files": 3}', 'application/vnd.strata.files+json')).status, 400);
    assert.equal((await post('/api/v1/apply', '[', 'application/vnd.strata.files+json')).status, 400);
  });

  test('a closed store → 503', async () => {
    const d = mkdtempSync(join(tmpdir(), 'strata-api-closed-'));
    const s = new SqliteStore({ dir: d });
    const a = new ApiServer({ store: s });
    try {
      const port = await a.listen('127.0.0.1', 0);
      await s.close();
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/resources`);
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'STRATA_API_UNAVAILABLE');
    } finally {
      await a.close();
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('random bodies to /apply never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), fc.jsonValue().map((v) => JSON.stringify(v))), fc.constantFrom('application/yaml', 'application/json', 'text/plain', 'application/vnd.strata.files+json'), async (body, type) => {
        const res = await fetch(`${base}/api/v1/apply`, { method: 'POST', headers: { 'content-type': type }, body });
        await res.arrayBuffer();
        assert.ok(res.status < 500, `status ${res.status}`);
      }),
      { numRuns: 150 },
    );
    await alive();
  });
});
