/**
 * @module check/probes
 * The real Probes: read files, run read-only commands, look commands up, try a bind and close
 * it, GET a URL with a timeout. Nothing here changes the machine.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import { release } from 'node:os';
import { delimiter, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ExecResult, Probes } from './checks.js';

/** Commands run by a check never take longer than this. */
export const EXEC_TIMEOUT_MS = 5000;
/** Where system binaries live even when PATH (a non-root shell) leaves them out. */
export const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

function run(cmd: string, args: string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: EXEC_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const code = (err as { code?: unknown }).code;
      resolve({ code: typeof code === 'number' ? code : -1, stdout: stdout ?? '', stderr: stderr || err.message });
    });
  });
}

async function which(cmd: string): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS];
  for (const dir of dirs) {
    const p = join(dir, cmd);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function bind(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(undefined)));
  });
}

async function get(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

export function systemProbes(): Probes {
  return {
    exec: run,
    readFile: (p) =>
      readFile(p)
        .then((b) => (p.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8'))
        .catch(() => undefined),
    exists: (p) => stat(p).then(() => true, () => false),
    which,
    bind,
    get,
    uid: () => process.getuid?.(),
    nodeVersion: process.versions.node,
    kernelRelease: release(),
  };
}
