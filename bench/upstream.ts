/**
 * @module bench/upstream
 * The benchmark's upstream application: one single-threaded process on 127.0.0.1 answering
 * every request with a 1 KiB body.
 *
 *   node dist/bench/upstream.js --port N --mode http1|h2c
 *
 * - `http1`: node:http server with long keep-alive; any method, any path → 200 + 1 KiB.
 * - `h2c`:   node:http2 cleartext server (prior knowledge). A request whose content-type starts
 *            with `application/grpc` gets a gRPC-shaped answer (HEADERS, one length-prefixed
 *            message holding a 1 KiB protobuf, then `grpc-status: 0` trailers); anything else
 *            gets 200 + 1 KiB like the HTTP/1.1 mode.
 *
 * Prints `ready <port>` on stdout once listening; exits on SIGTERM/SIGINT.
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { BODY_BYTES, grpcResponseFrame } from './lib/payload.js';

interface UpstreamArgs {
  port: number;
  mode: 'http1' | 'h2c';
}

function parseArgs(argv: string[]): UpstreamArgs {
  let port = 0;
  let mode: UpstreamArgs['mode'] = 'http1';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--port' && v !== undefined) {
      port = Number(v);
      i++;
    } else if (a === '--mode' && (v === 'http1' || v === 'h2c')) {
      mode = v;
      i++;
    } else {
      throw new Error(`upstream: unknown or incomplete argument ${a ?? ''} (usage: --port N --mode http1|h2c)`);
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`upstream: bad --port ${port}`);
  return { port, mode };
}

const plainBody = Buffer.alloc(BODY_BYTES, 'x');
const grpcBody = grpcResponseFrame();

function startHttp1(port: number): Promise<number> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY_BYTES });
      res.end(plainBody);
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.requestTimeout = 0;
  server.maxRequestsPerSocket = 0;
  return listen(server, port);
}

function startH2c(port: number): Promise<number> {
  const server = http2.createServer({
    settings: { maxConcurrentStreams: 1024 },
    maxSessionMemory: 64,
  });
  server.on('stream', (stream, headers) => {
    const contentType = String(headers['content-type'] ?? '');
    stream.on('error', () => undefined);
    stream.resume();
    stream.on('end', () => {
      if (stream.destroyed) return;
      if (contentType.startsWith('application/grpc')) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
        stream.end(grpcBody);
      } else {
        stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': BODY_BYTES });
        stream.end(plainBody);
      }
    });
  });
  server.on('sessionError', () => undefined);
  return listen(server, port);
}

function listen(server: http.Server | http2.Http2Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : port);
    });
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const port = args.mode === 'http1' ? await startHttp1(args.port) : await startH2c(args.port);
  process.stdout.write(`ready ${port}\n`);
  const stop = (): void => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
