/**
 * Bad input never crashes the sidecar and always gets the right answer: malformed requests
 * 400, oversized header sections 431, slow clients cut off after the header timeout, and
 * random bytes/requests (property-based) leave the process live and serving.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { freePorts, request, startSidecar, startUpstream } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

/** Send raw bytes, collect everything until the server closes (or the timeout). */
function raw(port: number, data: string | Buffer, timeoutMs = 15_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve({ text, closed: false });
    }, timeoutMs);
    s.on('data', (c) => (text += c.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ text, closed: true });
    });
    s.write(data);
  });
}

describe('sidecar bad input', () => {
  let sc: SidecarProcess;
  let up: Upstream;
  let admin = 0;
  let port = 0;
  let proxyPort = 0;

  before(async () => {
    up = await startUpstream('up');
    [admin, port, proxyPort] = (await freePorts(3)) as [number, number, number];
    sc = await startSidecar(
      `
apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: c }
spec:
  service: c
  outbound:
    proxyPort: ${proxyPort}
    ports: [ { port: ${port}, service: up } ]
  admin: { port: ${admin} }
  limits: { maxHeaderBytes: 8192, headerTimeoutMs: 1000 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: up }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${up.port} } ]
`,
      admin,
    );
  });

  after(async () => {
    await sc?.stop();
    await up?.close();
  });

  const alive = async (): Promise<void> => {
    const r = await request({ port: admin, path: '/live' });
    assert.equal(r.status, 200);
    assert.equal(sc.proc.exitCode, null, `sidecar died: ${sc.stderr().slice(-2000)}`);
  };

  test('malformed request line gets 400', async () => {
    const r = await raw(port, 'THIS IS NOT HTTP\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    assert.match(r.text, /x-strata-error: STRATA_BAD_REQUEST/);
    await alive();
  });

  test('invalid header characters get 400', async () => {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: up\r\nBad Header: x\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    await alive();
  });

  test('header section over the limit gets 431', async () => {
    const r = await raw(port, `GET / HTTP/1.1\r\nHost: up\r\nx-big: ${'a'.repeat(10_000)}\r\n\r\n`);
    assert.match(r.text, /^HTTP\/1\.1 431 /);
    assert.match(r.text, /STRATA_HEADERS_TOO_LARGE/);
    await alive();
  });

  test('slowloris: a client that never finishes its headers is closed after the header timeout', async () => {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: up\r\nx-a: 1\r\n', 20_000);
    assert.equal(r.closed, true, 'connection should be closed by the sidecar');
    assert.match(r.text, /^HTTP\/1\.1 408 |^$/);
    await alive();
  });

  test('a connection that sends nothing is closed after the header timeout', async () => {
    const r = await raw(port, '', 20_000);
    assert.equal(r.closed, true);
    await alive();
  });

  test('request smuggling: ambiguous framing is refused before anything reaches the upstream', async () => {
    const before = up.requests.length;
    const cases: [string, RegExp][] = [
      ['POST / HTTP/1.1\r\nHost: up\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['POST / HTTP/1.1\r\nHost: up\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd', /^HTTP\/1\.1 400 /],
      ['POST / HTTP/1.1\r\nHost: up\r\nContent-Length: +4\r\n\r\nabcd', /^HTTP\/1\.1 400 /],
      ['POST / HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', /^HTTP\/1\.1 501 /],
      ['POST / HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: identity\r\nContent-Length: 4\r\n\r\nabcd', /^HTTP\/1\.1 400 /],
      ['POST / HTTP/1.1\r\nHost: up\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['POST / HTTP/1.1\r\nHost: up\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['GET / HTTP/1.1\r\nHost: up\r\nHost: other\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['GET / HTTP/1.1\r\nX-A: 1\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['GET / HTTP/1.1\nHost: up\n\n', /^HTTP\/1\.1 400 /],
      ['POST / HTTP/1.1\r\nHost: up\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n', /^HTTP\/1\.1 400 /],
    ];
    for (const [input, status] of cases) {
      const r = await raw(port, input);
      assert.match(r.text, status, JSON.stringify(input));
      assert.match(r.text, /x-strata-error: STRATA_BAD_REQUEST/);
      assert.ok(r.closed, 'the connection is closed after a framing error');
    }
    assert.equal(up.requests.length, before, 'no refused request reached the upstream');
    await alive();
  });

  test('bad CONNECT target gets 400', async () => {
    const r = await raw(proxyPort, 'CONNECT nonsense HTTP/1.1\r\nHost: nonsense\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    await alive();
  });

  test('unsupported absolute-form scheme gets 400', async () => {
    const r = await raw(proxyPort, 'GET ftp://up/x HTTP/1.1\r\nHost: up\r\n\r\n');
    assert.match(r.text, /^HTTP\/1\.1 400 /);
    await alive();
  });

  test('fuzz: random bytes never crash the listener', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), async (bytes) => {
        await raw(port, Buffer.from(bytes), 3000);
      }),
      { numRuns: 60 },
    );
    await alive();
  });

  test('fuzz: random request lines, paths and headers get an HTTP answer (never a crash)', async () => {
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
    const pathArb = fc.string({ maxLength: 80 }).map((s) => `/${encodeURIComponent(s)}`);
    const valueArb = fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n\0]/g, ''));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'), pathArb, fc.array(fc.tuple(token, valueArb), { maxLength: 6 }), async (method, path, headers) => {
        const hs = headers.map(([k, v]) => `${k}: ${v}\r\n`).join('');
        const r = await raw(port, `${method} ${path} HTTP/1.1\r\nHost: up\r\n${hs}connection: close\r\ncontent-length: 0\r\n\r\n`, 10_000);
        assert.match(r.text, /^HTTP\/1\.1 \d{3} /, `no HTTP answer for ${method} ${path}`);
      }),
      { numRuns: 60 },
    );
    await alive();
  });

  test('fuzz: random Host values through the forward proxy get 404 or 200, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[a-z0-9.-]{1,30}(:[0-9]{1,5})?$/), async (host) => {
        const r = await raw(proxyPort, `GET /x HTTP/1.1\r\nHost: ${host}\r\nconnection: close\r\n\r\n`, 10_000);
        assert.match(r.text, /^HTTP\/1\.1 (404|200|400) /);
      }),
      { numRuns: 40 },
    );
    await alive();
  });
});
