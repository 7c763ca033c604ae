/**
 * Request priority wired inside an in-process Sidecar: with priority configured the kernel
 * layer's hook is installed, so the sockets of a class's upstream pool carry the class's DSCP,
 * SO_PRIORITY and congestion control (read back with getsockopt from the pool's own socket);
 * without priority the hook is removed. The class of the inbound requests in flight at the app
 * is what the AMQP listener and outbound requests without a class get (inference).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { compileSnapshot } from '../config/compile.js';
import { decodeResources } from '../config/decode.js';
import type { Snapshot } from '../config/snapshot.js';
import { readSocketOptions, socketOptionsSupported } from '../net/sockopt.js';
import { socketMarkingAvailable } from './priority/socket-hook.js';
import { Sidecar } from './sidecar.js';
import { freePort } from '../util/free-port.js';

function snapshot(yaml: string, version: string): Snapshot {
  const res = decodeResources(yaml, 'sidecar.yaml');
  assert.ok(res.ok, JSON.stringify(res));
  const snap = compileSnapshot(res.value, 'sidecar.yaml');
  assert.ok(snap.ok, JSON.stringify(snap));
  return { ...snap.value, version };
}


function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/** GET through a listener; resolves with status and body. */
function get(port: number, path: string, headers: http.OutgoingHttpHeaders): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The client side of a loopback connection, found among this process's handles by its local port. */
function clientSocket(localPort: number, remotePort: number): net.Socket {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  const s = handles.find((h): h is net.Socket => h instanceof net.Socket && h.localPort === localPort && h.remotePort === remotePort);
  assert.ok(s, `no socket ${localPort} → ${remotePort} in this process`);
  return s;
}

const PRIORITY = `
---
apiVersion: strata.dev/v1alpha1
kind: PriorityClass
metadata: { name: latency-sensitive }
spec: { rank: 300, dscp: 46, soPriority: 5, congestion: bbr }
`;

test('priority on: each class pool socket carries its class marks (IP_TOS, SO_PRIORITY, TCP_CONGESTION); off: the hook is gone', { skip: socketOptionsSupported() ? false : 'socket options need Linux and koffi' }, async () => {
  const peers: number[] = [];
  const upstream = http.createServer((req, res) => {
    peers.push(req.socket.remotePort ?? 0);
    res.end(String(req.headers['x-strata-priority']));
  });
  const upPort = await listen(upstream);
  const proxyPort = await freePort();
  const base = `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: web }
spec:
  service: web
  outbound: { proxyPort: ${proxyPort}, address: 127.0.0.1 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: api }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${upPort} }]
`;
  const sidecar = new Sidecar(snapshot(base + PRIORITY, 'v1'));
  try {
    await sidecar.start();
    assert.equal(socketMarkingAvailable(), true, 'installed with priority configured');

    const ls = await get(proxyPort, 'http://api/ls', { host: 'api', 'x-strata-priority': 'latency-sensitive' });
    assert.deepEqual(ls, { status: 200, body: 'latency-sensitive' });
    const marks = readSocketOptions(clientSocket(peers.at(-1) as number, upPort));
    assert.deepEqual({ dscp: marks.dscp, soPriority: marks.soPriority, congestion: marks.congestion }, { dscp: 46, soPriority: 5, congestion: 'bbr' });

    // The built-in bulk class: DSCP 1 (LE), SO_PRIORITY 2, reno, on a connection of its own.
    const bulk = await get(proxyPort, 'http://api/bulk', { host: 'api', 'x-strata-priority': 'bulk' });
    assert.deepEqual(bulk, { status: 200, body: 'bulk' });
    const bulkMarks = readSocketOptions(clientSocket(peers.at(-1) as number, upPort));
    assert.deepEqual({ dscp: bulkMarks.dscp, soPriority: bulkMarks.soPriority, congestion: bulkMarks.congestion }, { dscp: 1, soPriority: 2, congestion: 'reno' });

    assert.deepEqual(await sidecar.apply(snapshot(base, 'v2')), { ok: true });
    assert.equal(socketMarkingAvailable(), false, 'removed once priority is gone from the config');
    assert.deepEqual(await sidecar.apply(snapshot(base + PRIORITY, 'v3')), { ok: true });
    assert.equal(socketMarkingAvailable(), true, 'back with priority');
  } finally {
    sidecar.destroy();
    upstream.closeAllConnections();
    upstream.close();
  }
  assert.equal(socketMarkingAvailable(), false, 'a destroyed sidecar leaves no hook behind');
});

test('inference: the class all in-flight inbound requests share is the current class (AMQP) and the class of outbound requests without one', async () => {
  const held: http.ServerResponse[] = [];
  const app = http.createServer((req, res) => {
    if (req.url === '/hold') held.push(res);
    else res.end('ok');
  });
  const appPort = await listen(app);
  const seen: string[] = [];
  const upstream = http.createServer((req, res) => {
    seen.push(String(req.headers['x-strata-priority']));
    res.end();
  });
  const upPort = await listen(upstream);
  const [inPort, proxyPort] = [await freePort(), await freePort()];
  const sidecar = new Sidecar(
    snapshot(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: web }
spec:
  service: web
  inbound: { port: ${inPort}, address: 127.0.0.1, appPort: ${appPort} }
  outbound: { proxyPort: ${proxyPort}, address: 127.0.0.1 }
  priority: {}
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: api }
spec:
  endpoints: [{ address: 127.0.0.1, port: ${upPort} }]
`,
      'v1',
    ),
  );
  const waitHeld = async (n: number): Promise<void> => {
    while (held.length < n) await new Promise((r) => setTimeout(r, 5));
  };
  try {
    await sidecar.start();
    assert.equal(sidecar.currentClass(), undefined, 'nothing in flight');
    const outbound = (): Promise<unknown> => get(proxyPort, 'http://api/', { host: 'api' });

    const first = get(inPort, '/hold', { 'x-strata-priority': 'latency-sensitive' });
    await waitHeld(1);
    assert.equal(sidecar.currentClass(), 'latency-sensitive');
    await outbound();
    assert.equal(seen.at(-1), 'latency-sensitive', 'an outbound request without a class gets the inferred one');
    await outbound();
    await get(proxyPort, 'http://api/', { host: 'api', 'x-strata-priority': 'bulk' });
    assert.equal(seen.at(-1), 'bulk', 'a class the app sends wins');

    const second = get(inPort, '/hold', { 'x-strata-priority': 'bulk' });
    await waitHeld(2);
    assert.equal(sidecar.currentClass(), undefined, 'mixed classes: nothing inferred');
    await outbound();
    assert.equal(seen.at(-1), 'default', 'mixed: the policy decides (default class)');

    held[0]?.end('done');
    await first;
    assert.equal(sidecar.currentClass(), 'bulk', 'the remaining request decides');
    held[1]?.end('done');
    await second;
    assert.equal(sidecar.currentClass(), undefined);
    await outbound();
    assert.equal(seen.at(-1), 'default');

    const stats = (await sidecar.metrics.expose()).body;
    assert.match(stats, /strata_priority_classified_total\{direction="outbound",class="latency-sensitive",source="inferred"\} 2\n/);
    assert.match(stats, /strata_priority_classified_total\{direction="outbound",class="bulk",source="explicit"\} 1\n/);
    assert.match(stats, /strata_priority_classified_total\{direction="outbound",class="default",source="none"\} 2\n/);
    assert.match(stats, /strata_priority_classified_total\{direction="inbound",class="latency-sensitive",source="explicit"\} 1\n/);
    assert.match(stats, /strata_priority_request_duration_seconds_count\{direction="inbound",class="bulk"\} 1\n/);
    assert.match(stats, /strata_priority_request_duration_seconds_count\{direction="outbound",class="default"\} 2\n/);

    sidecar.setClassSource(() => 'bulk');
    assert.equal(sidecar.currentClass(), 'bulk', 'an explicit source replaces inference');
    sidecar.setClassSource(undefined);
    assert.equal(sidecar.currentClass(), undefined);
  } finally {
    sidecar.destroy();
    for (const s of [app, upstream]) {
      s.closeAllConnections();
      s.close();
    }
  }
});
