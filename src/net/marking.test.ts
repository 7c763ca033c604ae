/**
 * The kernel layer behind the proxy's socket hook: config-time validation with field paths,
 * and `installSocketMarking()` + `markUpstreamSocket()` on real loopback sockets (plain TCP and
 * TLS), read back with getsockopt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { markUpstreamSocket, socketMarkingAvailable } from '../proxy/priority/socket-hook.js';
import { checkClassOptions, installSocketMarking, uninstallSocketMarking } from './marking.js';
import type { MarkingEnvironment } from './marking.js';
import { SocketOptionError, availableCongestionControl, readSocketOptions } from './sockopt.js';

const ENV: MarkingEnvironment = { available: ['reno', 'bbr', 'cubic'], allowed: ['reno', 'bbr'], netAdmin: true, supported: true };
const isRoot = process.getuid?.() === 0;

test('checkClassOptions: valid options give no errors', () => {
  assert.deepEqual(checkClassOptions({ className: 'high', dscp: 46, soPriority: 0x10010, congestion: 'bbr' }, 'spec.classes[0]', ENV), []);
  assert.deepEqual(checkClassOptions({ className: 'none' }, '', { netAdmin: false, supported: false }), []);
});

test('checkClassOptions: every problem with its field path', () => {
  const errors = checkClassOptions({ className: 'x', dscp: 64, soPriority: -1, congestion: 'vegas' }, 'spec.classes[2]', ENV);
  assert.deepEqual(errors, [
    { path: 'spec.classes[2].dscp', message: 'must be an integer 0-63 (a DSCP code point, e.g. 46 for EF), got 64' },
    { path: 'spec.classes[2].soPriority', message: 'must be an integer 0-4294967295, got -1' },
    { path: 'spec.classes[2].congestion', message: "TCP congestion control 'vegas' is not available: /proc/sys/net/ipv4/tcp_available_congestion_control lists reno bbr cubic" },
  ]);
  assert.match(checkClassOptions({ className: 'x', congestion: 'a b' }, '', ENV)[0]?.message ?? '', /must be a congestion control name/);
  assert.equal(checkClassOptions({ className: 'x', dscp: 1.5 }, '', ENV)[0]?.path, 'dscp');
});

test('checkClassOptions: without CAP_NET_ADMIN, SO_PRIORITY > 6 and a not-allowed algorithm are errors', () => {
  const env = { ...ENV, netAdmin: false };
  assert.deepEqual(checkClassOptions({ className: 'x', soPriority: 6, congestion: 'bbr' }, 'c', env), []);
  const errors = checkClassOptions({ className: 'x', soPriority: 0x10010, congestion: 'cubic' }, 'c', env);
  assert.deepEqual(errors.map((e) => e.path), ['c.soPriority', 'c.congestion']);
  assert.match(errors[0]!.message, /65552 needs CAP_NET_ADMIN \(only 0-6 are allowed without it\)/);
  assert.match(errors[1]!.message, /'cubic' is available but not allowed without CAP_NET_ADMIN: \/proc\/sys\/net\/ipv4\/tcp_allowed_congestion_control lists reno bbr/);
  const unsupported = checkClassOptions({ className: 'x', dscp: 1 }, 'c', { netAdmin: true, supported: false });
  assert.match(unsupported[0]!.message, /need Linux and the koffi package/);
});

test('checkClassOptions against this machine: the kernel list is what it checks', () => {
  const available = availableCongestionControl();
  if (!available) return;
  for (const cc of available) assert.deepEqual(checkClassOptions({ className: 'x', congestion: cc }, '', { available, netAdmin: true, supported: true }), []);
});

async function server(host = '127.0.0.1', secure?: { key: string; cert: string }): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const onConn = (s: net.Socket): void => {
    sockets.add(s);
    s.resume();
    s.on('error', () => undefined);
  };
  const srv = secure ? tls.createServer(secure, onConn) : net.createServer(onConn);
  await new Promise<void>((resolve) => srv.listen(0, host, () => resolve()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

test('installSocketMarking: markUpstreamSocket sets the class options before connect; read back', async () => {
  assert.equal(installSocketMarking(), true);
  try {
    assert.equal(socketMarkingAvailable(), true);
    const srv = await server();
    try {
      const s = net.connect({ host: '127.0.0.1', port: srv.port });
      const soPriority = isRoot ? 0x10030 : 3;
      markUpstreamSocket(s, { className: 'high', dscp: 46, soPriority, congestion: 'reno' });
      await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
      const read = readSocketOptions(s);
      assert.deepEqual({ dscp: read.dscp, soPriority: read.soPriority, congestion: read.congestion }, { dscp: 46, soPriority, congestion: 'reno' });
      s.destroy();
      // a class without socket options leaves the socket alone
      const plain = net.connect({ host: '127.0.0.1', port: srv.port });
      markUpstreamSocket(plain, { className: 'normal' });
      await new Promise<void>((resolve) => plain.once('connect', resolve));
      assert.equal(readSocketOptions(plain).dscp, 0);
      plain.destroy();
    } finally {
      await srv.close();
    }
  } finally {
    uninstallSocketMarking();
  }
  assert.equal(socketMarkingAvailable(), false);
});

test('installSocketMarking: an invalid class throws a SocketOptionError that names the class and field', async () => {
  installSocketMarking();
  const srv = await server();
  try {
    const s = net.connect({ host: '127.0.0.1', port: srv.port });
    s.on('error', () => undefined);
    assert.throws(
      () => markUpstreamSocket(s, { className: 'bulk', congestion: 'strata_nonesuch' }),
      (e: unknown) => e instanceof SocketOptionError && e.code === 'STRATA_SOCKOPT_CONGESTION_UNAVAILABLE' && /^priority class 'bulk': congestion: TCP congestion control 'strata_nonesuch' is not available/.test(e.message),
    );
    assert.throws(() => markUpstreamSocket(s, { className: 'bulk', dscp: 99 }), /priority class 'bulk': dscp: must be an integer 0-63/);
    s.destroy();
  } finally {
    await srv.close();
    uninstallSocketMarking();
  }
});

test('installSocketMarking: a TLS upstream socket is marked too (its TCP handle under the TLS wrap)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-mark-'));
  try {
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return; // no openssl: nothing to test here
  }
  const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const srv = await server('127.0.0.1', { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert });
  installSocketMarking();
  try {
    const s = tls.connect({ host: '127.0.0.1', port: srv.port, ca: cert, servername: 'localhost' });
    markUpstreamSocket(s, { className: 'high', dscp: 26, soPriority: 2 });
    await new Promise<void>((resolve, reject) => s.once('secureConnect', resolve).once('error', reject));
    const read = readSocketOptions(s);
    assert.equal(read.dscp, 26);
    assert.equal(read.soPriority, 2);
    s.destroy();
  } finally {
    uninstallSocketMarking();
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
