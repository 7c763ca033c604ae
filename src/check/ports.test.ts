import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SIDECAR, build, docs, registerFakes, service } from '../config/test-support.js';
import { compileSnapshot } from '../config/compile.js';
import { decodeResources } from '../config/decode.js';
import { checkPorts, localControlPort, snapshotListeners, wantedPorts } from './ports.js';
import { fakeContext } from './test-support.js';

registerFakes();

const MESH = build(
  docs(
    SIDECAR.replace('service: me', 'service: me\n  inbound: { port: 16006, appPort: 8080 }\n  outbound: { proxyPort: 16001, ports: [ { port: 19001, service: db } ] }\n  admin: { port: 16000 }'),
    service('db'),
  ),
  'mesh.yaml',
);

test('the control URL gives the API port only when it is local', () => {
  assert.equal(localControlPort('http://127.0.0.1:4000'), 4000);
  assert.equal(localControlPort('http://localhost'), 80);
  assert.equal(localControlPort('http://10.0.0.9:15080'), undefined);
  assert.equal(localControlPort('not a url'), undefined);
});

test('wanted: control API and ADS, every sidecar listener on its address, each --port; merged by host:port', () => {
  const wants = wantedPorts(fakeContext({}, { ports: [15080, 7000], configs: [{ path: 'mesh.yaml', result: MESH }] }));
  const show = wants.map((w) => `${w.host}:${w.port} ${w.labels.join(' + ')}`);
  assert.deepEqual(show, [
    '127.0.0.1:15080 control API + --port',
    '127.0.0.1:15010 ADS',
    '0.0.0.0:16006 mesh.yaml inbound.port',
    '127.0.0.1:16001 mesh.yaml outbound.proxyPort',
    '127.0.0.1:19001 mesh.yaml outbound.ports[0].port → db',
    '127.0.0.1:16000 mesh.yaml admin.port',
    '127.0.0.1:7000 --port',
  ]);
  const invalid = wantedPorts(fakeContext({}, { configs: [{ path: 'bad.yaml', result: { ok: false, errors: [] } }] }));
  assert.equal(invalid.length, 2, 'an invalid config adds no ports (the config check reports it)');
});

test('free ports → ok; a busy one → fail with the port and the ss command', async () => {
  const checks = await checkPorts(fakeContext({ busy: { '127.0.0.1:7000': 'EADDRINUSE' } }, { ports: [7000] }));
  assert.deepEqual(
    checks.map((c) => [c.status, c.detail]),
    [
      ['ok', '15080 (control API) free'],
      ['ok', '15010 (ADS) free'],
      ['fail', '7000 (--port) in use'],
    ],
  );
  assert.equal(checks[2]?.fix, "stop the process using it (`ss -ltnp 'sport = :7000'`) or choose another port");
});

test('a busy config listener names the file in the fix; EACCES and EADDRNOTAVAIL are fails with their own fix', async () => {
  const ctx = fakeContext(
    { busy: { '0.0.0.0:16006': 'EADDRINUSE', '127.0.0.1:16000': 'EACCES', '127.0.0.1:16001': 'EADDRNOTAVAIL', '127.0.0.1:19001': 'EWHATEVER' } },
    { configs: [{ path: 'mesh.yaml', result: MESH }] },
  );
  const byPort = new Map((await checkPorts(ctx)).map((c) => [Number(c.detail.split(' ')[0]), c]));
  assert.equal(byPort.get(16006)?.status, 'fail');
  assert.equal(byPort.get(16006)?.detail, '16006 (mesh.yaml inbound.port) in use on 0.0.0.0');
  assert.match(byPort.get(16006)?.fix ?? '', /sport = :16006.*in mesh\.yaml$/);
  assert.match(byPort.get(16000)?.detail ?? '', /permission denied/);
  assert.match(byPort.get(16000)?.fix ?? '', />= 1024 in mesh\.yaml or run as root/);
  assert.match(byPort.get(16001)?.detail ?? '', /not on this machine/);
  assert.match(byPort.get(19001)?.detail ?? '', /cannot bind \(EWHATEVER\)/);
  for (const c of byPort.values()) if (c.status !== 'ok') assert.ok(c.fix);
});

test('ports held by the running strata control are ok, not conflicts', async () => {
  const busy = { '127.0.0.1:15080': 'EADDRINUSE', '127.0.0.1:15010': 'EADDRINUSE' };
  const running = await checkPorts(fakeContext({ busy }), new URL('http://127.0.0.1:15080'));
  assert.deepEqual(
    running.map((c) => [c.status, c.detail]),
    [
      ['ok', '15080 (control API) in use by a running strata control'],
      ['ok', '15010 (ADS) in use by a running strata control'],
    ],
  );
  // On a custom API port, the default ADS port is not the running control's.
  const custom = await checkPorts(fakeContext({ busy: { ...busy, '127.0.0.1:4000': 'EADDRINUSE' } }, { control: 'http://127.0.0.1:4000' }), new URL('http://127.0.0.1:4000'));
  assert.deepEqual(
    custom.map((c) => [c.status, c.detail]),
    [
      ['ok', '4000 (control API) in use by a running strata control'],
      ['fail', '15010 (ADS) in use'],
    ],
  );
  // Nothing answered the control check: a busy API port is a conflict.
  const stranger = await checkPorts(fakeContext({ busy }));
  assert.deepEqual(stranger.map((c) => c.status), ['fail', 'fail']);
});

test('every listener of a sidecar is checked, the gateway and AMQP listeners included', () => {
  const d = decodeResources(
    `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: s }
spec:
  service: s
  inbound: { port: 21006, appPort: 21080 }
  outbound: { proxyPort: 21001 }
  admin: { port: 21000 }
  gateway: { port: 21081 }
  amqp: { port: 21672, upstream: { address: 127.0.0.1 } }
`,
    's.yaml',
  );
  assert.ok(d.ok, JSON.stringify(!d.ok && d.errors));
  const s = compileSnapshot(d.value, 's.yaml');
  assert.ok(s.ok, JSON.stringify(!s.ok && s.errors));
  assert.deepEqual(
    snapshotListeners(s.value).map((l) => `${l.label}=${l.port}`),
    ['inbound.port=21006', 'outbound.proxyPort=21001', 'admin.port=21000', 'gateway.port=21081', 'amqp.port=21672'],
  );
});
