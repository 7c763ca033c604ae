import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import type { NetConnectOpts } from 'node:net';
import { Readable } from 'node:stream';
import { H1Pool } from './h1-pool.js';
import type { H1PoolHooks, PoolOptions } from './h1-pool.js';
import type { UpstreamCall, UpstreamFailure, UpstreamRequest } from './upstream.js';

/** Generous: the machine may be loaded; every wait ends as soon as its event arrives. */
const WAIT_MS = 15_000;

function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Wait until `cond()` holds (state that changes on socket events the test cannot subscribe to). */
async function until(what: string, cond: () => boolean, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

// ── a raw upstream that answers with exact bytes ───────────────────────────────────────

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** Body bytes that had already arrived when the head was parsed. */
  earlyBodyBytes: number;
  socket: net.Socket;
  /** Index of the accepted connection it came on. */
  conn: number;
}

class RawUpstream {
  port = 0;
  accepted = 0;
  readonly sockets: net.Socket[] = [];
  readonly requests: RawRequest[] = [];
  /** Answer a complete request (default: 200 "ok"). */
  onRequest: (req: RawRequest) => void = (req) => req.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  /** Called when a head arrives, before its body. */
  onHead: ((req: RawRequest) => void) | undefined;
  private readonly server = net.createServer((s) => this.accept(s));
  private waiters: (() => void)[] = [];

  static async start(t: TestContext, onRequest?: (req: RawRequest) => void): Promise<RawUpstream> {
    const up = new RawUpstream();
    if (onRequest) up.onRequest = onRequest;
    up.server.listen(0, '127.0.0.1');
    await once(up.server, 'listening');
    up.port = (up.server.address() as net.AddressInfo).port;
    t.after(() => up.close());
    return up;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  /** Resolves when `n` complete requests have arrived. */
  requestCount(n: number): Promise<void> {
    return within(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (this.requests.length >= n) resolve();
          else this.waiters.push(check);
        };
        check();
      }),
      `${n} requests at the upstream`,
    );
  }

  private accept(socket: net.Socket): void {
    const conn = this.accepted++;
    this.sockets.push(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    let cur: { req: RawRequest; chunked: boolean; remaining: number } | undefined;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (cur === undefined) {
          const i = buf.indexOf('\r\n\r\n');
          if (i < 0) return;
          const lines = buf.subarray(0, i).toString('latin1').split('\r\n');
          buf = buf.subarray(i + 4);
          const [method = '', path = ''] = (lines.shift() ?? '').split(' ');
          const headers: Record<string, string> = {};
          for (const line of lines) {
            const c = line.indexOf(':');
            const name = line.slice(0, c).toLowerCase();
            const value = line.slice(c + 1).trim();
            headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
          }
          const req: RawRequest = { method, path, headers, body: Buffer.alloc(0), earlyBodyBytes: buf.length, socket, conn };
          const chunked = headers['transfer-encoding'] === 'chunked';
          cur = { req, chunked, remaining: chunked ? 0 : Number(headers['content-length'] ?? 0) };
          this.onHead?.(req);
        }
        if (cur.chunked) {
          const j = buf.indexOf('\r\n');
          if (j < 0) return;
          const size = parseInt(buf.subarray(0, j).toString('latin1').split(';')[0] ?? '', 16);
          if (size === 0) {
            const end = buf.indexOf('\r\n', j + 2);
            if (end < 0) return;
            buf = buf.subarray(end + 2);
          } else {
            if (buf.length < j + 2 + size + 2) return;
            cur.req.body = Buffer.concat([cur.req.body, buf.subarray(j + 2, j + 2 + size)]);
            buf = buf.subarray(j + 2 + size + 2);
            continue;
          }
        } else {
          if (buf.length < cur.remaining) return;
          cur.req.body = Buffer.from(buf.subarray(0, cur.remaining));
          buf = buf.subarray(cur.remaining);
        }
        const req = cur.req;
        cur = undefined;
        this.requests.push(req);
        this.onRequest(req);
        const waiters = this.waiters;
        this.waiters = [];
        for (const w of waiters) w();
      }
    });
  }
}

/** Write bytes one at a time, each in its own write after a turn of the event loop. */
async function dribble(socket: net.Socket, bytes: string): Promise<void> {
  for (let i = 0; i < bytes.length; i++) {
    socket.write(bytes[i] as string, 'latin1');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

// ── the client side ─────────────────────────────────────────────────────────────────────

interface Result {
  status?: number;
  headers?: IncomingHttpHeaders;
  body?: Buffer;
  trailers?: IncomingHttpHeaders;
  failure?: UpstreamFailure;
  error?: Error & { code?: string };
  bodyError?: Error & { code?: string };
  continues: number;
}

interface Sent {
  call: UpstreamCall;
  result: Promise<Result>;
  /** Handler calls after the first response/error (must stay 0). */
  extra: () => number;
}

interface SendOptions {
  /** Request body: ended right away, or after 100 Continue with expectContinue. */
  body?: Buffer;
  /** Stream the body through pipe() (no content-length: chunked). */
  stream?: Buffer[];
}

function send(pool: H1Pool, over: Partial<UpstreamRequest> = {}, opts: SendOptions = {}): Sent {
  const bodied = opts.body !== undefined || opts.stream !== undefined;
  const req: UpstreamRequest = { method: 'GET', path: '/', authority: 'up.test', headers: {}, endStream: !bodied, ...over };
  const r: Result = { continues: 0 };
  let settled = 0;
  let call: UpstreamCall | undefined;
  const writeBody = (): void => {
    if (opts.body !== undefined) call?.body.end(opts.body);
    else if (opts.stream !== undefined && call) Readable.from(opts.stream).pipe(call.body);
  };
  const result = new Promise<Result>((resolve) => {
    call = pool.request(req, {
      onResponse(status, headers, body, trailers) {
        if (settled++ > 0) return;
        r.status = status;
        r.headers = { ...headers };
        const chunks: Buffer[] = [];
        body.on('data', (c: Buffer) => chunks.push(c));
        body.on('end', () => {
          r.body = Buffer.concat(chunks);
          r.trailers = trailers();
          resolve(r);
        });
        body.on('error', (err) => {
          r.bodyError = err;
          r.body = Buffer.concat(chunks);
          resolve(r);
        });
      },
      onError(kind, err) {
        if (settled++ > 0) return;
        r.failure = kind;
        r.error = err;
        resolve(r);
      },
      onContinue() {
        r.continues++;
        if (req.expectContinue) writeBody();
      },
    });
  });
  const c = call as unknown as UpstreamCall;
  if (!req.expectContinue) writeBody();
  let timed: Promise<Result> | undefined;
  return {
    call: c,
    // The deadline starts when a test waits (an aborted call never resolves).
    get result() {
      return (timed ??= within(result, `response to ${req.method} ${req.path}`));
    },
    extra: () => Math.max(0, settled - 1),
  };
}

function poolFor(t: TestContext, port: number, over: Partial<PoolOptions> = {}, hooks?: H1PoolHooks): H1Pool {
  const pool = new H1Pool({ host: '127.0.0.1', port, maxConnections: 16, connectTimeoutMs: 5000, idleTimeoutMs: 30_000, ...over }, hooks);
  t.after(() => pool.close());
  return pool;
}

const text = (r: Result): string => r.body?.toString('latin1') ?? '';

// ── tests ───────────────────────────────────────────────────────────────────────────────

test('content-length response; sequential requests reuse one socket (same local port)', async (t) => {
  const up = await RawUpstream.start(t, (req) =>
    req.socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${req.path.length}\r\nX-Port: ${req.socket.remotePort}\r\n\r\n${req.path}`),
  );
  const pool = poolFor(t, up.port);
  const ports = new Set<string>();
  for (const path of ['/one', '/two', '/three']) {
    const r = await send(pool, { path }).result;
    assert.equal(r.status, 200);
    assert.equal(text(r), path);
    assert.equal(r.headers?.['content-type'], 'text/plain');
    ports.add(String(r.headers?.['x-port']));
  }
  assert.equal(ports.size, 1);
  assert.equal(up.accepted, 1);
  assert.equal(pool.connections(), 1);
  const first = up.requests[0];
  assert.equal(first?.headers['host'], 'up.test');
  assert.equal(first?.headers['content-length'], undefined);
});

test('chunked response with extensions and trailers', async (t) => {
  const up = await RawUpstream.start(t, (req) =>
    req.socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: Grpc-Status\r\n\r\n4;a=b\r\nwiki\r\n5 ;c\r\npedia\r\n0;end\r\nGrpc-Status: 0\r\nGrpc-Message: fine\r\n\r\n'),
  );
  const pool = poolFor(t, up.port);
  const r = await send(pool).result;
  assert.equal(text(r), 'wikipedia');
  assert.deepEqual({ ...r.trailers }, { 'grpc-status': '0', 'grpc-message': 'fine' });
  const again = await send(pool).result;
  assert.equal(text(again), 'wikipedia');
  assert.equal(up.accepted, 1);
});

test('a response fed one byte per write parses the same', async (t) => {
  const wire = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-T: done\r\n\r\n';
  const up = await RawUpstream.start(t, (req) => void dribble(req.socket, wire));
  const pool = poolFor(t, up.port);
  const r = await send(pool).result;
  assert.equal(r.status, 200);
  assert.equal(r.headers?.['x-a'], '1');
  assert.equal(text(r), 'abcde');
  assert.deepEqual({ ...r.trailers }, { 'x-t': 'done' });
  up.onRequest = (req) => void dribble(req.socket, 'HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nbody');
  const r2 = await send(pool).result;
  assert.equal(r2.status, 201);
  assert.equal(text(r2), 'body');
  assert.equal(up.accepted, 1);
});

test('close-delimited body is read until the peer closes; the connection is not reused', async (t) => {
  const up = await RawUpstream.start(t, (req) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it'));
  const pool = poolFor(t, up.port);
  const r = await send(pool).result;
  assert.equal(text(r), 'all of it');
  assert.equal(r.bodyError, undefined);
  await until('the pool to drop the connection', () => pool.connections() === 0);
  const r2 = await send(pool).result;
  assert.equal(text(r2), 'all of it');
  assert.equal(up.accepted, 2);
});

test('HEAD, 204 and 304 carry no body and keep the connection', async (t) => {
  const up = await RawUpstream.start(t, (req) => {
    if (req.method === 'HEAD') req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
    else if (req.path === '/204') req.socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    else req.socket.write('HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 99\r\n\r\n');
  });
  const pool = poolFor(t, up.port);
  const head = await send(pool, { method: 'HEAD' }).result;
  assert.equal(head.status, 200);
  assert.equal(head.headers?.['content-length'], '10');
  assert.equal(text(head), '');
  const noContent = await send(pool, { path: '/204' }).result;
  assert.equal(noContent.status, 204);
  const notModified = await send(pool, { path: '/304' }).result;
  assert.equal(notModified.status, 304);
  assert.equal(text(notModified), '');
  assert.equal(up.accepted, 1);
});

test('expect: 100-continue sends the head alone, reports 100, then the body follows', async (t) => {
  const up = await RawUpstream.start(t, (req) => req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${req.body.length}\r\n\r\n${req.body.toString()}`));
  up.onHead = (req) => {
    if (req.headers['expect'] === '100-continue') req.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
  };
  const pool = poolFor(t, up.port);
  const r = await send(pool, { method: 'POST', expectContinue: true, headers: { 'content-length': '5' } }, { body: Buffer.from('hello') }).result;
  assert.equal(r.continues, 1);
  assert.equal(r.status, 200);
  assert.equal(text(r), 'hello');
  assert.equal(up.requests[0]?.earlyBodyBytes, 0);
  // A final answer without 100 Continue: the unsent body makes the connection unusable.
  up.onRequest = () => {};
  up.onHead = (req) => req.socket.write('HTTP/1.1 417 Expectation Failed\r\ncontent-length: 0\r\n\r\n');
  const refused = await send(pool, { method: 'POST', expectContinue: true, headers: { 'content-length': '5' } }, { body: Buffer.from('hello') }).result;
  assert.equal(refused.status, 417);
  assert.equal(refused.continues, 0);
  await until('the pool to drop the connection', () => pool.connections() === 0);
});

test('103 Early Hints is skipped; onContinue only fires for 100 when expected', async (t) => {
  const up = await RawUpstream.start(t, (req) =>
    req.socket.write('HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'),
  );
  const pool = poolFor(t, up.port);
  const r = await send(pool).result;
  assert.equal(r.status, 200);
  assert.equal(r.continues, 0);
  assert.equal(r.headers?.['link'], undefined);
  assert.equal(text(r), 'ok');
});

test('bytes after a complete response: the connection is closed, not reused', async (t) => {
  const up = await RawUpstream.start(t, (req) => req.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\njunk'));
  const pool = poolFor(t, up.port);
  const r = await send(pool).result;
  assert.equal(text(r), 'ok');
  const first = up.sockets[0] as net.Socket;
  if (!first.destroyed) await within(once(first, 'close'), 'the upstream to see the connection closed');
  await until('the pool to drop the connection', () => pool.connections() === 0);
  const r2 = await send(pool).result;
  assert.equal(text(r2), 'ok');
  assert.equal(up.accepted, 2);
});

test('malformed framing is an error before the response: reset with a clear message', async (t) => {
  const cases: [string, RegExp, string][] = [
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', /duplicate content-length/, 'STRATA_H1_INVALID_RESPONSE'],
    ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', /both content-length and transfer-encoding/, 'STRATA_H1_INVALID_RESPONSE'],
    ['HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n', /obsolete line folding/, 'STRATA_H1_INVALID_RESPONSE'],
    [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, /larger than 65536 bytes/, 'STRATA_H1_HEADERS_TOO_LARGE'],
  ];
  for (const [wire, why, code] of cases) {
    const up = await RawUpstream.start(t, (req) => req.socket.write(wire));
    const pool = poolFor(t, up.port);
    const sent = send(pool);
    const r = await sent.result;
    assert.equal(r.failure, 'reset', why.source);
    assert.match(r.error?.message ?? '', why);
    assert.equal(r.error?.code, code);
    assert.equal(pool.connections(), 0);
    assert.equal(sent.extra(), 0);
  }
});

test('the peer closing mid-body errors the body stream', async (t) => {
  const up = await RawUpstream.start(t, (req) => req.socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b'));
  const pool = poolFor(t, up.port);
  const r = await send(pool).result;
  assert.equal(r.status, 200);
  assert.equal(r.bodyError?.code, 'STRATA_H1_INCOMPLETE');
  assert.match(r.bodyError?.message ?? '', /middle of the response body/);
  assert.equal(text(r), 'only ten b');
  assert.equal(pool.connections(), 0);
});

test('an idle socket closed by the peer is dropped; the next request opens a new one', async (t) => {
  const up = await RawUpstream.start(t);
  const pool = poolFor(t, up.port);
  assert.equal(text(await send(pool).result), 'ok');
  assert.equal(pool.connections(), 1);
  (up.sockets[0] as net.Socket).end();
  await until('the pool to notice the close', () => pool.connections() === 0);
  assert.equal(text(await send(pool).result), 'ok');
  assert.equal(up.accepted, 2);
});

test('a reused socket that dies before any response byte reports reset', async (t) => {
  const up = await RawUpstream.start(t);
  const pool = poolFor(t, up.port);
  assert.equal(text(await send(pool).result), 'ok');
  up.onRequest = (req) => req.socket.destroy();
  const r = await send(pool).result;
  assert.equal(r.failure, 'reset');
  assert.match(r.error?.message ?? '', /before responding \(reused connection\)|ECONNRESET/);
});

test('connection refused is a connect failure', async (t) => {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const pool = poolFor(t, port);
  const r = await send(pool).result;
  assert.equal(r.failure, 'connect-failure');
  assert.equal(r.error?.code, 'ECONNREFUSED');
  assert.equal(pool.connections(), 0);
});

test('connect timeout is a connect failure with STRATA_CONNECT_TIMEOUT', async (t) => {
  // A socket that stays "connecting" forever: writes are queued until a connect that never comes.
  const stuck: net.Socket[] = [];
  const hooks: H1PoolHooks = {
    connect: () => {
      const s = new net.Socket();
      (s as { connecting: boolean }).connecting = true;
      stuck.push(s);
      return s;
    },
  };
  const pool = poolFor(t, 9, { connectTimeoutMs: 30 }, hooks);
  const r = await send(pool).result;
  assert.equal(r.failure, 'connect-failure');
  assert.equal(r.error?.code, 'STRATA_CONNECT_TIMEOUT');
  assert.match(r.error?.message ?? '', /connect timeout after 30 ms to 127\.0\.0\.1:9/);
  assert.equal(stuck[0]?.destroyed, true);
  assert.equal(pool.connections(), 0);
});

test('maxConnections caps sockets; extra requests wait in FIFO order; an aborted waiter is dropped', async (t) => {
  const held: RawRequest[] = [];
  const up = await RawUpstream.start(t, (req) => held.push(req));
  const pool = poolFor(t, up.port, { maxConnections: 1 });
  const a = send(pool, { path: '/a' });
  const b = send(pool, { path: '/b' });
  const c = send(pool, { path: '/c' });
  const d = send(pool, { path: '/d' });
  assert.equal(pool.connections(), 1);
  assert.equal(pool.pending(), 3);
  c.call.abort();
  assert.equal(pool.pending(), 2);
  const answer = (): void => {
    const req = held.shift() as RawRequest;
    req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${req.path.length}\r\n\r\n${req.path}`);
  };
  await up.requestCount(1);
  answer();
  assert.equal(text(await a.result), '/a');
  await up.requestCount(2);
  assert.equal(pool.pending(), 1);
  answer();
  assert.equal(text(await b.result), '/b');
  await up.requestCount(3);
  answer();
  assert.equal(text(await d.result), '/d');
  assert.deepEqual(
    up.requests.map((r) => r.path),
    ['/a', '/b', '/d'],
  );
  assert.equal(up.accepted, 1);
  assert.equal(pool.pending(), 0);
  assert.equal(c.extra(), 0);
});

test('abort mid-response destroys that socket and fires no handler afterwards', async (t) => {
  const up = await RawUpstream.start(t, (req) => req.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst part'));
  const pool = poolFor(t, up.port);
  let after = 0;
  let aborted = false;
  let bodyEvents = 0;
  const responded = new Promise<void>((resolve) => {
    const call = pool.request(
      { method: 'GET', path: '/', authority: 'up.test', headers: {}, endStream: true },
      {
        onResponse(_status, _headers, body) {
          if (aborted) after++;
          body.once('data', () => {
            call.abort();
            aborted = true;
            body.on('error', () => bodyEvents++);
            body.on('end', () => bodyEvents++);
            resolve();
          });
        },
        onError() {
          if (aborted) after++;
        },
        onContinue() {
          if (aborted) after++;
        },
      },
    );
  });
  await within(responded, 'the first body bytes');
  up.onRequest = (req) => req.socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
  const socket = up.sockets[0] as net.Socket;
  if (!socket.destroyed) await within(once(socket, 'close'), 'the upstream to see the abort');
  assert.equal(pool.connections(), 0);
  // The upstream may still send; nothing reaches the aborted call.
  const next = await send(pool).result;
  assert.equal(next.status, 200);
  assert.equal(after, 0);
  assert.equal(bodyEvents, 0);
});

test('a paused response body stops reading the socket; resuming delivers the rest', async (t) => {
  const size = 4 * 1024 * 1024;
  const payload = Buffer.alloc(size, 'z');
  const up = await RawUpstream.start(t, (req) => {
    req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${size}\r\n\r\n`);
    req.socket.write(payload);
  });
  const sockets: net.Socket[] = [];
  const connect = (o: NetConnectOpts): net.Socket => {
    const s = net.connect(o);
    sockets.push(s);
    return s;
  };
  const pool = poolFor(t, up.port, {}, { connect });
  const got = new Promise<{ body: Readable }>((resolve) => {
    pool.request({ method: 'GET', path: '/', authority: 'up.test', headers: {}, endStream: true }, { onResponse: (_s, _h, body) => resolve({ body }), onError: () => {} });
  });
  const { body } = await within(got, 'the response head');
  const socket = sockets[0] as net.Socket;
  await until('the socket to be paused by backpressure', () => socket.isPaused());
  assert.ok(body.readableLength >= body.readableHighWaterMark, 'the body buffered up to its high-water mark');
  assert.ok(body.readableLength < size);
  let n = 0;
  body.on('data', (c: Buffer) => (n += c.length));
  await within(once(body, 'end'), 'the rest of the body');
  assert.equal(n, size);
  assert.equal(pool.connections(), 1);
});

test('request bodies: end(buffer) goes out with the head in one write; a piped stream is chunked', async (t) => {
  const up = await RawUpstream.start(t, (req) => req.socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${req.body.length}\r\n\r\n${req.body.toString()}`));
  let writes = 0;
  const pool = poolFor(
    t,
    up.port,
    {},
    {
      connect: (o: NetConnectOpts) => {
        const s = net.connect(o);
        const write = s.write.bind(s) as (...args: unknown[]) => boolean;
        s.write = ((...args: unknown[]) => {
          writes++;
          return write(...args);
        }) as typeof s.write;
        return s;
      },
    },
  );
  const small = await send(pool, { method: 'POST', headers: { 'content-length': '11' } }, { body: Buffer.from('hello world') }).result;
  assert.equal(text(small), 'hello world');
  assert.equal(writes, 1);
  assert.equal(up.requests[0]?.earlyBodyBytes, 11);
  writes = 0;
  assert.equal((await send(pool).result).status, 200);
  assert.equal(writes, 1);
  const streamed = await send(pool, { method: 'PUT' }, { stream: [Buffer.from('part one, '), Buffer.from(''), Buffer.from('part two')] }).result;
  assert.equal(text(streamed), 'part one, part two');
  assert.equal(up.requests[2]?.headers['transfer-encoding'], 'chunked');
  assert.equal(up.requests[2]?.headers['content-length'], undefined);
  const empty = await send(pool, { method: 'POST' }).result;
  assert.equal(empty.status, 200);
  assert.equal(up.requests[3]?.headers['content-length'], '0');
  assert.equal(up.accepted, 1);
});

test('HTTP/1.0 and Keep-Alive hints decide reuse', async (t) => {
  const up = await RawUpstream.start(t, (req) => {
    if (req.path === '/10') req.socket.write('HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok');
    else if (req.path === '/10ka') req.socket.write('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\ncontent-length: 2\r\n\r\nok');
    else if (req.path === '/hint1') req.socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\ncontent-length: 2\r\n\r\nok');
    else req.socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nok');
  });
  const pool = poolFor(t, up.port);
  let kept = false;
  for (const [path, reusable] of [
    ['/10ka', true],
    ['/10', false],
    ['/hint1', false],
    ['/close', false],
    ['/10ka', true],
  ] as const) {
    const before = up.accepted;
    assert.equal(text(await send(pool, { path }).result), 'ok');
    assert.equal(pool.connections(), reusable ? 1 : 0, path);
    assert.equal(up.accepted, kept ? before : before + 1, path);
    kept = reusable;
  }
});

test('a Keep-Alive timeout hint shortens the idle timeout', async (t) => {
  const up = await RawUpstream.start(t, (req) => req.socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2\r\ncontent-length: 2\r\n\r\nok'));
  const pool = poolFor(t, up.port, { idleTimeoutMs: 60_000 });
  assert.equal(text(await send(pool).result), 'ok');
  assert.equal(pool.connections(), 1);
  const socket = up.sockets[0] as net.Socket;
  await within(once(socket, 'close'), 'the idle connection to expire after ~1 s');
  assert.equal(pool.connections(), 0);
});

test('idle connections close after idleTimeoutMs', async (t) => {
  const up = await RawUpstream.start(t);
  const pool = poolFor(t, up.port, { idleTimeoutMs: 50 });
  await Promise.all([send(pool).result, send(pool).result]);
  assert.equal(pool.connections(), 2);
  await within(Promise.all(up.sockets.map((s) => (s.destroyed ? undefined : once(s, 'close')))), 'idle connections to expire');
  assert.equal(pool.connections(), 0);
});

test('invalid requests are refused without touching the network, never synchronously', async (t) => {
  const up = await RawUpstream.start(t);
  const pool = poolFor(t, up.port);
  let returned = false;
  const failed = new Promise<{ kind: UpstreamFailure; err: Error; afterReturn: boolean }>((resolve) => {
    pool.request(
      { method: 'GET', path: '/', authority: 'up.test', headers: { 'x-evil': 'a\r\nx-injected: 1' }, endStream: true },
      { onResponse: () => {}, onError: (kind, err) => resolve({ kind, err, afterReturn: returned }) },
    );
    returned = true;
  });
  const r = await within(failed, 'the refusal');
  assert.equal(r.afterReturn, true);
  assert.equal(r.kind, 'reset');
  assert.match(r.err.message, /refusing to send invalid request: value of header x-evil/);
  assert.equal(pool.connections(), 0);
  assert.equal(up.accepted, 0);
});

test('close() fails waiting requests and destroys open connections', async (t) => {
  const up = await RawUpstream.start(t, () => {});
  const pool = poolFor(t, up.port, { maxConnections: 1 });
  const active = send(pool);
  const waiting = send(pool);
  await up.requestCount(1);
  pool.close();
  const [ra, rw] = await Promise.all([active.result, waiting.result]);
  assert.equal(ra.failure, 'reset');
  assert.equal(rw.failure, 'connect-failure');
  assert.equal(pool.connections(), 0);
  assert.equal(pool.pending(), 0);
  const after = await send(pool).result;
  assert.equal(after.failure, 'connect-failure');
});

test('requests a node:http server parses as intended (GET, HEAD, POST with length, chunked PUT, array headers)', async (t) => {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const echo = JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, te: req.headers['transfer-encoding'], cl: req.headers['content-length'], multi: req.headers['x-multi'], body });
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(echo);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  server.keepAliveTimeout = 30_000;
  const pool = poolFor(t, (server.address() as net.AddressInfo).port);
  const get = await send(pool, { path: '/x?y=1', headers: { 'x-multi': ['1', '2'] } }).result;
  assert.deepEqual(get.headers?.['set-cookie'], ['a=1', 'b=2']);
  assert.deepEqual(JSON.parse(text(get)), { method: 'GET', url: '/x?y=1', host: 'up.test', multi: '1, 2', body: '' });
  const head = await send(pool, { method: 'HEAD' }).result;
  assert.equal(head.status, 200);
  assert.equal(text(head), '');
  const post = await send(pool, { method: 'POST', headers: { 'content-length': 5 } }, { body: Buffer.from('12345') }).result;
  assert.deepEqual(JSON.parse(text(post)), { method: 'POST', url: '/', host: 'up.test', cl: '5', body: '12345' });
  const put = await send(pool, { method: 'PUT' }, { stream: [Buffer.from('a'.repeat(70_000)), Buffer.from('b')] }).result;
  const echoed = JSON.parse(text(put)) as { te: string; body: string };
  assert.equal(echoed.te, 'chunked');
  assert.equal(echoed.body, `${'a'.repeat(70_000)}b`);
  assert.equal(pool.connections(), 1);
});
