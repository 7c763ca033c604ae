/**
 * @module bench/lib/procs
 * Every process and temp dir the benchmark creates, so that all of them go away on exit:
 * normal completion, an error, or Ctrl-C / SIGTERM. Children are killed by PID only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where a child runs: a CPU list for `taskset -c`, or nowhere in particular. */
export type CpuList = string | undefined;

/** A started child with its output captured (the last 64 KiB of each stream). */
export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  readonly exited: Promise<number | string>;
  stdout(): string;
  stderr(): string;
  /** True once the process has exited. */
  done(): boolean;
}

const OUTPUT_CAP = 64 * 1024;
const live = new Map<number, Child>();
const tempDirs = new Set<string>();
let tasksetCommand: string | undefined;
let shuttingDown = false;

/** Turns CPU pinning on (with the `taskset` binary) or off for every later `start`. */
export function setTaskset(binary: string | undefined): void {
  tasksetCommand = binary;
}

/** Starts `cmd args` (under `taskset -c cpus` when pinning is on) and tracks it until it exits. */
export function start(name: string, cmd: string, args: readonly string[], opts: { cpus?: CpuList; cwd?: string; collectAll?: boolean } = {}): Child {
  if (shuttingDown) throw new Error(`not starting ${name}: shutting down`);
  const pinned = tasksetCommand !== undefined && opts.cpus !== undefined;
  const file = pinned ? (tasksetCommand as string) : cmd;
  const argv = pinned ? ['-c', opts.cpus as string, cmd, ...args] : [...args];
  const proc = spawn(file, argv, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let finished = false;
  const cap = (s: string): string => (opts.collectAll || s.length <= OUTPUT_CAP ? s : s.slice(s.length - OUTPUT_CAP));
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => { out = cap(out + d); });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => { err = cap(err + d); });
  const exited = new Promise<number | string>((resolve) => {
    proc.on('error', (e) => {
      err += `\n${e.message}`;
      finished = true;
      resolve('spawn-error');
    });
    proc.on('close', (code, signal) => {
      finished = true;
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const pid = proc.pid ?? -1;
  const child: Child = { name, pid, proc, exited, stdout: () => out, stderr: () => err, done: () => finished };
  if (pid > 0) {
    live.set(pid, child);
    void exited.then(() => live.delete(pid));
  }
  return child;
}

/** Runs a command to completion and returns its output; throws on spawn failure or non-zero exit. */
export async function run(name: string, cmd: string, args: readonly string[], opts: { cpus?: CpuList; collectAll?: boolean } = {}): Promise<{ stdout: string; stderr: string; pid: number }> {
  const c = start(name, cmd, args, { ...opts, collectAll: opts.collectAll ?? false });
  const code = await c.exited;
  if (code !== 0) throw new Error(`${name} exited with ${code}: ${tail(c.stderr() || c.stdout())}`);
  return { stdout: c.stdout(), stderr: c.stderr(), pid: c.pid };
}

/** SIGTERM, then SIGKILL after `graceMs` if it is still there. */
export async function stop(child: Child, graceMs = 2000): Promise<void> {
  if (child.done()) return;
  signal(child.pid, 'SIGTERM');
  const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
  if ((await Promise.race([child.exited, timer])) === 'timeout') {
    signal(child.pid, 'SIGKILL');
    await child.exited;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Stops every live child (in parallel). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live.values()].map((c) => stop(c)));
}

/** Creates a temp dir that is removed at exit. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Removes a temp dir now (and forgets it). */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

function cleanupSync(): void {
  for (const pid of live.keys()) signal(pid, 'SIGKILL');
  live.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Installs exit/signal handlers once: on SIGINT/SIGTERM stop children, remove temp dirs, exit. */
export function installCleanupHandlers(): void {
  process.on('exit', cleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      shuttingDown = true;
      process.stderr.write(`\nbench: ${sig} — stopping ${live.size} child process(es)\n`);
      const hard = setTimeout(() => {
        cleanupSync();
        process.exit(130);
      }, 3000);
      void stopAll().finally(() => {
        clearTimeout(hard);
        cleanupSync();
        process.exit(sig === 'SIGINT' ? 130 : 143);
      });
    });
  }
}

/**
 * Some output squeezed onto one line for an error message: the first line that looks like an
 * error (a stack trace's message, an nginx `[emerg]`, a haproxy `[ALERT]`) and then the last
 * `lines` lines, at most 500 characters.
 */
export function tail(text: string, lines = 4): string {
  const all = text.trim().split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (all.length === 0) return '(no output)';
  const last = all.slice(-lines);
  const first = all.find((l) => /error|ERR_|\[emerg\]|\[ALERT\]|fatal/i.test(l));
  const parts = first !== undefined && !last.includes(first) ? [first, '…', ...last] : last;
  const t = parts.join(' | ');
  return t.length > 500 ? `${t.slice(0, 497)}...` : t;
}
