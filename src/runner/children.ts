/**
 * @module runner/children
 * Child processes of the local runner (control plane, sidecars, apps). Each child runs in
 * its own process group, so a terminal's Ctrl-C reaches only the runner, which then stops
 * the children in order (deregister, drain the sidecar, stop the app). Every child still
 * alive when the runner's process exits is killed (SIGKILL to its group).
 * Output is prefixed with the child's name, or appended to a log file.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const live = new Set<ChildProcess>();
let hooked = false;
let reaper: ChildProcess | undefined;

/** Tell the reaper (reaper.ts) about a process group; it kills those left when we die. */
function toReaper(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, [fileURLToPath(new URL('./reaper.js', import.meta.url))], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.on('error', () => undefined);
    reaper.stdin?.on('error', () => undefined);
    reaper.unref();
    (reaper.stdin as unknown as { unref?(): void } | null)?.unref?.();
  }
  reaper.stdin?.write(`${line}\n`);
}

/**
 * Have the reaper stop the process group `pid` (started elsewhere, detached) should this
 * process die without stopping it; call the returned function once it has ended.
 */
export function reapWithRunner(pid: number): () => void {
  toReaper(`+${pid}`);
  return () => toReaper(`-${pid}`);
}

function killGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    try {
      proc.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** SIGKILL every child still running (the runner is going away). */
export function killAllChildren(): void {
  for (const p of live) killGroup(p, 'SIGKILL');
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAllChildren);
}

/** Where a child's output goes: prefixed lines on a stream, or a log file. */
export type OutputSink = { kind: 'prefix'; prefix: string; out: Writable } | { kind: 'file'; path: string };

export interface ChildSpec {
  name: string;
  command: string;
  args: string[];
  /** Run through a shell (a command line given as one string). */
  shell?: boolean;
  cwd?: string;
  env: NodeJS.ProcessEnv;
  output: OutputSink;
  /** Called with each line of stdout (for readiness lines). */
  onLine?(line: string): void;
}

export class Child {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Resolves when the process has exited: its exit code, or 128 + signal number style code. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private tail: string[] = [];

  constructor(spec: ChildSpec) {
    hookExit();
    this.name = spec.name;
    this.proc = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      shell: spec.shell ?? false,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(this.proc);
    if (this.proc.pid !== undefined) toReaper(`+${this.proc.pid}`);
    this.exited = new Promise((resolve) => {
      this.proc.once('error', (err) => {
        this.remember(`cannot start: ${err.message}`);
        live.delete(this.proc);
        resolve({ code: 127, signal: null });
      });
      this.proc.once('exit', (code, signal) => {
        live.delete(this.proc);
        if (this.proc.pid !== undefined) toReaper(`-${this.proc.pid}`);
        resolve({ code, signal });
      });
    });
    const file = spec.output.kind === 'file' ? createWriteStream(spec.output.path, { flags: 'a' }) : undefined;
    const sink = spec.output;
    const pipe = (stream: NodeJS.ReadableStream | null, isStdout: boolean): void => {
      if (!stream) return;
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        if (file) file.write(chunk);
        partial += chunk.toString();
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.line(line, isStdout, sink, spec.onLine);
      });
      stream.on('end', () => {
        if (partial !== '') this.line(partial, isStdout, sink, spec.onLine);
        partial = '';
      });
    };
    pipe(this.proc.stdout, true);
    pipe(this.proc.stderr, false);
    if (file) void this.exited.then(() => file.end());
  }

  private line(line: string, isStdout: boolean, sink: OutputSink, onLine?: (line: string) => void): void {
    this.remember(line);
    if (sink.kind === 'prefix') sink.out.write(`${sink.prefix}${line}\n`);
    if (isStdout) onLine?.(line);
  }

  private remember(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 20) this.tail.shift();
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  running(): boolean {
    return this.proc.pid !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The last lines of output (for error messages). */
  lastLines(n = 10): string[] {
    return this.tail.slice(-n);
  }

  signal(sig: NodeJS.Signals): void {
    killGroup(this.proc, sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running()) {
      await this.exited;
      return;
    }
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** The exit code a shell would report for a child's exit. */
export function exitCodeOf(e: { code: number | null; signal: NodeJS.Signals | null }): number {
  if (e.code !== null) return e.code;
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (e.signal ? numbers[e.signal] ?? 0 : 0);
}
