/**
 * The sidecar's HTTP/1.1 data path against real processes: local upstream port, HTTP_PROXY
 * forward proxy (absolute-form), routing (matchers, splits, rewrite, direct responses),
 * keep-alive, chunked bodies, 100-continue, timeouts, retries and error bodies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import net from 'node:net';
import { freePorts, request, startSidecar, startUpstream } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

const exec = promisify(execFile);

/** Complete responses in a byte stream (content-length or chunked bodies; 1xx heads skipped). */
function parseResponses(text: string): { status: number; body: string }[] {
  const out: { status: number; body: string }[] = [];
  let i = 0;
  while (true) {
    const end = text.indexOf('\r\n\r\n', i);
    if (end < 0) return out;
    const head = text.slice(i, end);
    const status = Number(head.slice(9, 12));
    let j = end + 4;
    let body = '';
    if (/transfer-encoding: chunked/i.test(head)) {
      while (true) {
        const eol = text.indexOf('\r\n', j);
        if (eol < 0) return out;
        const size = parseInt(text.slice(j, eol), 16);
        if (size === 0) {
          if (text.length < eol + 4) return out;
          j = eol + 4;
          break;
        }
        if (text.length < eol + 2 + size + 2) return out;
        body += text.slice(eol + 2, eol + 2 + size);
        j = eol + 2 + size + 2;
      }
    } else {
      const n = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
      if (text.length < j + n) return out;
      body = text.slice(j, j + n);
      j += n;
    }
    if (status >= 200) out.push({ status, body });
    i = j;
  }
}

/**
 * One raw connection: write each piece (a piece with `waitFor` waits until that text has
 * arrived), collect until `count` complete responses arrived; returns their bodies (JSON echoes).
 */
function rawExchange(port: number, pieces: { write: string; waitFor?: string }[], count: number): Promise<{ url: string; body: string }[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let next = 0;
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`timed out; got ${JSON.stringify(text)}`));
    }, 15_000);
    const pump = (): void => {
      while (next < pieces.length) {
        const p = pieces[next] as { write: string; waitFor?: string };
        if (p.waitFor !== undefined && !text.includes(p.waitFor)) return;
        s.write(p.write);
        next++;
      }
    };
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      pump();
      const rs = parseResponses(text);
      if (rs.length >= count) {
        clearTimeout(t);
        s.destroy();
        resolve(rs.map((r) => JSON.parse(r.body) as { url: string; body: string }));
      }
    });
    s.on('error', reject);
    pump();
  });
}

describe('sidecar HTTP/1.1', () => {
  let sc: SidecarProcess;
  let a: Upstream;
  let b: Upstream;
  let flaky: Upstream;
  let flakyCalls = 0;
  let admin = 0;
  let proxyPort = 0;
  let localPort = 0;
  let deadPort = 0;
  let localDead = 0;

  before(async () => {
    a = await startUpstream('a');
    b = await startUpstream('b');
    flaky = await startUpstream('flaky', (_req, res) => {
      flakyCalls++;
      if (flakyCalls % 2 === 1) {
        res.writeHead(503).end('try again');
        return true;
      }
      return false;
    });
    [admin, proxyPort, localPort, deadPort, localDead] = (await freePorts(5)) as [number, number, number, number, number];
    const yaml = `
apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: client }
spec:
  service: client
  outbound:
    proxyPort: ${proxyPort}
    ports:
      - { port: ${localPort}, service: web }
      - { port: ${localDead}, service: dead }
  admin: { port: ${admin} }
  limits: { maxBodyBytes: 100000, headerTimeoutMs: 1500 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: web }
spec:
  protocol: http
  aliases: [web.example]
  endpoints: [ { address: 127.0.0.1, port: ${a.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: web-b }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${b.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: flaky }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${flaky.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: dead }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${deadPort} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: web }
spec:
  service: web
  rules:
    - name: health
      match: { path: { exact: /healthz } }
      directResponse: { status: 200, body: "healthy\\n" }
    - name: to-b-by-header
      match:
        path: { prefix: / }
        headers: [ { name: x-pick, exact: b } ]
      backends: [ { service: web-b } ]
    - name: only-delete
      match: { path: { prefix: /delete-only }, methods: [DELETE] }
      backends: [ { service: web-b } ]
    - name: regex
      match: { path: { regex: "/items/[0-9]+" } }
      backends: [ { service: web-b } ]
    - name: rewrite
      match: { path: { prefix: /old/ } }
      rewrite: { prefix: /new/ }
      backends: [ { service: web } ]
    - name: split
      match: { path: { prefix: /split } }
      backends: [ { service: web, weight: 50 }, { service: web-b, weight: 50 } ]
    - name: slow
      match: { path: { prefix: /slow } }
      timeoutMs: 300
      backends: [ { service: web } ]
    - name: mutate
      match: { path: { prefix: /mutate } }
      backends: [ { service: web } ]
      filters:
        - name: header-mutation
          config:
            request: { set: { x-added: "yes" }, remove: [x-secret] }
            response: { set: { x-resp: "mutated" } }
    - name: default
      match: { path: { prefix: / } }
      backends: [ { service: web } ]
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: flaky }
spec:
  service: flaky
  rules:
    - name: retried
      match: { path: { prefix: / } }
      backends: [ { service: flaky } ]
      retries: { attempts: 2, on: [5xx], backoff: { baseMs: 5, maxMs: 20 } }
`;
    sc = await startSidecar(yaml, admin);
  });

  after(async () => {
    await sc?.stop();
    await Promise.all([a?.close(), b?.close(), flaky?.close()]);
  });

  test('local upstream port forwards to the service, with hop-by-hop headers removed', async () => {
    const r = await request({ port: localPort, path: '/hello?x=1', headers: { 'x-custom': 'v', 'proxy-connection': 'keep-alive' } });
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body);
    assert.equal(echo.upstream, 'a');
    assert.equal(echo.url, '/hello?x=1');
    assert.equal(echo.headers['x-custom'], 'v');
    assert.equal(echo.headers['proxy-connection'], undefined);
  });

  test('HTTP_PROXY forward proxy routes absolute-form requests by service name (curl -x)', async () => {
    const { stdout } = await exec('curl', ['-s', '-x', `http://127.0.0.1:${proxyPort}`, 'http://web/via-proxy']);
    assert.equal(JSON.parse(stdout).upstream, 'a');
    const alias = await exec('curl', ['-s', '-x', `http://127.0.0.1:${proxyPort}`, 'http://web.example:8080/alias']);
    assert.equal(JSON.parse(alias.stdout).url, '/alias');
  });

  test('an app honouring HTTP_PROXY is meshed without code changes', async () => {
    const { stdout } = await exec('curl', ['-s', 'http://web/env-proxy'], { env: { ...process.env, http_proxy: `http://127.0.0.1:${proxyPort}` } });
    assert.equal(JSON.parse(stdout).url, '/env-proxy');
  });

  test('unknown service gets 404 naming the host and the known services', async () => {
    const r = await request({ port: proxyPort, path: '/', host: 'nope' });
    assert.equal(r.status, 404);
    assert.equal(r.headers['x-strata-error'], 'STRATA_NO_ROUTE');
    assert.match(r.body, /'nope' is not a known service/);
    assert.match(r.body, /web/);
  });

  test('routing: direct response, header match, method match, regex, rewrite', async () => {
    const health = await request({ port: localPort, path: '/healthz' });
    assert.equal(health.status, 200);
    assert.equal(health.body, 'healthy\n');
    assert.equal(JSON.parse((await request({ port: localPort, path: '/x', headers: { 'x-pick': 'b' } })).body).upstream, 'b');
    assert.equal(JSON.parse((await request({ port: localPort, path: '/delete-only', method: 'DELETE' })).body).upstream, 'b');
    assert.equal(JSON.parse((await request({ port: localPort, path: '/delete-only', method: 'GET' })).body).upstream, 'a');
    assert.equal(JSON.parse((await request({ port: localPort, path: '/items/42' })).body).upstream, 'b');
    assert.equal(JSON.parse((await request({ port: localPort, path: '/items/abc' })).body).upstream, 'a');
    const rw = JSON.parse((await request({ port: localPort, path: '/old/thing?q=1' })).body);
    assert.equal(rw.url, '/new/thing?q=1');
  });

  test('weighted split sends traffic to both backends', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++) seen.add(JSON.parse((await request({ port: localPort, path: '/split' })).body).upstream);
    assert.deepEqual([...seen].sort(), ['a', 'b']);
  });

  test('header mutation filter on request and response', async () => {
    const r = await request({ port: localPort, path: '/mutate', headers: { 'x-secret': 's' } });
    const echo = JSON.parse(r.body);
    assert.equal(echo.headers['x-added'], 'yes');
    assert.equal(echo.headers['x-secret'], undefined);
    assert.equal(r.headers['x-resp'], 'mutated');
  });

  test('keep-alive: many requests reuse one downstream connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: localPort, path: `/ka/${i}`, agent }, (res) => {
            ports.add(res.socket.localPort ?? 0);
            res.resume();
            res.on('end', resolve);
          })
          .on('error', reject);
      });
    }
    agent.destroy();
    assert.equal(ports.size, 1);
  });

  test('chunked request body streams through', async () => {
    const body = 'x'.repeat(50_000);
    const r = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: localPort, path: '/chunked', method: 'POST', agent: false }, (res) => {
        let s = '';
        res.on('data', (c) => (s += c));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.write(body.slice(0, 20_000));
      req.write(body.slice(20_000));
      req.end();
    });
    const echo = JSON.parse(r);
    assert.equal(echo.body.length, 50_000);
    assert.equal(echo.headers['transfer-encoding'], 'chunked');
  });

  test('Expect: 100-continue is honoured (curl waits for 100 and sends the body)', async () => {
    const { stdout } = await exec('curl', ['-s', '-H', 'Expect: 100-continue', '--data-binary', 'continued-body', `http://127.0.0.1:${localPort}/continue`]);
    assert.equal(JSON.parse(stdout).body, 'continued-body');
  });

  test('pipelined requests on one connection are answered in order', async () => {
    const got = await rawExchange(
      localPort,
      [{ write: 'GET /slow/200 HTTP/1.1\r\nHost: web\r\n\r\nGET /p2 HTTP/1.1\r\nHost: web\r\n\r\nPOST /p3 HTTP/1.1\r\nHost: web\r\ncontent-length: 3\r\n\r\nabcGET /p4 HTTP/1.1\r\nHost: web\r\n\r\n' }],
      4,
    );
    assert.deepEqual(
      got.map((e) => [e.url, e.body]),
      [
        ['/slow/200', ''],
        ['/p2', ''],
        ['/p3', 'abc'],
        ['/p4', ''],
      ],
    );
  });

  test('a request that needs node:http (Expect: 100-continue) after others on the same connection is served from that request on', async () => {
    const got = await rawExchange(
      localPort,
      [
        { write: 'GET /first HTTP/1.1\r\nHost: web\r\n\r\nPOST /second HTTP/1.1\r\nHost: web\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n' },
        { write: 'body', waitFor: 'HTTP/1.1 100 Continue' },
        { write: 'GET /third HTTP/1.1\r\nHost: web\r\n\r\n', waitFor: '"url":"/second"' },
      ],
      3,
    );
    assert.deepEqual(
      got.map((e) => [e.url, e.body]),
      [
        ['/first', ''],
        ['/second', 'body'],
        ['/third', ''],
      ],
    );
  });

  test('body over the configured limit gets 413', async () => {
    const r = await request({ port: localPort, path: '/big', method: 'POST', body: 'y'.repeat(100_001) });
    assert.equal(r.status, 413);
    assert.equal(r.headers['x-strata-error'], 'STRATA_BODY_TOO_LARGE');
  });

  test('upstream timeout gets 504 naming route and cluster', async () => {
    const r = await request({ port: localPort, path: '/slow/3000' });
    assert.equal(r.status, 504);
    assert.equal(r.headers['x-strata-error'], 'STRATA_UPSTREAM_TIMEOUT');
    assert.match(r.body, /route slow, cluster web/);
  });

  test('unreachable upstream gets 503 with the cause in the body', async () => {
    const r = await request({ port: localDead, path: '/' });
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-strata-error'], 'STRATA_UPSTREAM_CONNECT_FAILED');
    assert.match(r.body, /ECONNREFUSED/);
    assert.match(r.body, new RegExp(`127\\.0\\.0\\.1:${deadPort}`));
  });

  test('retries a 503 on an idempotent request and succeeds', async () => {
    const before = flakyCalls;
    const r = await request({ port: proxyPort, path: '/r', host: 'flaky' });
    assert.equal(r.status, 200);
    assert.equal(flakyCalls - before, 2);
  });

  test('does not retry a POST (not idempotent)', async () => {
    // Align so the next call fails.
    if (flakyCalls % 2 === 1) await request({ port: proxyPort, path: '/align', host: 'flaky' });
    const before = flakyCalls;
    const r = await request({ port: proxyPort, path: '/p', host: 'flaky', method: 'POST', body: 'data' });
    assert.equal(r.status, 503);
    assert.equal(flakyCalls - before, 1);
  });
});
