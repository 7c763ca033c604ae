import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Socket } from 'node:net';
import { sniffProtocol } from './sniff.js';

/** A server whose sockets are sniffed; `onSocket` sees each accepted socket first. */
async function sniffing(targets: { h1?: (s: Socket, first: Buffer) => void; h2?: (s: Socket) => void }, onSocket?: (s: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    onSocket?.(s);
    sniffProtocol(s, { h1: targets.h1 ?? (() => assert.fail('h1')), h2: targets.h2 ?? (() => assert.fail('h2')) });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('HTTP/1.x: the HTTP/1.1 target gets the first bytes as they are (not pushed back)', async () => {
  let got: { first: string; rest: string } | undefined;
  const done = new Promise<void>((resolve) => {
    void sniffing({
      h1: (s, first) => {
        let rest = '';
        s.on('data', (d: Buffer) => {
          rest += d.toString();
          if (rest.endsWith('more')) {
            got = { first: first.toString(), rest };
            s.destroy();
            resolve();
          }
        });
      },
    }).then((srv) => {
      const c = net.connect(srv.port, '127.0.0.1', () => {
        c.write('GET / HTTP/1.1\r\n');
        setTimeout(() => c.write('more'), 20);
      });
      c.on('close', () => void srv.close());
    });
  });
  await done;
  assert.deepEqual(got, { first: 'GET / HTTP/1.1\r\n', rest: 'more' });
});

test('HTTP/2 preface: the bytes are pushed back for the HTTP/2 server', async () => {
  let text = '';
  let server: Socket | undefined;
  const srv = await sniffing({
    h2: (s) => {
      server = s;
      s.on('data', (d: Buffer) => (text += d.toString()));
    },
  });
  const c = net.connect(srv.port, '127.0.0.1', () => c.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
  while (!text.endsWith('SM\r\n\r\n')) await new Promise((r) => setTimeout(r, 5));
  c.destroy();
  server?.destroy();
  await srv.close();
  assert.equal(text, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
});

test('a client that closes before sending anything is not left half-open', async () => {
  let closed: () => void = () => undefined;
  const gone = new Promise<void>((r) => (closed = r));
  const srv = await sniffing({}, (s) => s.once('close', () => closed()));
  const c = net.connect(srv.port, '127.0.0.1', () => c.end());
  await gone;
  c.destroy();
  await srv.close();
});
