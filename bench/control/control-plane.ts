/**
 * @module bench/control/control-plane
 * The control plane under test as a child process (`bin/strata.js control` over SQLite in a
 * temp dir, any free ports, read back from its ready line), so that its CPU time and memory are
 * its own: CPU from /proc/PID/stat (utime+stime, all threads), RSS and peak RSS (VmHWM) from
 * /proc/PID/status. Optionally under `--cpu-prof` (the profile is written when it exits).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from '../lib/procstat.js';
import { makeTempDir, removeTempDir, start, stop, tail } from '../lib/procs.js';
import type { Child, CpuList } from '../lib/procs.js';

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const strataBin = join(projectRoot, 'bin', 'strata.js');
const READY_DEADLINE_MS = 30_000;
const READY_LINE = /strata control ready: api http:\/\/[^:]+:(\d+), xds [^:]+:(\d+)/;

export interface RunningControlPlane {
  child: Child;
  api: string;
  xdsPort: number;
  dataDir: string;
}

export interface StartOptions {
  cpus: CpuList;
  /** Write a V8 CPU profile into this directory when the control plane exits. */
  cpuProfDir?: string;
  /** Extra node flags (diagnostics). */
  nodeFlags?: string[];
  /** Keep all of its output (not only the last 64 KiB), for `outputOf`. */
  keepOutput?: boolean;
  logLevel: string;
}

/** Starts `strata control` and waits for its ready line. */
export async function startControlPlane(o: StartOptions): Promise<RunningControlPlane> {
  const dataDir = makeTempDir('strata-bench-control-');
  // The bin's shebang sets --max-semi-space-size=2; keep it when node is started by hand.
  const nodeFlags = ['--max-semi-space-size=2', ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []), ...(o.nodeFlags ?? [])];
  const args = ['control', '--data-dir', dataDir, '--api-port', '0', '--xds-port', '0', '--log-level', o.logLevel];
  const child = start('strata-control', process.execPath, [...nodeFlags, strataBin, ...args], { cpus: o.cpus, cwd: projectRoot, collectAll: o.keepOutput === true });
  const end = Date.now() + READY_DEADLINE_MS;
  while (Date.now() < end && !child.done()) {
    const m = READY_LINE.exec(child.stdout());
    if (m?.[1] && m[2]) return { child, api: `http://127.0.0.1:${m[1]}`, xdsPort: Number(m[2]), dataDir };
    await new Promise((r) => setTimeout(r, 50));
  }
  const why = child.done() ? `exited with ${await child.exited}` : `no ready line within ${READY_DEADLINE_MS / 1000} s`;
  await stop(child);
  removeTempDir(dataDir);
  throw new Error(`strata control failed to start (${why}): ${tail(child.stderr() || child.stdout())}`);
}

/** SIGTERM (so a CPU profile gets written), then remove its data dir. */
export async function stopControlPlane(cp: RunningControlPlane): Promise<void> {
  await stop(cp.child, 10_000);
  removeTempDir(cp.dataDir);
}

/** VmRSS and VmHWM (peak) in MiB, or undefined when the process is gone. */
export function memoryMiB(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU seconds a process has used so far (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  return (cpuMicros(pid) ?? 0) / 1e6;
}
