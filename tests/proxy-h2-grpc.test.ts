/**
 * HTTP/2, gRPC and WebSocket through a two-sidecar path:
 *   client → sidecar A (local port, h1 or h2c) ══h2══▶ sidecar B inbound → app
 * HTTP/1.1 from the app is carried over HTTP/2 between sidecars and restored as HTTP/1.1.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { WebSocketServer, WebSocket } from 'ws';
import http from 'node:http';
import { ROOT, freePorts, request, startSidecar, startUpstream } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

const exec = promisify(execFile);

interface Msg {
  text: string;
  n: number;
}

type EchoClient = grpc.Client & {
  Unary(m: Msg, cb: (err: grpc.ServiceError | null, r?: Msg) => void): void;
  ServerStream(m: Msg): grpc.ClientReadableStream<Msg>;
  ClientStream(cb: (err: grpc.ServiceError | null, r?: Msg) => void): grpc.ClientWritableStream<Msg>;
  Bidi(): grpc.ClientDuplexStream<Msg, Msg>;
};

function loadEcho(): grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition } {
  const def = protoLoader.loadSync(join(ROOT, 'tests', 'fixtures', 'echo.proto'), { keepCase: true, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { strata: { test: { Echo: grpc.ServiceClientConstructor & { service: grpc.ServiceDefinition } } } };
  return pkg.strata.test.Echo;
}

describe('two-sidecar path: HTTP/2, gRPC, WebSocket', () => {
  let a: SidecarProcess;
  let b: SidecarProcess;
  let g: SidecarProcess;
  let app: Upstream;
  let grpcServer: grpc.Server;
  let wsHttp: http.Server;
  let wss: WebSocketServer;
  let ports: number[];

  before(async () => {
    app = await startUpstream('app-b');
    ports = await freePorts(12);
    const [adminA, adminB, adminG, localWeb, localGrpc, inboundB, inboundG, localWs, inboundW, adminW, grpcAppPort] = ports as [number, number, number, number, number, number, number, number, number, number, number];
    // gRPC app
    const Echo = loadEcho();
    grpcServer = new grpc.Server();
    grpcServer.addService(Echo.service, {
      Unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
        const md = new grpc.Metadata();
        md.set('x-trailer-check', 'present');
        cb(null, { text: `echo:${call.request.text}`, n: call.request.n + 1 }, md);
      },
      ServerStream: (call: grpc.ServerWritableStream<Msg, Msg>) => {
        for (let i = 0; i < call.request.n; i++) call.write({ text: `${call.request.text}#${i}`, n: i });
        call.end();
      },
      ClientStream: (call: grpc.ServerReadableStream<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
        const parts: string[] = [];
        call.on('data', (m: Msg) => parts.push(m.text));
        call.on('end', () => cb(null, { text: parts.join(','), n: parts.length }));
      },
      Bidi: (call: grpc.ServerDuplexStream<Msg, Msg>) => {
        call.on('data', (m: Msg) => call.write({ text: `re:${m.text}`, n: m.n }));
        call.on('end', () => call.end());
      },
    });
    await new Promise<void>((resolve, reject) =>
      grpcServer.bindAsync(`127.0.0.1:${grpcAppPort}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    // WebSocket app
    wsHttp = http.createServer();
    wss = new WebSocketServer({ server: wsHttp });
    wss.on('connection', (sock, req) => {
      sock.on('message', (data) => sock.send(`ws-echo:${req.url}:${data.toString()}`));
    });
    await new Promise<void>((r) => wsHttp.listen(0, '127.0.0.1', () => r()));
    const wsPort = (wsHttp.address() as { port: number }).port;

    const services = `
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: web }
spec:
  protocol: http
  endpoints: [ { address: 127.0.0.1, port: ${inboundB}, sidecar: true } ]
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: echo }
spec:
  protocol: grpc
  endpoints: [ { address: 127.0.0.1, port: ${inboundG}, sidecar: true } ]
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: wsapp }
spec:
  protocol: http
  endpoints: [ { address: 127.0.0.1, port: ${inboundW}, sidecar: true } ]
`;
    a = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: a }
spec:
  service: client
  outbound:
    ports:
      - { port: ${localWeb}, service: web }
      - { port: ${localGrpc}, service: echo }
      - { port: ${localWs}, service: wsapp }
  admin: { port: ${adminA} }
${services}`,
      adminA,
    );
    b = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: b }
spec:
  service: web
  inbound: { port: ${inboundB}, appPort: ${app.port}, appProtocol: http }
  admin: { port: ${adminB} }
`,
      adminB,
    );
    g = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: g }
spec:
  service: echo
  inbound: { port: ${inboundG}, appPort: ${grpcAppPort}, appProtocol: grpc }
  admin: { port: ${adminG} }
`,
      adminG,
    );
    // The WebSocket app's sidecar reuses sidecar-per-app: one more process.
    const w = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: w }
spec:
  service: wsapp
  inbound: { port: ${inboundW}, appPort: ${wsPort}, appProtocol: http }
  admin: { port: ${adminW} }
`,
      adminW,
    );
    extra.push(w);
  });
  const extra: SidecarProcess[] = [];

  after(async () => {
    await Promise.all([a?.stop(), b?.stop(), g?.stop(), ...extra.map((s) => s.stop())]);
    await app?.close();
    grpcServer?.forceShutdown();
    wss?.close();
    wsHttp?.closeAllConnections();
    wsHttp?.close();
  });

  const localWeb = (): number => ports[3] as number;
  const localGrpc = (): number => ports[4] as number;
  const localWs = (): number => ports[7] as number;

  test('HTTP/1.1 app traffic crosses the h2 hop and arrives as HTTP/1.1', async () => {
    const r = await request({ port: localWeb(), path: '/two-hop', headers: { 'x-k': 'v' } });
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body);
    assert.equal(echo.upstream, 'app-b');
    assert.equal(echo.headers['x-k'], 'v');
    assert.equal(echo.headers['host'], 'web');
    const clusters = JSON.parse((await request({ port: ports[0] as number, path: '/clusters' })).body) as { name: string; connections: number }[];
    const web = clusters.find((c) => c.name === 'web');
    assert.ok(web && web.connections >= 1);
  });

  test('POST bodies cross both hops', async () => {
    const body = 'z'.repeat(200_000);
    const r = await request({ port: localWeb(), path: '/post', method: 'POST', body });
    assert.equal(JSON.parse(r.body).body.length, 200_000);
  });

  test('h2c prior knowledge downstream (curl --http2-prior-knowledge and nghttp)', async () => {
    const { stdout } = await exec('curl', ['-s', '--http2-prior-knowledge', `http://127.0.0.1:${localWeb()}/h2c`]);
    assert.equal(JSON.parse(stdout).url, '/h2c');
    const ng = await exec('nghttp', ['-v', `http://127.0.0.1:${localWeb()}/nghttp`]);
    assert.match(ng.stdout, /:status: 200/);
    assert.match(ng.stdout, /"url":"\/nghttp"/);
  });

  test('h2load: many multiplexed streams all succeed', async () => {
    const { stdout } = await exec('h2load', ['-n', '400', '-c', '4', '-m', '20', `http://127.0.0.1:${localWeb()}/load`]);
    assert.match(stdout, /400 succeeded, 0 failed, 0 errored/);
  });

  test('gRPC unary with trailers through both sidecars', async () => {
    const Echo = loadEcho();
    const client = new Echo(`127.0.0.1:${localGrpc()}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
    try {
      const trailers = new Promise<grpc.Metadata>((resolve) => {
        const call = (client as unknown as { Unary(m: Msg, cb: (e: grpc.ServiceError | null, r?: Msg) => void): grpc.ClientUnaryCall }).Unary({ text: 'hi', n: 1 }, () => undefined);
        call.on('status', (s: grpc.StatusObject) => resolve(s.metadata));
      });
      const r = await new Promise<Msg>((resolve, reject) => client.Unary({ text: 'hi', n: 41 }, (err, res) => (err ? reject(err) : resolve(res as Msg))));
      assert.deepEqual(r, { text: 'echo:hi', n: 42 });
      assert.deepEqual((await trailers).get('x-trailer-check'), ['present']);
    } finally {
      client.close();
    }
  });

  test('gRPC server, client and bidirectional streaming', async () => {
    const Echo = loadEcho();
    const client = new Echo(`127.0.0.1:${localGrpc()}`, grpc.credentials.createInsecure()) as unknown as EchoClient;
    try {
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const s = client.ServerStream({ text: 's', n: 5 });
        s.on('data', (m: Msg) => got.push(m.text));
        s.on('end', resolve);
        s.on('error', reject);
      });
      assert.deepEqual(got, ['s#0', 's#1', 's#2', 's#3', 's#4']);

      const cs = await new Promise<Msg>((resolve, reject) => {
        const w = client.ClientStream((err, r) => (err ? reject(err) : resolve(r as Msg)));
        for (const t of ['a', 'b', 'c']) w.write({ text: t, n: 0 });
        w.end();
      });
      assert.deepEqual(cs, { text: 'a,b,c', n: 3 });

      const bidi: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const d = client.Bidi();
        d.on('data', (m: Msg) => {
          bidi.push(m.text);
          if (bidi.length === 3) d.end();
        });
        d.on('end', resolve);
        d.on('error', reject);
        d.write({ text: 'x', n: 1 });
        d.write({ text: 'y', n: 2 });
        d.write({ text: 'z', n: 3 });
      });
      assert.deepEqual(bidi, ['re:x', 're:y', 're:z']);
    } finally {
      client.close();
    }
  });

  test('WebSocket upgrade through both sidecars', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${localWs()}/chat`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('ping'));
      ws.on('message', (d) => resolve(d.toString()));
      ws.on('error', reject);
    });
    ws.close();
    assert.equal(reply, 'ws-echo:/chat:ping');
  });
});
