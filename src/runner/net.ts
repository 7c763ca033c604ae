/**
 * @module runner/net
 * Small network helpers of the local runner: free ports, "is this port taken", a plain GET,
 * and waiting for a TCP listener.
 */
import http from 'node:http';
import net from 'node:net';
import { freePort } from '../util/free-port.js';

export { freePort };

/** Ports handed out (or declared fixed) in this process: never handed out again. */
const reserved = new Set<number>();

/** Declare ports as taken by this process (fixed ports of a mesh file). */
export function reservePorts(ports: Iterable<number>): void {
  for (const p of ports) reserved.add(p);
}

/**
 * `n` distinct free ports, none of them in `avoid` nor handed out before by this process
 * (workloads starting at the same time must not pick the same port).
 */
export async function freePorts(n: number, avoid: ReadonlySet<number> = new Set()): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (!reserved.has(p) && !avoid.has(p)) {
      reserved.add(p);
      out.push(p);
    }
  }
  return out;
}

/** Whether something already listens on (or holds) 127.0.0.1:port. */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

/** One GET to 127.0.0.1:port; resolves with status and body, rejects on a transport error. */
export function httpGet(port: number, path: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Whether a TCP connection to 127.0.0.1:port succeeds. */
export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
