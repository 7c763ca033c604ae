/**
 * Context propagation for apps that know nothing of Strata. Each app is written here to a temp
 * file and run as its own process; a recording upstream checks what its outbound requests
 * carry. Way (2): `node --import strata/propagate app.js` (resolved from an app directory where
 * strata is installed, or by absolute path) carries x-strata-priority, traceparent/tracestate
 * and baggage from each inbound request to exactly the outbound requests it caused — http.get
 * and fetch, ESM and CommonJS, an http2 server, under concurrency — keeping what the app set
 * itself. Without the preload the same app sends none of them (the control). Way (1): an app
 * that forwards baggage by hand carries the class, readable with classFromHeaders().
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classFromHeaders } from '../src/propagate/context.js';
import { ROOT, request, startUpstream, waitFor } from './lib/harness.js';
import type { Upstream } from './lib/harness.js';

const REGISTER = join(ROOT, 'dist', 'src', 'propagate', 'register.js');
const CARRIED = ['x-strata-priority', 'traceparent', 'tracestate', 'baggage'] as const;

/**
 * The app: on POST /?id=N&delay=MS it reads the body, waits, then calls the upstream twice —
 * http.get /get?id=N and fetch /fetch?id=N (in sequence for odd N, together for even) — and
 * answers 200. APP_MODE=forward copies traceparent and baggage by hand (way 1); explicit sets
 * its own x-strata-priority and baggage member on the http.get, its own baggage on the fetch.
 */
const APP_BODY = `
const U = 'http://127.0.0.1:' + process.env.UPSTREAM_PORT;
const MODE = process.env.APP_MODE || 'plain';
function httpGet(path, headers) {
  return new Promise((resolve, reject) => {
    get(U + path, { headers }, (r) => { r.resume(); r.on('end', resolve); }).on('error', reject);
  });
}
function defined(h) { return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)); }
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://app');
  const id = url.searchParams.get('id');
  const delay = Number(url.searchParams.get('delay') || 0);
  req.resume();
  req.on('end', async () => {
    try {
      await new Promise((r) => setTimeout(r, delay));
      const fwd = defined({ traceparent: req.headers.traceparent, baggage: req.headers.baggage });
      const getHeaders = MODE === 'forward' ? fwd : MODE === 'explicit' ? { 'x-strata-priority': 'batch', baggage: 'app.member=get' } : {};
      const fetchHeaders = MODE === 'forward' ? fwd : MODE === 'explicit' ? { baggage: 'app.member=fetch' } : {};
      const viaGet = () => httpGet('/get?id=' + id, getHeaders);
      const viaFetch = async () => { const r = await fetch(U + '/fetch?id=' + id, { headers: fetchHeaders }); await r.text(); };
      if (Number(id) % 2) { await viaFetch(); await viaGet(); } else await Promise.all([viaGet(), viaFetch()]);
      res.writeHead(200);
      res.end('ok');
    } catch (err) {
      res.writeHead(500);
      res.end(String(err));
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;
const APP_ESM = `import http from 'node:http';\nimport { get } from 'node:http';\n${APP_BODY}`;
const APP_CJS = `'use strict';\nconst http = require('node:http');\nconst { get } = require('node:http');\n${APP_BODY}`;

/** An http2 (compat API) server that calls the upstream with fetch on each request. */
const APP_H2 = `import http2 from 'node:http2';
const U = 'http://127.0.0.1:' + process.env.UPSTREAM_PORT;
const server = http2.createServer(async (req, res) => {
  const id = new URL(req.url, 'http://app').searchParams.get('id');
  await new Promise((r) => setTimeout(r, Number(id) % 3 * 10));
  const r = await fetch(U + '/h2?id=' + id);
  await r.text();
  res.writeHead(200);
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

/** The npm undici package (when resolvable from the repo): undici.request and undici.fetch. */
const APP_UNDICI = `import http from 'node:http';
import { createRequire } from 'node:module';
const undici = createRequire(process.env.UNDICI_FROM)('undici');
const U = 'http://127.0.0.1:' + process.env.UPSTREAM_PORT;
const server = http.createServer(async (req, res) => {
  const id = new URL(req.url, 'http://app').searchParams.get('id');
  const a = await undici.request(U + '/undici-request?id=' + id);
  await a.body.text();
  const b = await undici.fetch(U + '/undici-fetch?id=' + id);
  await b.text();
  res.writeHead(200);
  res.end('ok');
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

let dir = '';
/** An app directory where strata is installed as a dependency (node_modules/strata → the repo). */
let installedDir = '';
const children = new Set<ChildProcess>();

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-propagate-'));
  installedDir = join(dir, 'installed');
  mkdirSync(join(installedDir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(installedDir, 'node_modules', 'strata'), 'dir');
});

after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface App {
  port: number;
  stop(): Promise<void>;
}

/** Write and start an app; resolves once it prints its listening line. */
async function startApp(file: string, source: string, opts: { preload?: string; cwd?: string; env?: Record<string, string> }): Promise<App> {
  const cwd = opts.cwd ?? dir;
  const path = join(cwd, file);
  writeFileSync(path, source);
  const args = opts.preload ? ['--import', opts.preload, path] : [path];
  const proc = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  children.add(proc);
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const port = await waitFor(`${file} listening`, () => {
    if (proc.exitCode !== null) throw new Error(`${file} exited ${proc.exitCode}:\n${out}`);
    const m = /listening (\d+)/.exec(out);
    return m ? Number(m[1]) : undefined;
  });
  return {
    port,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      children.delete(proc);
    },
  };
}

interface Inbound {
  id: number;
  headers: Record<(typeof CARRIED)[number], string>;
}

function inbound(id: number): Inbound {
  const hex = (n: number, len: number): string => (n + 1).toString(16).padStart(len, '0');
  return {
    id,
    headers: {
      'x-strata-priority': `c${id}`,
      traceparent: `00-${hex(id, 32)}-${hex(id + 100, 16)}-01`,
      tracestate: `vendor=v${id}`,
      baggage: `strata.priority=c${id},user=u${id}`,
    },
  };
}

/** ~20 concurrent requests with distinct values and interleaved delays; all must answer 200. */
async function sendConcurrent(port: number, n = 20): Promise<Inbound[]> {
  const sent = Array.from({ length: n }, (_, i) => inbound(i));
  const results = await Promise.all(
    sent.map((s) => request({ port, method: 'POST', path: `/?id=${s.id}&delay=${(s.id * 37) % 60}`, headers: s.headers, body: `body ${s.id}` })),
  );
  for (const [i, r] of results.entries()) assert.equal(r.status, 200, `request ${i}: ${r.body}`);
  return sent;
}

function carried(h: IncomingHttpHeaders): Partial<Record<(typeof CARRIED)[number], string>> {
  const out: Partial<Record<(typeof CARRIED)[number], string>> = {};
  for (const name of CARRIED) {
    const v = h[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function idOf(url: string): number {
  return Number(new URL(url, 'http://x').searchParams.get('id'));
}

/** Every recorded request at `paths` carries exactly the headers of the inbound request with its id. */
function assertExactlyInbound(up: Upstream, sent: Inbound[], paths: string[]): void {
  for (const path of paths) {
    const got = up.requests.filter((r) => r.url.startsWith(path + '?'));
    assert.equal(got.length, sent.length, `${path}: one outbound request per inbound request`);
    for (const r of got) {
      const s = sent[idOf(r.url)];
      assert.ok(s, r.url);
      assert.deepEqual(carried(r.headers), s.headers, `${r.url} carries the headers of inbound request ${s.id}`);
    }
  }
}

async function withUpstream<T>(fn: (up: Upstream) => Promise<T>): Promise<T> {
  const up = await startUpstream('recorder');
  try {
    return await fn(up);
  } finally {
    await up.close();
  }
}

test('(a) node --import strata/propagate (installed as a dependency): every outbound request carries exactly its inbound request’s headers', async () => {
  await withUpstream(async (up) => {
    const app = await startApp('app.mjs', APP_ESM, { preload: 'strata/propagate', cwd: installedDir, env: { UPSTREAM_PORT: String(up.port) } });
    try {
      const sent = await sendConcurrent(app.port);
      assertExactlyInbound(up, sent, ['/get', '/fetch']);
      // A request that carries nothing causes requests that carry nothing.
      const r = await request({ port: app.port, method: 'POST', path: '/?id=99' });
      assert.equal(r.status, 200);
      for (const rec of up.requests.filter((x) => idOf(x.url) === 99)) assert.deepEqual(carried(rec.headers), {});
    } finally {
      await app.stop();
    }
  });
});

test('(a) a CommonJS app preloaded by absolute path', async () => {
  await withUpstream(async (up) => {
    const app = await startApp('app.cjs', APP_CJS, { preload: REGISTER, env: { UPSTREAM_PORT: String(up.port) } });
    try {
      const sent = await sendConcurrent(app.port);
      assertExactlyInbound(up, sent, ['/get', '/fetch']);
    } finally {
      await app.stop();
    }
  });
});

test('(b) control: without the preload the same app sends none of the headers', async () => {
  await withUpstream(async (up) => {
    const app = await startApp('app.mjs', APP_ESM, { env: { UPSTREAM_PORT: String(up.port) } });
    try {
      await sendConcurrent(app.port, 6);
      assert.equal(up.requests.length, 12);
      for (const r of up.requests) assert.deepEqual(carried(r.headers), {}, r.url);
    } finally {
      await app.stop();
    }
  });
});

test('(c) way 1: an app that forwards traceparent and baggage by hand carries the class in baggage', async () => {
  await withUpstream(async (up) => {
    const app = await startApp('forward.mjs', APP_ESM, { env: { UPSTREAM_PORT: String(up.port), APP_MODE: 'forward' } });
    try {
      const sent = await sendConcurrent(app.port, 6);
      assert.equal(up.requests.length, 12);
      for (const r of up.requests) {
        const s = sent[idOf(r.url)];
        assert.ok(s);
        assert.equal(r.headers['x-strata-priority'], undefined, 'the app does not know the header');
        assert.equal(r.headers.baggage, s.headers.baggage);
        assert.equal(classFromHeaders(r.headers), `c${s.id}`, 'the class is read from the forwarded baggage');
      }
    } finally {
      await app.stop();
    }
  });
});

test('(c) way 1 with the preload: what the app forwards is kept, nothing is duplicated', async () => {
  await withUpstream(async (up) => {
    const app = await startApp('forward.mjs', APP_ESM, { preload: REGISTER, env: { UPSTREAM_PORT: String(up.port), APP_MODE: 'forward' } });
    try {
      const sent = await sendConcurrent(app.port, 6);
      assertExactlyInbound(up, sent, ['/get', '/fetch']);
    } finally {
      await app.stop();
    }
  });
});

test('(d) the app’s own x-strata-priority and baggage member are kept, the rest is merged in', async () => {
  await withUpstream(async (up) => {
    const app = await startApp('explicit.mjs', APP_ESM, { preload: REGISTER, env: { UPSTREAM_PORT: String(up.port), APP_MODE: 'explicit' } });
    try {
      const sent = await sendConcurrent(app.port, 8);
      assert.equal(up.requests.length, 16);
      for (const r of up.requests) {
        const s = sent[idOf(r.url)];
        assert.ok(s);
        const fromGet = r.url.startsWith('/get?');
        assert.deepEqual(carried(r.headers), {
          'x-strata-priority': fromGet ? 'batch' : `c${s.id}`,
          traceparent: s.headers.traceparent,
          tracestate: s.headers.tracestate,
          baggage: fromGet ? `app.member=get,strata.priority=batch,user=u${s.id}` : `app.member=fetch,strata.priority=c${s.id},user=u${s.id}`,
        }, r.url);
      }
    } finally {
      await app.stop();
    }
  });
});

test('(a) an http2 server (compat API): each stream’s context reaches its fetch', async () => {
  await withUpstream(async (up) => {
    const app = await startApp('h2.mjs', APP_H2, { preload: REGISTER, env: { UPSTREAM_PORT: String(up.port) } });
    const session = http2.connect(`http://127.0.0.1:${app.port}`);
    try {
      const sent = Array.from({ length: 12 }, (_, i) => inbound(i));
      await Promise.all(
        sent.map(
          (s) =>
            new Promise<void>((resolve, reject) => {
              const stream = session.request({ ':path': `/?id=${s.id}`, ...s.headers });
              stream.on('response', (h) => (h[':status'] === 200 ? undefined : reject(new Error(`status ${h[':status']}`))));
              stream.resume();
              stream.on('end', resolve);
              stream.on('error', reject);
              stream.end();
            }),
        ),
      );
      assertExactlyInbound(up, sent, ['/h2']);
    } finally {
      session.close();
      await app.stop();
    }
  });
});

test('(a) the undici package: request and fetch', async (t) => {
  let from: string;
  try {
    createRequire(join(ROOT, 'package.json')).resolve('undici');
    from = join(ROOT, 'package.json');
  } catch {
    t.skip('the undici package is not installed here (the built-in fetch, also undici, is tested above)');
    return;
  }
  await withUpstream(async (up) => {
    const app = await startApp('undici.mjs', APP_UNDICI, { preload: REGISTER, env: { UPSTREAM_PORT: String(up.port), UNDICI_FROM: from } });
    try {
      const sent = await Promise.all(
        Array.from({ length: 10 }, (_, i) => inbound(i)).map(async (s) => {
          const r = await request({ port: app.port, path: `/?id=${s.id}`, headers: s.headers });
          assert.equal(r.status, 200, r.body);
          return s;
        }),
      );
      assertExactlyInbound(up, sent, ['/undici-request', '/undici-fetch']);
    } finally {
      await app.stop();
    }
  });
});
