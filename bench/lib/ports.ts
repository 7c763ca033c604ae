/**
 * @module bench/lib/ports
 * Free loopback ports (bind :0, read the port, close) and readiness polling.
 */
import * as net from 'node:net';
import * as http from 'node:http';

/** Asks the kernel for `n` distinct free ports on 127.0.0.1 (all held open until all are known). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      servers.push(s);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => {
            const a = s.address();
            if (typeof a === 'object' && a !== null) resolve(a.port);
            else reject(new Error('no port'));
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/** Status code of GET http://127.0.0.1:port/path, or undefined on any error. */
export function httpStatus(port: number, path: string, timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `probe` every 100 ms until it returns true, the deadline passes, or `gone()` says the
 * process under watch has exited. Returns why it stopped.
 */
export async function waitUntil(probe: () => Promise<boolean>, deadlineMs: number, gone: () => boolean): Promise<'ready' | 'timeout' | 'exited'> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (gone()) return 'exited';
    if (await probe()) return 'ready';
    await sleep(100);
  }
  return gone() ? 'exited' : 'timeout';
}
