/**
 * Opaque TCP: a local port for a TCP service, a TCP app behind a sidecar's inbound port,
 * and CONNECT tunnels through the outbound forward proxy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { freePorts, startSidecar } from './lib/harness.js';
import type { SidecarProcess } from './lib/harness.js';

function exchange(port: number, payload: string, prefix = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('connect', () => s.write(prefix + payload));
    s.on('data', (c) => {
      got += c.toString();
      if (got.endsWith('\n') && got.includes(`echo:${payload}`)) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.setTimeout(15_000, () => {
      s.destroy();
      reject(new Error(`timeout; got ${JSON.stringify(got)}`));
    });
  });
}

describe('opaque TCP', () => {
  let echo: net.Server;
  let a: SidecarProcess;
  let b: SidecarProcess;
  let ports: number[];

  before(async () => {
    echo = net.createServer((s) => s.on('data', (d) => s.write(`echo:${d.toString()}`)));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const echoPort = (echo.address() as net.AddressInfo).port;
    ports = await freePorts(6);
    const [adminA, adminB, localTcp, inboundB, proxyPort] = ports as [number, number, number, number, number];
    b = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: b }
spec:
  service: db
  inbound: { port: ${inboundB}, appPort: ${echoPort}, appProtocol: tcp }
  admin: { port: ${adminB} }
`,
      adminB,
    );
    a = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: a }
spec:
  service: client
  outbound:
    proxyPort: ${proxyPort}
    ports: [ { port: ${localTcp}, service: db, protocol: tcp } ]
  admin: { port: ${adminA} }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: db }
spec:
  protocol: tcp
  endpoints: [ { address: 127.0.0.1, port: ${inboundB}, sidecar: true } ]
`,
      adminA,
    );
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    echo?.close();
  });

  test('bytes cross a local TCP port and a TCP inbound', async () => {
    const got = await exchange(ports[2] as number, 'hello-tcp\n');
    assert.equal(got, 'echo:hello-tcp\n');
  });

  test('CONNECT to a TCP service tunnels to its endpoint', async () => {
    const proxyPort = ports[4] as number;
    const got = await new Promise<string>((resolve, reject) => {
      const s = net.connect(proxyPort, '127.0.0.1');
      let buf = '';
      let tunnelled = false;
      s.on('connect', () => s.write('CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n'));
      s.on('data', (c) => {
        buf += c.toString();
        if (!tunnelled && buf.includes('\r\n\r\n')) {
          assert.match(buf, /^HTTP\/1\.1 200 /);
          tunnelled = true;
          buf = '';
          s.write('through-connect\n');
        } else if (tunnelled && buf.endsWith('\n')) {
          s.end();
          resolve(buf);
        }
      });
      s.on('error', reject);
    });
    assert.equal(got, 'echo:through-connect\n');
  });
});
