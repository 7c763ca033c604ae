/**
 * Shared helpers for cross-process tests: free ports, a sidecar process started from a
 * YAML config, small upstream servers, and event-based waiting (never fixed sleeps).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/util/free-port.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const STRATA_BIN = join(ROOT, 'bin', 'strata.js');

export { freePort };

export async function freePorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await freePort();
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

/** Poll an async predicate until it is truthy or the deadline passes (generous by default). */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${(lastErr as Error).message})` : ''}`);
}

export interface Fetched {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}

/** One HTTP/1.1 request with node:http (no keep-alive pooling surprises). */
export function request(
  opts: { port: number; path?: string; method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; host?: string; timeoutMs?: number },
): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: opts.port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers },
        agent: false,
        timeout: opts.timeoutMs ?? 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), trailers: res.trailers }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface SidecarProcess {
  proc: ChildProcess;
  adminPort: number;
  dir: string;
  configPath: string;
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Write a config and start `strata proxy` on it; resolves once /ready answers 200 (or, with
 * `untilReady: false`, once the admin port answers at all).
 */
export async function startSidecar(yaml: string, adminPort: number, extraArgs: string[] = [], opts: { untilReady?: boolean } = {}): Promise<SidecarProcess> {
  const untilReady = opts.untilReady ?? true;
  const dir = mkdtempSync(join(tmpdir(), 'strata-test-'));
  const configPath = join(dir, 'mesh.yaml');
  writeFileSync(configPath, yaml);
  const proc = spawn(process.execPath, [STRATA_BIN, 'proxy', '--config', configPath, ...extraArgs], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, STRATA_LOG_LEVEL: 'info' },
  });
  let out = '';
  let err = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  const sc: SidecarProcess = {
    proc,
    adminPort,
    dir,
    configPath,
    stderr: () => err,
    stdout: () => out,
    exited,
    async stop() {
      if (!dead) {
        proc.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      untilReady ? 'sidecar ready' : 'sidecar admin listening',
      async () => {
        if (dead) throw new Error(`sidecar exited: ${err.slice(-2000)}`);
        const r = await request({ port: adminPort, path: '/ready', timeoutMs: 2000 });
        return untilReady ? r.status === 200 : r.status > 0;
      },
      30_000,
      100,
    );
  } catch (e) {
    await sc.stop();
    throw new Error(`${(e as Error).message}\nstderr:\n${err.slice(-3000)}`);
  }
  return sc;
}

export interface Upstream {
  port: number;
  server: http.Server;
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/**
 * An HTTP/1.1 upstream that echoes what it got as JSON, unless the handler answers.
 * Special paths: /status/NNN answers that status; /slow/MS waits before answering.
 */
export async function startUpstream(name: string, handler?: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => boolean): Promise<Upstream> {
  const requests: Upstream['requests'] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      if (handler && handler(req, res, body)) return;
      const url = req.url ?? '/';
      const status = /^\/status\/(\d{3})/.exec(url);
      const slow = /^\/slow\/(\d+)/.exec(url);
      const reply = (): void => {
        const payload = JSON.stringify({ upstream: name, method: req.method, url, headers: req.headers, body });
        res.writeHead(status ? Number(status[1]) : 200, { 'content-type': 'application/json', 'x-upstream': name });
        res.end(payload);
      };
      if (slow) {
        const t = setTimeout(() => {
          timers.delete(t);
          reply();
        }, Number(slow[1]));
        timers.add(t);
      } else reply();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return {
    port: typeof a === 'object' && a ? a.port : 0,
    server,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const t of timers) clearTimeout(t);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Write a new config file in place (for reload tests). */
export function rewriteConfig(sc: SidecarProcess, yaml: string): void {
  writeFileSync(sc.configPath, yaml);
}

export async function configDump(adminPort: number): Promise<{ version: string; lastRejected: { errors: string[] } | null; listeners: Record<string, number> }> {
  const r = await request({ port: adminPort, path: '/config_dump' });
  return JSON.parse(r.body) as { version: string; lastRejected: { errors: string[] } | null; listeners: Record<string, number> };
}

export interface ControlProcess {
  proc: ChildProcess;
  apiPort: number;
  xdsPort: number;
  /** The REST API base URL. */
  server: string;
  exited: Promise<number | null>;
  kill(sig: NodeJS.Signals): void;
  out(): string;
  /** Resolves once the process printed its ready line (rejects if it exits first). */
  ready(timeoutMs?: number): Promise<void>;
}

/**
 * Start `strata control` on the given ports: `store` is `['--data-dir', DIR]` or
 * `['--etcd', URLS]`. Stop it with kill() and await exited.
 */
export function startControl(store: string[], apiPort: number, xdsPort: number): ControlProcess {
  const proc = spawn(process.execPath, [STRATA_BIN, 'control', ...store, '--api-port', String(apiPort), '--xds-port', String(xdsPort)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    proc,
    apiPort,
    xdsPort,
    server: `http://127.0.0.1:${apiPort}`,
    exited,
    kill: (sig) => proc.exitCode === null && proc.signalCode === null && proc.kill(sig),
    out: () => out,
    ready: (timeoutMs = 30_000) =>
      waitFor('strata control ready', () => {
        if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`strata control exited:\n${out.slice(-2000)}`);
        return out.includes('strata control ready');
      }, timeoutMs).then(() => undefined),
  };
}

export interface StrataProcess {
  proc: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  out(): string;
  exited: Promise<number | null>;
}

/** Run the CLI (`node bin/strata.js ARGS`) with its output collected. */
export function spawnStrata(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): StrataProcess {
  const proc = spawn(process.execPath, [STRATA_BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.env && { env: { ...process.env, ...opts.env } }),
  });
  let out = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, out: () => out, exited };
}

/** Stop CLI processes still running, in order: SIGINT (their graceful stop), SIGKILL after `graceMs`. */
export async function interruptAll(procs: readonly StrataProcess[], graceMs: number): Promise<void> {
  for (const p of procs) {
    if (p.proc.exitCode !== null || p.proc.signalCode !== null) continue;
    p.proc.kill('SIGINT');
    const t = setTimeout(() => p.proc.kill('SIGKILL'), graceMs);
    await p.exited;
    clearTimeout(t);
  }
}

/** Whether a process with this PID exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
