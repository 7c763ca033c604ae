/**
 * Admission by priority class at a sidecar's inbound side, against a real upstream that
 * holds every request until the test lets it go (static concurrency limit 1). Ordering is
 * asserted by arrival at the upstream, never by timing; every step waits for an event (a
 * request held upstream, a queue length in /stats, a response).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { freePorts, request, startSidecar, startUpstream, waitFor } from './lib/harness.js';
import type { Fetched, SidecarProcess, Upstream } from './lib/harness.js';

let up: Upstream;
let sc: SidecarProcess;
let inbound: number;
let admin: number;
/** Requests the upstream holds, oldest first. */
const held: { id: string; res: http.ServerResponse }[] = [];
/** Arrival order at the upstream (x-id). */
const arrivals: string[] = [];

before(async () => {
  up = await startUpstream('app', (req, res) => {
    const id = String(req.headers['x-id']);
    arrivals.push(`${id}:${String(req.headers['x-strata-priority'])}`);
    held.push({ id, res });
    return true;
  });
  [inbound, admin] = (await freePorts(2)) as [number, number];
  sc = await startSidecar(
    `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: app }
spec:
  service: app
  inbound: { port: ${inbound}, address: 127.0.0.1, appPort: ${up.port} }
  admin: { port: ${admin} }
  priority:
    inbound:
      limit: { static: 1 }
      maxQueue: 6
      queueTimeoutMs: 60000
      retryAfterSeconds: 2
---
apiVersion: strata.dev/v1alpha1
kind: PriorityClass
metadata: { name: bulk }
spec: { rank: 100, dscp: 1, congestion: reno, minShare: 0.25 }
`,
    admin,
  );
});

after(async () => {
  for (const h of held) h.res.destroy();
  await sc?.stop();
  await up?.close();
});

async function stat(name: string, labels: string): Promise<number> {
  const body = (await request({ port: admin, path: '/stats' })).body;
  const line = body.split('\n').find((l) => l.startsWith(`${name}{`) && labels.split(',').every((kv) => l.includes(kv)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const queued = (cls: string): Promise<number> => stat('strata_priority_queue_length', `scope="inbound",class="${cls}"`);

function send(id: string, cls: string): Promise<Fetched> {
  return request({ port: inbound, path: `/${id}`, headers: { 'x-id': id, 'x-strata-priority': cls }, timeoutMs: 60_000 });
}

/** Send and wait until the sidecar queued it (so arrival order at the sidecar is the order of the calls). */
async function sendQueued(id: string, cls: string, expectQueued: number): Promise<{ response: Promise<Fetched> }> {
  const response = send(id, cls);
  await waitFor(`${id} queued (${cls} queue = ${expectQueued})`, async () => (await queued(cls)) === expectQueued);
  return { response };
}

/** Let the oldest held request finish and wait for the next arrival upstream. */
async function releaseOne(expectArrivals: number): Promise<void> {
  const h = held.shift();
  assert.ok(h, 'a request is held upstream');
  h.res.writeHead(200).end(h.id);
  await waitFor(`arrival #${expectArrivals}`, () => arrivals.length >= expectArrivals);
}

test('saturated: latency-sensitive first, bulk keeps its minimum share, the lowest class is shed with 503 + Retry-After', async () => {
  const first = send('a', 'bulk');
  await waitFor('a held upstream', () => held.length === 1);

  const pending: Promise<Fetched>[] = [first];
  pending.push((await sendQueued('b1', 'bulk', 1)).response);
  const b2 = (await sendQueued('b2', 'bulk', 2)).response;
  for (let i = 1; i <= 4; i++) pending.push((await sendQueued(`l${i}`, 'latency-sensitive', i)).response);

  // The queue is full (6): another bulk request is shed at once.
  const b3 = await send('b3', 'bulk');
  assert.equal(b3.status, 503);
  assert.equal(b3.headers['x-strata-error'], 'STRATA_SHED');
  assert.equal(b3.headers['retry-after'], '2');
  assert.match(b3.body, /class bulk/);

  // A latency-sensitive arrival takes the place of the newest bulk one.
  const l5 = send('l5', 'latency-sensitive');
  pending.push(l5);
  const evicted = await b2;
  assert.equal(evicted.status, 503);
  assert.equal(evicted.headers['x-strata-error'], 'STRATA_SHED');
  assert.equal(evicted.headers['retry-after'], '2');
  assert.match(evicted.body, /taken by a higher class/);
  await waitFor('l5 queued', async () => (await queued('latency-sensitive')) === 5);

  // Release one at a time: every 4th slot is bulk's (minShare 0.25) while it waits.
  for (let n = 2; n <= 7; n++) await releaseOne(n);
  const h = held.shift();
  h?.res.writeHead(200).end(h.id);
  assert.deepEqual(arrivals, ['a:bulk', 'l1:latency-sensitive', 'l2:latency-sensitive', 'l3:latency-sensitive', 'b1:bulk', 'l4:latency-sensitive', 'l5:latency-sensitive']);
  for (const r of await Promise.all(pending)) assert.equal(r.status, 200);

  assert.equal(await stat('strata_priority_shed_total', 'scope="inbound",class="bulk",reason="queue-full"'), 1);
  assert.equal(await stat('strata_priority_shed_total', 'scope="inbound",class="bulk",reason="evicted"'), 1);
  assert.equal(await stat('strata_priority_admitted_total', 'scope="inbound",class="latency-sensitive"'), 5);
  assert.equal(await stat('strata_priority_admitted_total', 'scope="inbound",class="bulk"'), 2);
  assert.equal(await stat('strata_priority_queued_total', 'scope="inbound",class="latency-sensitive"'), 5);
  assert.ok((await stat('strata_priority_queue_seconds_total', 'scope="inbound",class="latency-sensitive"')) > 0);
  assert.equal(await stat('strata_priority_concurrency', 'scope="inbound",value="in_flight"'), 0);
});

test('a client that leaves while queued frees its place; the next request is served', async () => {
  const a = send('c1', 'bulk');
  await waitFor('c1 held', () => held.length === 1);
  const ac = new AbortController();
  const gone = fetch(`http://127.0.0.1:${inbound}/c2`, { headers: { 'x-id': 'c2', 'x-strata-priority': 'latency-sensitive' }, signal: ac.signal }).catch(() => 'aborted');
  await waitFor('c2 queued', async () => (await queued('latency-sensitive')) === 1);
  ac.abort();
  assert.equal(await gone, 'aborted');
  await waitFor('c2 left the queue', async () => (await queued('latency-sensitive')) === 0);
  const c3 = (await sendQueued('c3', 'bulk', 1)).response;
  const before = arrivals.length;
  await releaseOne(before + 1);
  assert.equal(arrivals.at(-1), 'c3:bulk');
  const h = held.shift();
  h?.res.writeHead(200).end(h.id);
  assert.equal((await a).status, 200);
  assert.equal((await c3).status, 200);
});

test('outbound: admission per upstream cluster; a request that waits past queueTimeoutMs gets 503 STRATA_QUEUE_TIMEOUT', async () => {
  const [local, admin2] = (await freePorts(2)) as [number, number];
  const out = await startSidecar(
    `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: web }
spec:
  service: web
  outbound: { ports: [{ port: ${local}, service: app }] }
  admin: { port: ${admin2} }
  priority:
    outbound: { limit: { static: 100 } }
    services:
      app: { limit: { static: 1 }, queueTimeoutMs: 300 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: app }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${up.port} }]
`,
    admin2,
  );
  try {
    const start = arrivals.length;
    const first = request({ port: local, path: '/t1', headers: { 'x-id': 't1' } });
    await waitFor('t1 held', () => arrivals.length === start + 1);
    const second = await request({ port: local, path: '/t2', headers: { 'x-id': 't2', 'x-strata-priority': 'latency-sensitive' } });
    assert.equal(second.status, 503);
    assert.equal(second.headers['x-strata-error'], 'STRATA_QUEUE_TIMEOUT');
    assert.equal(second.headers['retry-after'], '1');
    assert.match(second.body, /class latency-sensitive waited 300 ms/);
    assert.equal(arrivals.length, start + 1, 't2 never reached the upstream');
    const h = held.shift();
    h?.res.writeHead(200).end(h.id);
    assert.equal((await first).status, 200);
    const body = (await request({ port: admin2, path: '/stats' })).body;
    assert.match(body, /strata_priority_shed_total\{scope="app",class="latency-sensitive",reason="timeout"\} 1/);
  } finally {
    await out.stop();
  }
});
