import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http';
import { serveH2Stream } from './h2-downstream.js';
import type { H2Request, H2Response } from './h2-downstream.js';

type Handler = (req: H2Request, res: H2Response) => void;

/** An h2c server whose streams go through serveH2Stream to `handler`, and a client session to it. */
async function withServer(handler: Handler, body: (client: http2.ClientHttp2Session) => Promise<void>): Promise<void> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => serveH2Stream(stream, headers, handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    await body(client);
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface Reply {
  headers: IncomingHttpHeaders;
  body: string;
  trailers: IncomingHttpHeaders | undefined;
  rstCode: number;
  continued: boolean;
}

function call(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, reqBody?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const s = client.request(headers, { endStream: reqBody === undefined });
    let got: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    let continued = false;
    const chunks: Buffer[] = [];
    s.on('continue', () => (continued = true));
    s.on('response', (h) => (got = h));
    s.on('trailers', (t) => (trailers = t));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {
      /* the rstCode tells */
    });
    s.on('close', () => resolve({ headers: got, body: Buffer.concat(chunks).toString(), trailers, rstCode: s.rstCode ?? -1, continued }));
    if (reqBody !== undefined) s.end(reqBody);
    s.on('aborted', () => undefined);
    setTimeout(() => reject(new Error('no close within 5 s')), 5000).unref();
  });
}

test('a GET: head from the stream, response headers checked like node:http2 compat, date set, connection dropped', async () => {
  let seen: H2Request | undefined;
  await withServer(
    (req, res) => {
      seen = req;
      res.setHeader('connection', 'close');
      res.setHeader('X-Mixed-Case', 'a');
      assert.equal(res.headersSent, false);
      res.writeHead(201, { 'content-type': 'text/plain', 'x-list': ['1', '2'] });
      assert.equal(res.headersSent, true);
      assert.throws(() => res.setHeader('x-late', '1'), /already been initiated/);
      res.end(Buffer.from('hello'));
    },
    async (client) => {
      const r = await call(client, { ':path': '/a?b=1', 'x-in': 'v' });
      assert.equal(r.headers[':status'], 201);
      assert.equal(r.headers['content-type'], 'text/plain');
      assert.equal(r.headers['x-mixed-case'], 'a');
      assert.equal(r.headers['x-list'], '1, 2');
      assert.equal(r.headers['connection'], undefined);
      assert.ok(r.headers['date']);
      assert.equal(r.body, 'hello');
      assert.equal(r.trailers, undefined);
      assert.equal(r.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    },
  );
  assert.ok(seen);
  assert.equal(seen.method, 'GET');
  assert.equal(seen.url, '/a?b=1');
  assert.equal(seen.headers['x-in'], 'v');
  // The pipeline knows from the head that a GET without DATA frames has no body.
  assert.equal(seen.endedWithHeaders, true);
});

test('bad response header names are refused before anything is sent', async () => {
  await withServer(
    (_req, res) => {
      assert.throws(() => res.writeHead(200, { ':path': '/x' }), { code: 'ERR_HTTP2_PSEUDOHEADER_NOT_ALLOWED' });
      assert.throws(() => res.writeHead(200, { ':weird': 'x' }), { code: 'ERR_HTTP2_INVALID_PSEUDOHEADER' });
      assert.throws(() => res.writeHead(200, { 'bad name': 'x' }), { code: 'ERR_INVALID_HTTP_TOKEN' });
      assert.throws(() => res.setHeader('x-undefined', undefined as unknown as string), { code: 'ERR_HTTP2_INVALID_HEADER_VALUE' });
      assert.throws(() => res.writeHead(200, { 'transfer-encoding': 'chunked' }), { code: 'ERR_HTTP2_INVALID_CONNECTION_HEADERS' });
      assert.equal(res.headersSent, false);
    },
    async (client) => {
      const s = client.request({ ':path': '/' });
      s.on('error', () => undefined);
      s.close(http2.constants.NGHTTP2_CANCEL);
      await new Promise((resolve) => s.on('close', resolve));
    },
  );
});

test('a request body is the stream: piped and ended; trailers follow the body', async () => {
  await withServer(
    (req, res) => {
      assert.equal(req.endedWithHeaders, false);
      const sink = new PassThrough();
      const chunks: Buffer[] = [];
      sink.on('data', (c: Buffer) => chunks.push(c));
      req.pipe(sink);
      req.once('end', () => {
        res.writeHead(200, { 'content-type': 'application/grpc' });
        res.write(Buffer.concat(chunks));
        res.addTrailers({ 'grpc-status': '0', 'Grpc-Message': 'ok' });
        res.end();
      });
    },
    async (client) => {
      const r = await call(client, { ':method': 'POST', ':path': '/svc/M', 'content-type': 'application/grpc', te: 'trailers' }, 'payload');
      assert.equal(r.body, 'payload');
      assert.equal(r.trailers?.['grpc-status'], '0');
      assert.equal(r.trailers?.['grpc-message'], 'ok');
      assert.equal(r.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    },
  );
});

test('HEAD and 204 responses carry no body', async () => {
  await withServer(
    (req, res) => {
      res.writeHead(req.method === 'HEAD' ? 200 : 204, req.method === 'HEAD' ? { 'content-length': '5' } : {});
      res.write(Buffer.from('12345'));
      res.end();
    },
    async (client) => {
      for (const method of ['HEAD', 'GET']) {
        const r = await call(client, { ':method': method, ':path': '/' });
        assert.equal(r.body, '');
        assert.equal(r.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      }
    },
  );
});

test('CONNECT gets 405, an unknown expectation 417, 100-continue a 100 first', async () => {
  let served = 0;
  await withServer(
    (req, res) => {
      served++;
      req.resume();
      req.once('end', () => res.end(Buffer.from('done')));
    },
    async (client) => {
      const connect = await call(client, { ':method': 'CONNECT', ':authority': 'example:443' });
      assert.equal(connect.headers[':status'], 405);
      const odd = await call(client, { ':path': '/', expect: 'something' });
      assert.equal(odd.headers[':status'], 417);
      assert.equal(served, 0);
      const cont = await call(client, { ':method': 'POST', ':path': '/', expect: '100-continue' }, 'x');
      assert.equal(cont.continued, true);
      assert.equal(cont.headers[':status'], 200);
      assert.equal(cont.body, 'done');
    },
  );
});

test('back-pressure: write() says wait and drain comes once the client reads', async () => {
  let sawFalse = false;
  let drained = false;
  await withServer(
    (_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = (): void => {
        while (sent < 16) {
          sent++;
          if (!res.write(chunk)) {
            sawFalse = true;
            res.once('drain', () => {
              drained = true;
              pump();
            });
            return;
          }
        }
        res.end();
      };
      pump();
    },
    async (client) => {
      const r = await call(client, { ':path': '/big' });
      assert.equal(r.body.length, 16 * 64 * 1024);
    },
  );
  assert.ok(sawFalse);
  assert.ok(drained);
});

test('a client reset ends the request body and closes the response; request errors are not emitted', async () => {
  const events: string[] = [];
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  await withServer(
    (req, res) => {
      req.on('data', () => events.push('data'));
      req.once('end', () => events.push('end'));
      req.once('error', () => events.push('error'));
      res.once('close', () => {
        events.push('close');
        closed();
      });
    },
    async (client) => {
      const s = client.request({ ':method': 'POST', ':path': '/' }, { endStream: false });
      s.on('error', () => undefined);
      s.write('part');
      await new Promise((resolve) => setTimeout(resolve, 50));
      s.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await done;
    },
  );
  assert.deepEqual(events, ['data', 'end', 'close']);
});

test('destroy() resets the stream with INTERNAL_ERROR after the head went out', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(200);
      res.write(Buffer.from('partial'));
      setTimeout(() => res.destroy(), 20);
    },
    async (client) => {
      const r = await call(client, { ':path': '/' });
      assert.equal(r.headers[':status'], 200);
      assert.equal(r.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
    },
  );
});

test('a response of declared length has trailers only for a client that sent te: trailers', async () => {
  await withServer(
    (req, res) => {
      res.writeHead(200, { 'content-length': '2' });
      res.write(Buffer.from('ok'));
      res.addTrailers({ 'x-checksum': 'abc' });
      res.end();
      assert.equal(req.headers.te === 'trailers' ? 1 : 0, req.url === '/te' ? 1 : 0);
    },
    async (client) => {
      const plain = await call(client, { ':path': '/plain' });
      assert.equal(plain.body, 'ok');
      assert.equal(plain.trailers, undefined);
      assert.equal(plain.rstCode, http2.constants.NGHTTP2_NO_ERROR);
      const te = await call(client, { ':path': '/te', te: 'trailers' });
      assert.equal(te.body, 'ok');
      assert.equal(te.trailers?.['x-checksum'], 'abc');
    },
  );
});

test('local-reply shaped responses (writeHead then end(payload)) end cleanly', async () => {
  await withServer(
    (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 4, 'x-strata-error': 'STRATA_X', connection: 'close' });
      res.end(Buffer.from('nope'));
    },
    async (client) => {
      const r = await call(client, { ':path': '/' });
      assert.equal(r.headers[':status'], 503);
      assert.equal(r.headers['x-strata-error'], 'STRATA_X');
      assert.equal(r.headers['connection'], undefined);
      assert.equal(r.body, 'nope');
      assert.equal(r.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    },
  );
});
