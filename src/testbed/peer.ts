#!/usr/bin/env node
/**
 * @module testbed/peer
 * A tiny TCP peer to run inside testbed namespaces (`ip netns exec NS node dist/src/testbed/peer.js …`):
 *
 *   sink --port P [--host ADDR]        accept connections, count bytes; on the client's end answer
 *                                      `{"bytes":N}` and close. Prints `listening <port>` when ready.
 *   send --host H --port P --bytes N   connect (socket options set before the SYN), push N bytes,
 *        [--dscp D] [--priority P]     end, wait for the sink's count; prints one JSON line with what
 *        [--congestion C]              getsockopt read back and the count.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { attachSocketOptions, readSocketOptions } from '../net/sockopt.js';
import type { SocketOptions, SocketOptionsRead } from '../net/sockopt.js';

function sink(host: string, port: number): void {
  const server = net.createServer((s) => {
    let bytes = 0;
    s.on('data', (c: Buffer) => (bytes += c.length));
    s.on('end', () => s.end(`${JSON.stringify({ bytes })}\n`));
    s.on('error', () => s.destroy());
  });
  server.listen(port, host, () => {
    const a = server.address();
    process.stdout.write(`listening ${typeof a === 'object' && a ? a.port : port}\n`);
  });
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function send(host: string, port: number, bytes: number, options: SocketOptions): void {
  const socket = net.connect({ host, port });
  const when = attachSocketOptions(socket, options);
  let read: SocketOptionsRead | undefined;
  let answer = '';
  socket.on('connect', () => {
    read = readSocketOptions(socket);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    pump();
  });
  socket.on('data', (c: Buffer) => (answer += c.toString()));
  socket.on('end', () => {
    const got = JSON.parse(answer.trim() || '{}') as { bytes?: number };
    process.stdout.write(`${JSON.stringify({ sent: bytes, received: got.bytes ?? -1, when, options: read })}\n`);
    process.exit(0);
  });
  socket.on('error', (err) => {
    process.stdout.write(`${JSON.stringify({ error: err.message, code: (err as NodeJS.ErrnoException).code })}\n`);
    process.exit(1);
  });
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    bytes: { type: 'string' },
    dscp: { type: 'string' },
    priority: { type: 'string' },
    congestion: { type: 'string' },
  },
});
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
if (positionals[0] === 'sink') {
  sink(values.host ?? '0.0.0.0', num(values.port) ?? 0);
} else if (positionals[0] === 'send' && values.host && values.port) {
  const dscp = num(values.dscp);
  const soPriority = num(values.priority);
  send(values.host, Number(values.port), num(values.bytes) ?? 1_000_000, {
    ...(dscp !== undefined && { dscp }),
    ...(soPriority !== undefined && { soPriority }),
    ...(values.congestion !== undefined && { congestion: values.congestion }),
  });
} else {
  process.stderr.write('usage: peer.js sink --port P [--host A] | send --host H --port P [--bytes N] [--dscp D] [--priority P] [--congestion C]\n');
  process.exit(2);
}
