import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';
import fc from 'fast-check';
import { H1Server } from './server.js';
import type { H1Request, H1Response, H1ServerOptions } from './server.js';

type Handler = (req: H1Request, res: H1Response) => void;

interface Harness {
  port: number;
  server: H1Server;
  /** Server-side sockets, in accept order. */
  sockets: Socket[];
  /** Sockets handed off, with what was read from them since. */
  handoffs: { socket: Socket; text: string }[];
  replies: string[];
  close(): Promise<void>;
}

const open: Harness[] = [];
after(async () => {
  await Promise.all(open.map((h) => h.close()));
});

async function start(handler: Handler, opts: Partial<H1ServerOptions> = {}): Promise<Harness> {
  const sockets: Socket[] = [];
  const handoffs: Harness['handoffs'] = [];
  const replies: string[] = [];
  const server = new H1Server({
    maxHeaderBytes: 4096,
    headerTimeoutMs: 5000,
    idleTimeoutMs: 5000,
    onRequest: handler,
    handoff: (socket) => {
      const entry = { socket, text: '' };
      handoffs.push(entry);
      socket.on('data', (d: Buffer) => (entry.text += d.toString('latin1')));
    },
    onLocalReply: (code) => replies.push(code),
    ...opts,
  });
  const tcp = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.setNoDelay(true);
    server.handle(s);
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
  const a = tcp.address();
  const h: Harness = {
    port: typeof a === 'object' && a ? a.port : 0,
    server,
    sockets,
    handoffs,
    replies,
    close: () =>
      new Promise<void>((r) => {
        server.destroy();
        for (const s of handoffs) s.socket.destroy();
        tcp.close(() => r());
      }),
  };
  open.push(h);
  return h;
}

/** Echo: status 200, JSON of what arrived. */
const echo: Handler = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('latin1');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(Buffer.from(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body })));
  });
};

/** A raw client: write, collect until the server closes (or `untilText` shows up, or the timeout). */
function raw(port: number, data: string | Buffer | (string | Buffer)[], o: { untilText?: string; timeoutMs?: number; end?: boolean } = {}): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(t);
      s.destroy();
      resolve({ text, closed });
    };
    const t = setTimeout(() => finish(false), o.timeoutMs ?? 5000);
    s.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (o.untilText !== undefined && text.includes(o.untilText)) finish(false);
    });
    s.on('error', () => undefined);
    s.on('close', () => finish(true));
    const parts = Array.isArray(data) ? data : [data];
    void (async () => {
      for (const p of parts) {
        s.write(p);
        if (parts.length > 1) await new Promise((r) => setTimeout(r, 5));
      }
      if (o.end) s.end();
    })();
  });
}

function get(port: number, path: string, agent: http.Agent | false = false, method = 'GET', body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; trailers: NodeJS.Dict<string>; localPort: number }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, trailers: res.trailers, localPort: res.socket?.localPort ?? 0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Split a byte stream of responses into [status line + headers, body] pairs by content-length. */
function responses(text: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const end = text.indexOf('\r\n\r\n', i);
    if (end < 0) break;
    const head = text.slice(i, end);
    const m = /content-length: (\d+)/i.exec(head);
    const n = m && !head.startsWith('HTTP/1.1 304') && !head.includes('x-head: 1') ? Number(m[1]) : 0;
    out.push({ head, body: text.slice(end + 4, end + 4 + n) });
    i = end + 4 + n;
  }
  return out;
}

test('content-length response with date and keep-alive; one connection carries many requests', async () => {
  const h = await start(echo);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const r = await get(h.port, `/ka/${i}?q=1`, agent);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).url, `/ka/${i}?q=1`);
    assert.match(r.headers.date ?? '', /GMT$/);
    assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
    assert.equal(r.headers.connection, 'keep-alive');
    assert.equal(r.headers['keep-alive'], 'timeout=5');
    ports.add(r.localPort);
  }
  agent.destroy();
  assert.equal(ports.size, 1);
  assert.equal(h.sockets.length, 1);
});

test('framing: end(chunk) gets a content-length; streamed writes are chunked, with trailers', async () => {
  const h = await start((req, res) => {
    if (req.url === '/whole') {
      res.writeHead(201, { 'x-a': 'b', 'set-cookie': ['a=1', 'b=2'] });
      res.end(Buffer.from('whole body'));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(Buffer.from('part one, '));
    res.write(Buffer.alloc(0));
    setTimeout(() => {
      res.write(Buffer.from('part two'));
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end();
    }, 10);
  });
  const whole = await get(h.port, '/whole');
  assert.equal(whole.status, 201);
  assert.equal(whole.body, 'whole body');
  assert.equal(whole.headers['content-length'], '10');
  assert.deepEqual(whole.headers['set-cookie'], ['a=1', 'b=2']);
  const streamed = await get(h.port, '/streamed');
  assert.equal(streamed.body, 'part one, part two');
  assert.equal(streamed.headers['transfer-encoding'], 'chunked');
  assert.deepEqual(streamed.trailers, { 'x-checksum': 'abc' });
});

test('HEAD, 204 and 304 have no body; a body longer than content-length is cut and the connection closed', async () => {
  const h = await start((req, res) => {
    if (req.url === '/204') res.writeHead(204, {}).end(Buffer.from('ignored'));
    else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end();
    else if (req.url === '/long') {
      res.writeHead(200, { 'content-length': 3 });
      res.end(Buffer.from('abcdef'));
    } else res.writeHead(200, { 'content-length': 5, 'x-head': req.method === 'HEAD' ? '1' : '0' }).end(req.method === 'HEAD' ? undefined : Buffer.from('hello'));
  });
  const r = await raw(h.port, 'HEAD / HTTP/1.1\r\nhost: h\r\n\r\nGET /204 HTTP/1.1\r\nhost: h\r\n\r\nGET /304 HTTP/1.1\r\nhost: h\r\n\r\nGET / HTTP/1.1\r\nhost: h\r\n\r\n', {
    untilText: 'hello',
  });
  const rs = responses(r.text);
  assert.deepEqual(
    rs.map((x) => [x.head.split('\r\n')[0], x.body]),
    [
      ['HTTP/1.1 200 OK', ''],
      ['HTTP/1.1 204 No Content', ''],
      ['HTTP/1.1 304 Not Modified', ''],
      ['HTTP/1.1 200 OK', 'hello'],
    ],
  );
  assert.match(rs[0]?.head ?? '', /content-length: 5/);
  const long = await raw(h.port, 'GET /long HTTP/1.1\r\nhost: h\r\n\r\n');
  assert.ok(long.closed);
  assert.ok(long.text.endsWith('\r\n\r\nabc'), JSON.stringify(long.text));
});

test('pipelined requests are answered in order, however long each takes', async () => {
  const h = await start((req, res) => {
    const delay = Number(req.url?.slice(1)) || 0;
    setTimeout(() => res.writeHead(200, { 'x-url': req.url ?? '' }).end(Buffer.from(`r${req.url}`)), delay);
  });
  const r = await raw(h.port, 'GET /60 HTTP/1.1\r\nhost: h\r\n\r\nGET /0 HTTP/1.1\r\nhost: h\r\n\r\nPOST /30 HTTP/1.1\r\nhost: h\r\ncontent-length: 2\r\n\r\nxyGET /1 HTTP/1.1\r\nhost: h\r\n\r\n', {
    untilText: 'r/1',
  });
  assert.deepEqual(
    responses(r.text).map((x) => x.body),
    ['r/60', 'r/0', 'r/30', 'r/1'],
  );
});

test('request bodies (content-length and chunked) arrive whole, byte at a time or all at once', async () => {
  const h = await start(echo);
  const req = 'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nx-t: 1\r\n\r\n';
  const whole = await raw(h.port, req, { untilText: '}' });
  assert.equal(JSON.parse(responses(whole.text)[0]?.body ?? '').body, 'hello world');
  const bytes = await raw(h.port, [...req].map((c) => c), { untilText: '}' });
  const echoed = JSON.parse(responses(bytes.text)[0]?.body ?? '');
  assert.equal(echoed.body, 'hello world');
  assert.equal(echoed.headers['transfer-encoding'], 'chunked');
  const cl = await get(h.port, '/cl', false, 'PUT', 'x'.repeat(100_000));
  assert.equal(JSON.parse(cl.body).body.length, 100_000);
});

test('backpressure: a body nobody reads stops the socket reads; reading it resumes them', async () => {
  let body: H1Request | undefined;
  const h = await start((req, res) => {
    body = req;
    let n = 0;
    setTimeout(() => {
      req.on('data', (c) => (n += c.length));
      req.on('end', () => res.writeHead(200, {}).end(Buffer.from(String(n))));
    }, 300);
  });
  const total = 8 * 1024 * 1024;
  const c = net.connect(h.port, '127.0.0.1');
  c.on('error', () => undefined);
  c.write(`POST / HTTP/1.1\r\nhost: h\r\ncontent-length: ${total}\r\n\r\n`);
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  const pump = (): void => {
    while (sent < total) {
      sent += chunk.length;
      if (!c.write(chunk)) {
        c.once('drain', pump);
        return;
      }
    }
  };
  pump();
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(body);
  const read = h.sockets[0]?.bytesRead ?? 0;
  assert.ok(read < 2 * 1024 * 1024, `server read ${read} bytes of a body nobody consumes`);
  const text = await new Promise<string>((resolve) => {
    let t = '';
    c.on('data', (d: Buffer) => {
      t += d.toString('latin1');
      if (t.endsWith(String(total))) resolve(t);
    });
  });
  assert.match(text, /^HTTP\/1\.1 200 /);
  c.destroy();
});

test('a response that ends before its request body: the rest is discarded and the connection carries on', async () => {
  const h = await start((req, res) => {
    res.writeHead(200, { 'x-url': req.url ?? '' }).end(Buffer.from(`done ${req.url}`));
  });
  const r = await raw(h.port, ['POST /early HTTP/1.1\r\nhost: h\r\ncontent-length: 20000\r\n\r\nabc', 'x'.repeat(19_997), 'GET /next HTTP/1.1\r\nhost: h\r\n\r\n'], { untilText: 'done /next' });
  assert.deepEqual(
    responses(r.text).map((x) => x.body),
    ['done /early', 'done /next'],
  );
});

test("'close' fires on the response when the client goes away first, and after a normal finish (not during end())", async () => {
  let closedEarly: (v: boolean) => void = () => undefined;
  const early = new Promise<boolean>((r) => (closedEarly = r));
  let afterEnd = 'none';
  const h = await start((req, res) => {
    if (req.url === '/hang') {
      res.writeHead(200, {});
      res.write(Buffer.from('partial'));
      res.once('close', () => closedEarly(res.finished));
      return;
    }
    res.once('close', () => (afterEnd = 'closed'));
    res.writeHead(200, {}).end(Buffer.from('ok'));
    if (afterEnd !== 'none') afterEnd = 'synchronously';
  });
  await raw(h.port, 'GET /hang HTTP/1.1\r\nhost: h\r\n\r\n', { untilText: 'partial' });
  assert.equal(await early, false);
  await get(h.port, '/ok');
  await new Promise((r) => setImmediate(r));
  assert.equal(afterEnd, 'closed');
});

test('malformed requests get 400 / 431 / 501 with x-strata-error and the connection closes', async () => {
  const h = await start(echo, { maxHeaderBytes: 512 });
  const cases: [string, RegExp, string][] = [
    ['THIS IS NOT HTTP\r\n\r\n', /^HTTP\/1\.1 400 Bad Request\r\n/, 'STRATA_BAD_REQUEST'],
    ['POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n', /^HTTP\/1\.1 400 /, 'STRATA_BAD_REQUEST'],
    [`GET / HTTP/1.1\r\nhost: h\r\nx-big: ${'a'.repeat(1000)}\r\n\r\n`, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/, 'STRATA_HEADERS_TOO_LARGE'],
    ['POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: gzip, chunked\r\n\r\n', /^HTTP\/1\.1 501 Not Implemented\r\n/, 'STRATA_BAD_REQUEST'],
    ['GET / HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 400 [^]*missing host/, 'STRATA_BAD_REQUEST'],
  ];
  for (const [input, status, code] of cases) {
    const r = await raw(h.port, input);
    assert.ok(r.closed, input);
    assert.match(r.text, status);
    assert.match(r.text, new RegExp(`x-strata-error: ${code}`));
    assert.match(r.text, /connection: close/);
  }
  // A malformed chunked body after the head was served: the request is void, the client gets 400.
  const body = await raw(h.port, 'POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n');
  assert.match(body.text, /^HTTP\/1\.1 400 /);
  assert.deepEqual(h.replies, ['STRATA_BAD_REQUEST', 'STRATA_BAD_REQUEST', 'STRATA_HEADERS_TOO_LARGE', 'STRATA_BAD_REQUEST', 'STRATA_BAD_REQUEST', 'STRATA_BAD_REQUEST']);
});

test('timeouts: an unfinished header section gets 408; an idle keep-alive connection closes silently; a slow response is not cut', async () => {
  const h = await start(
    (req, res) => {
      setTimeout(() => res.writeHead(200, {}).end(Buffer.from('slow')), req.url === '/slow' ? 600 : 0);
    },
    { headerTimeoutMs: 300, idleTimeoutMs: 400 },
  );
  const t0 = Date.now();
  const slowloris = await raw(h.port, 'GET / HTTP/1.1\r\nhost: h\r\nx-a: 1\r\n');
  assert.ok(slowloris.closed);
  assert.match(slowloris.text, /^HTTP\/1\.1 408 Request Timeout\r\n[^]*x-strata-error: STRATA_HEADER_TIMEOUT/);
  assert.ok(Date.now() - t0 >= 250, 'not before the timeout');
  const idle = await raw(h.port, 'GET /fast HTTP/1.1\r\nhost: h\r\n\r\n');
  assert.ok(idle.closed);
  assert.match(idle.text, /^HTTP\/1\.1 200 [^]*slow$/);
  const slow = await raw(h.port, 'GET /slow HTTP/1.1\r\nhost: h\r\n\r\n', { untilText: 'slow' });
  assert.match(slow.text, /^HTTP\/1\.1 200 /);
  assert.deepEqual(h.replies, ['STRATA_HEADER_TIMEOUT']);
});

test('escape hatch: HTTP/1.0, Upgrade, Expect, CONNECT and OPTIONS * move the connection, bytes intact, at a request boundary', async () => {
  const h = await start((_req, res) => res.writeHead(200, {}).end(Buffer.from('fast')));
  const cases = [
    'GET /old HTTP/1.0\r\n\r\n',
    'GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
    'POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n',
    'CONNECT svc:443 HTTP/1.1\r\nHost: svc:443\r\n\r\n',
    'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n',
  ];
  for (const [i, head] of cases.entries()) {
    const first = 'GET /first HTTP/1.1\r\nhost: h\r\n\r\n';
    const c = net.connect(h.port, '127.0.0.1');
    let got = '';
    c.on('data', (d: Buffer) => (got += d.toString('latin1')));
    c.write(`${first}${head}tail-bytes`);
    const moved = await new Promise<string>((resolve) => {
      let wrote = false;
      const check = (): void => {
        const s = h.handoffs[i];
        if (s && !wrote) {
          wrote = true;
          c.write('more');
        }
        if (s && s.text.endsWith('more')) resolve(s.text);
        else setTimeout(check, 5);
      };
      check();
    });
    assert.equal(moved, `${head}tail-bytesmore`);
    assert.match(got, /^HTTP\/1\.1 200 OK\r\n[^]*fast$/, 'the request before was served by the lean server');
    c.destroy();
  }
  assert.equal(h.server.size, 0, 'handed-off connections are forgotten');
});

test('escape hatch into node:http: it serves the request that needed it (Expect: 100-continue, HTTP/1.0)', async () => {
  const node = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.end(`node ${req.method} ${req.url} ${req.httpVersion} ${body}`));
  });
  const nodeConnection = node.listeners('connection')[0] as (s: Socket) => void;
  const h = await start(echo, { handoff: (s) => nodeConnection.call(node, s) });
  const r = await raw(h.port, ['POST /e HTTP/1.1\r\nhost: h\r\nexpect: 100-continue\r\ncontent-length: 4\r\n\r\n', 'data'], { untilText: 'data' });
  assert.match(r.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK[^]*node POST \/e 1\.1 data$/);
  const old = await raw(h.port, 'GET /x HTTP/1.0\r\n\r\n');
  assert.match(old.text, /^HTTP\/1\.1 200 OK[^]*node GET \/x 1\.0 $/);
  node.close();
});

test('drain: idle connections close now, a busy one answers with connection: close and then closes', async () => {
  let release: (() => void) | undefined;
  let served = 0;
  const h = await start((req, res) => {
    if (req.url === '/busy') release = () => res.writeHead(200, {}).end(Buffer.from('late'));
    else res.writeHead(200, {}).end(Buffer.from('ok'));
    served++;
  });
  const idle = raw(h.port, 'GET /a HTTP/1.1\r\nhost: h\r\n\r\n');
  const busy = raw(h.port, 'GET /busy HTTP/1.1\r\nhost: h\r\n\r\n');
  while (served < 2 || release === undefined) await new Promise((r) => setTimeout(r, 5));
  await new Promise((r) => setTimeout(r, 20));
  h.server.closeIdle();
  const i = await idle;
  assert.ok(i.closed);
  assert.match(i.text, /connection: keep-alive[^]*ok$/);
  release();
  const b = await busy;
  assert.ok(b.closed);
  assert.match(b.text, /^HTTP\/1\.1 200 OK\r\n[^]*connection: close\r\n[^]*late$/);
});

test('property: valid requests round-trip through the server (node:http client)', async () => {
  const h = await start(echo);
  const nameArb = fc.stringMatching(/^x-[a-z0-9-]{1,12}$/);
  const valueArb = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/);
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      fc.stringMatching(/^\/[a-zA-Z0-9/_.~%-]{0,40}$/),
      fc.uniqueArray(fc.tuple(nameArb, valueArb), { maxLength: 6, selector: ([n]) => n }),
      fc.string({ maxLength: 200 }),
      async (method, path, fields, body) => {
        const r = await new Promise<string>((resolve, reject) => {
          const headers: http.OutgoingHttpHeaders = Object.fromEntries(fields);
          // node:http sends GET/DELETE/OPTIONS bodies unframed unless told their length.
          if (body.length > 0) headers['content-length'] = Buffer.byteLength(body);
          const req = http.request({ host: '127.0.0.1', port: h.port, path, method, agent: false, headers }, (res) => {
            let t = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (t += c));
            res.on('end', () => resolve(t));
          });
          req.on('error', reject);
          req.end(body.length > 0 ? body : undefined);
        });
        const e = JSON.parse(r);
        assert.equal(e.method, method);
        assert.equal(e.url, path);
        for (const [n, v] of fields) assert.equal(e.headers[n], v);
        assert.equal(Buffer.from(e.body, 'latin1').toString('utf8'), body);
      },
    ),
    { numRuns: 60 },
  );
});

test('property: arbitrary bytes never crash the server; the answer is an HTTP error or nothing, and it keeps serving', async () => {
  const h = await start(echo, { headerTimeoutMs: 200 });
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (bytes, terminate) => {
      const data = terminate ? Buffer.concat([Buffer.from(bytes), Buffer.from('\r\n\r\n')]) : Buffer.from(bytes);
      const r = await raw(h.port, data, { timeoutMs: 2000, end: true });
      assert.ok(r.closed, 'the server closes');
      if (r.text.length > 0) assert.match(r.text, /^HTTP\/1\.1 (200|400|408|431|501) /);
    }),
    { numRuns: 150 },
  );
  const ok = await get(h.port, '/still');
  assert.equal(ok.status, 200);
});

test('keep-alive: requests whose whole body (over the stream high-water mark) arrives with the head keep being read', async () => {
  const h = await start(echo);
  const s = net.connect(h.port, '127.0.0.1');
  let text = '';
  s.on('data', (c: Buffer) => (text += c.toString('latin1')));
  const answered = (n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`only ${(text.match(/HTTP\/1\.1 200/g) ?? []).length} of ${n} answered`)), 5000);
      const check = (): void => {
        if ((text.match(/HTTP\/1\.1 200/g) ?? []).length >= n) {
          clearTimeout(t);
          s.off('data', check);
          resolve();
        }
      };
      s.on('data', check);
      check();
    });
  try {
    for (let i = 1; i <= 4; i++) {
      const body = Buffer.alloc(17_000 + i, 97);
      // Head and body in one write: the parser sees the whole body, and its end, at once.
      s.write(Buffer.concat([Buffer.from(`POST /big/${i} HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n\r\n`), body]));
      await answered(i);
    }
    assert.equal((text.match(/HTTP\/1\.1 200/g) ?? []).length, 4);
  } finally {
    s.destroy();
  }
});
