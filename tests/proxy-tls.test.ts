/**
 * TLS with ALPN: a sidecar's inbound listener terminates TLS and serves h2 or HTTP/1.1 by
 * ALPN; another sidecar dials it over TLS (h2), verifying the certificate against a CA file.
 * A missing CA file is refused as configuration, keeping the running config.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { configDump, freePorts, request, rewriteConfig, startSidecar, startUpstream, waitFor } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

const exec = promisify(execFile);

describe('TLS with ALPN between sidecars', () => {
  let dir: string;
  let app: Upstream;
  let a: SidecarProcess;
  let b: SidecarProcess;
  let ports: number[];
  let configA: (caFile: string) => string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'strata-tls-'));
    await exec('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-subj', '/CN=web.mesh', '-addext', 'subjectAltName=DNS:web.mesh',
    ]);
    app = await startUpstream('tls-app');
    ports = await freePorts(4);
    const [adminA, adminB, localA, inboundB] = ports as [number, number, number, number];
    b = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: b }
spec:
  service: web
  inbound:
    port: ${inboundB}
    appPort: ${app.port}
    tls: { certFile: ${join(dir, 'cert.pem')}, keyFile: ${join(dir, 'key.pem')} }
  admin: { port: ${adminB} }
`,
      adminB,
    );
    configA = (caFile: string) => `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: a }
spec:
  service: client
  outbound: { ports: [ { port: ${localA}, service: web } ] }
  admin: { port: ${adminA} }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: web }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${inboundB}, sidecar: true } ]
  tls: { serverName: web.mesh, caFile: ${caFile} }
`;
    a = await startSidecar(configA(join(dir, 'cert.pem')), adminA);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('sidecar → sidecar over TLS (ALPN h2, certificate verified)', async () => {
    const r = await request({ port: ports[2] as number, path: '/secure' });
    assert.equal(r.status, 200, r.body);
    assert.equal(JSON.parse(r.body).url, '/secure');
  });

  test('the TLS inbound serves HTTP/2 and HTTP/1.1 by ALPN (curl)', async () => {
    const inbound = ports[3] as number;
    const common = ['-s', '--cacert', join(dir, 'cert.pem'), '--resolve', `web.mesh:${inbound}:127.0.0.1`, '-o', '/dev/null', '-w', '%{http_version} %{http_code}'];
    const h2 = await exec('curl', [...common, '--http2', `https://web.mesh:${inbound}/a`]);
    assert.equal(h2.stdout, '2 200');
    const h1 = await exec('curl', [...common, '--http1.1', `https://web.mesh:${inbound}/b`]);
    assert.equal(h1.stdout, '1.1 200');
  });

  test('a missing CA file is refused as configuration; the running config keeps serving', async () => {
    const adminA = ports[0] as number;
    const before = await configDump(adminA);
    rewriteConfig(a, configA(join(dir, 'missing-ca.pem')));
    const dump = await waitFor('rejection', async () => {
      const d = await configDump(adminA);
      return d.lastRejected ? d : undefined;
    });
    assert.equal(dump.version, before.version);
    assert.match(dump.lastRejected?.errors.join('\n') ?? '', /cluster web: cannot read tls\.caFile .*missing-ca\.pem/);
    const r = await request({ port: ports[2] as number, path: '/still' });
    assert.equal(r.status, 200);
  });
});
