/**
 * Way 3 of propagation, measured: an app that knows nothing of Strata (a plain node:http server
 * that, for each inbound request, calls a backend through its sidecar's outbound proxy as
 * HTTP_PROXY would, forwarding no header) behind a real sidecar process with priority on. The
 * sidecar infers the class of each outbound call from the inbound requests in flight at the app.
 *
 * One class at a time: every outbound call carries it (100%). Two classes interleaved: a call is
 * classified only while every in-flight inbound request shares its class; otherwise it falls to
 * the policy (here `default`). It is never given the other class — the request that caused it is
 * itself in flight. The fraction classified correctly depends on the overlap, so it is printed,
 * not asserted (README, way 3, quotes a run).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePorts, request, startSidecar } from './lib/harness.js';
import type { SidecarProcess } from './lib/harness.js';

let sidecar: SidecarProcess;
let app: http.Server;
let backend: http.Server;
let inboundPort: number;
/** Request id → class the backend saw on the outbound call it caused. */
const seen = new Map<string, string>();
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

before(async () => {
  backend = http.createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '?';
    seen.set(id, String(req.headers['x-strata-priority']));
    res.end('ok');
  });
  const backendPort = await listen(backend);
  const [adminPort, inPort, proxyPort] = (await freePorts(3)) as [number, number, number];
  inboundPort = inPort;
  // The app: some work, one outbound call through the proxy (absolute-form, no headers copied), some more work.
  app = http.createServer((req, res) => {
    const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '?';
    req.resume();
    void (async () => {
      await sleep(Math.random() * 4);
      await new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: proxyPort, path: `http://backend/call?id=${id}`, headers: { host: 'backend' }, agent }, (r) => {
            r.resume();
            r.once('end', () => resolve());
          })
          .once('error', reject);
      });
      await sleep(Math.random() * 2);
      res.end('done');
    })().catch(() => res.writeHead(500).end());
  });
  const appPort = await listen(app);
  sidecar = await startSidecar(
    `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: web }
spec:
  service: web
  inbound: { port: ${inPort}, address: 127.0.0.1, appPort: ${appPort} }
  outbound: { proxyPort: ${proxyPort}, address: 127.0.0.1 }
  admin: { port: ${adminPort} }
  priority: {}
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: backend }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${backendPort} }]
`,
    adminPort,
  );
});

after(async () => {
  await sidecar?.stop();
  agent.destroy();
  for (const s of [app, backend]) {
    s?.closeAllConnections();
    s?.close();
  }
});

interface Outcome {
  correct: number;
  unclassified: number;
  wrong: number;
  total: number;
}

/** Send `n` inbound requests, `concurrency` at a time, request i of class classOf(i); count what the backend saw. */
async function run(tag: string, n: number, concurrency: number, classOf: (i: number) => string): Promise<Outcome> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const r = await request({ port: inboundPort, path: `/work?id=${tag}-${i}`, headers: { 'x-strata-priority': classOf(i) } });
      assert.equal(r.status, 200);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const out: Outcome = { correct: 0, unclassified: 0, wrong: 0, total: n };
  for (let i = 0; i < n; i++) {
    const got = seen.get(`${tag}-${i}`);
    if (got === classOf(i)) out.correct++;
    else if (got === 'default') out.unclassified++;
    else out.wrong++;
  }
  return out;
}

const pct = (x: number, total: number): string => `${((100 * x) / total).toFixed(1)}%`;

test('one class at a time: every outbound call of the app carries the inbound class (100%)', async () => {
  const sequential = await run('seq', 30, 1, () => 'latency-sensitive');
  assert.deepEqual(sequential, { correct: 30, unclassified: 0, wrong: 0, total: 30 });
  const concurrent = await run('one', 200, 16, () => 'bulk');
  assert.deepEqual(concurrent, { correct: 200, unclassified: 0, wrong: 0, total: 200 });
});

test('two classes interleaved: fraction inferred correctly, by concurrency (printed)', async () => {
  const rows: string[] = [];
  for (const concurrency of [2, 4, 8, 16]) {
    const o = await run(`mix${concurrency}`, 300, concurrency, (i) => (i % 2 === 0 ? 'latency-sensitive' : 'bulk'));
    const accuracy = (100 * o.correct) / o.total;
    assert.ok(accuracy >= 0 && accuracy <= 100);
    assert.equal(o.wrong, 0, 'never the other class: the causing request is itself in flight');
    rows.push(`  concurrency ${String(concurrency).padStart(2)}: correct ${pct(o.correct, o.total).padStart(6)}, unclassified (→ default) ${pct(o.unclassified, o.total).padStart(6)}, wrong ${o.wrong}`);
  }
  console.log(`inference with two classes interleaved (300 requests each, alternating latency-sensitive / bulk):\n${rows.join('\n')}`);
  const stats = await request({ port: sidecar.adminPort, path: '/stats' });
  const inferred = [...stats.body.matchAll(/strata_priority_classified_total\{direction="outbound",class="[^"]+",source="inferred"\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const correct = [...seen.values()].filter((c) => c !== 'default').length;
  assert.equal(inferred, correct, 'every classified outbound call is counted as inferred');
});
