/**
 * Socket options on loopback sockets of this process: set with setsockopt, read back with
 * getsockopt — DSCP (IP_TOS / IPV6_TCLASS), SO_PRIORITY, TCP_CONGESTION (bbr, cubic, reno) —
 * both on a connected socket and before the SYN (attachSocketOptions on a connecting socket),
 * and the errors for an unavailable algorithm and out-of-range values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  SocketOptionError,
  attachSocketOptions,
  availableCongestionControl,
  getCongestion,
  getDscp,
  getSoPriority,
  getTos,
  readSocketOptions,
  setCongestion,
  setSoPriority,
  setTos,
  socketFd,
} from './sockopt.js';

const isRoot = process.getuid?.() === 0;

async function withServer(host: string, fn: (port: number) => Promise<void>): Promise<void> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.resume();
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  try {
    await fn((server.address() as net.AddressInfo).port);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function connected(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
}

async function client(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  const s = net.connect({ host, port });
  await connected(s);
  return s;
}

test('IP_TOS: dscp 46 is written as TOS 184 and read back', async () => {
  await withServer('127.0.0.1', async (port) => {
    const s = await client(port);
    try {
      const fd = socketFd(s)!;
      assert.ok(fd >= 0);
      setTos(fd, 46);
      assert.equal(getTos(fd) & 0xfc, 184);
      assert.equal(getDscp(fd), 46);
      setTos(fd, 0);
      assert.equal(getDscp(fd), 0);
      assert.throws(() => setTos(fd, 64), (e: unknown) => e instanceof SocketOptionError && e.code === 'STRATA_SOCKOPT_INVALID' && /DSCP must be an integer 0-63, got 64/.test(e.message));
    } finally {
      s.destroy();
    }
  });
});

test('SO_PRIORITY: 0-6 for anyone, an htb classid (0x10010) as root, read back', async () => {
  await withServer('127.0.0.1', async (port) => {
    const s = await client(port);
    try {
      const fd = socketFd(s)!;
      setSoPriority(fd, 5);
      assert.equal(getSoPriority(fd), 5);
      if (isRoot) {
        setSoPriority(fd, 0x10010);
        assert.equal(getSoPriority(fd), 0x10010);
      }
      assert.throws(() => setSoPriority(fd, -1), /SO_PRIORITY must be an integer 0-4294967295/);
    } finally {
      s.destroy();
    }
  });
});

test('TCP_CONGESTION: bbr, cubic and reno each set and read back', async () => {
  const available = availableCongestionControl() ?? [];
  await withServer('127.0.0.1', async (port) => {
    const s = await client(port);
    try {
      const fd = socketFd(s)!;
      for (const cc of ['bbr', 'cubic', 'reno']) {
        if (!available.includes(cc)) {
          process.stderr.write(`# ${cc} not offered by this kernel (${available.join(' ')}); skipped\n`);
          continue;
        }
        if (!isRoot) continue; // tcp_allowed_congestion_control may not list it
        setCongestion(fd, cc);
        assert.equal(getCongestion(fd), cc);
      }
    } finally {
      s.destroy();
    }
  });
});

test('TCP_CONGESTION: an algorithm the kernel does not offer is a clear error naming the available list', async () => {
  const available = availableCongestionControl() ?? [];
  const missing = ['vegas', 'westwood', 'htcp', 'illinois', 'strata_nonesuch'].find((n) => !available.includes(n))!;
  await withServer('127.0.0.1', async (port) => {
    const s = await client(port);
    try {
      const fd = socketFd(s)!;
      const before = getCongestion(fd);
      assert.throws(
        () => setCongestion(fd, missing),
        (e: unknown) =>
          e instanceof SocketOptionError &&
          e.code === 'STRATA_SOCKOPT_CONGESTION_UNAVAILABLE' &&
          e.message === `TCP congestion control '${missing}' is not available: /proc/sys/net/ipv4/tcp_available_congestion_control lists ${available.join(' ')}`,
      );
      assert.equal(getCongestion(fd), before, 'the socket keeps its algorithm');
      assert.throws(() => setCongestion(fd, 'no spaces allowed'), /must be a name of 1-15 letters/);
    } finally {
      s.destroy();
    }
  });
});

test('attachSocketOptions on a connecting socket: set on its own fd before the SYN, all three kept', async () => {
  const cc = (availableCongestionControl() ?? []).includes('reno') ? 'reno' : undefined;
  await withServer('127.0.0.1', async (port) => {
    const s = net.connect({ host: '127.0.0.1', port });
    try {
      assert.equal(socketFd(s), undefined, 'no fd before the connect attempt');
      const soPriority = isRoot ? 0x10020 : 4;
      assert.equal(attachSocketOptions(s, { dscp: 46, soPriority, ...(cc && { congestion: cc }) }), 'before-connect');
      await connected(s);
      const read = readSocketOptions(s);
      assert.equal(read.family, 'IPv4');
      assert.equal(read.dscp, 46);
      // IP_TOS rewrites sk_priority on Linux; SO_PRIORITY is set after it and survives
      assert.equal(read.soPriority, soPriority);
      if (cc) assert.equal(read.congestion, cc);
      assert.equal(attachSocketOptions(s, { dscp: 10 }), 'now');
      assert.equal(readSocketOptions(s).dscp, 10);
    } finally {
      s.destroy();
    }
  });
});

test('IPv6: DSCP goes to IPV6_TCLASS (read back), before connect too', async (t) => {
  const probe = net.createServer();
  const ok6 = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  if (!ok6) {
    t.skip('no ::1 here');
    return;
  }
  await withServer('::1', async (port) => {
    const s = net.connect({ host: '::1', port });
    try {
      attachSocketOptions(s, { dscp: 34 });
      await connected(s);
      const read = readSocketOptions(s);
      assert.equal(read.family, 'IPv6');
      assert.equal(read.dscp, 34);
      assert.equal(read.tos, 34 << 2);
    } finally {
      s.destroy();
    }
  });
});

test('a failure at connect time destroys the socket with the SocketOptionError', async () => {
  const available = availableCongestionControl() ?? [];
  const missing = ['vegas', 'westwood', 'strata_nonesuch'].find((n) => !available.includes(n))!;
  await withServer('127.0.0.1', async (port) => {
    const s = net.connect({ host: '127.0.0.1', port });
    attachSocketOptions(s, { congestion: missing });
    const err = await new Promise<Error>((resolve) => s.once('error', resolve));
    assert.ok(err instanceof SocketOptionError);
    assert.match(err.message, new RegExp(`'${missing}' is not available`));
    assert.equal(s.destroyed, true);
  });
});

test('with onConnectError, a failure at connect time is reported and the connection goes on unmarked', async () => {
  const available = availableCongestionControl() ?? [];
  const missing = ['vegas', 'westwood', 'strata_nonesuch'].find((n) => !available.includes(n))!;
  await withServer('127.0.0.1', async (port) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const reported: Error[] = [];
    attachSocketOptions(s, { congestion: missing, dscp: 46 }, (err) => reported.push(err));
    try {
      await connected(s);
      assert.equal(reported.length, 1);
      assert.match(reported[0]!.message, new RegExp(`'${missing}' is not available`));
      assert.equal(getTos(socketFd(s)!), 0, 'none of the options reached the socket');
    } finally {
      s.destroy();
    }
  });
});
