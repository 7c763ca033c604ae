/**
 * @module bench/lib/machine
 * What the numbers were measured on: CPUs, memory, kernel, Node and tool versions.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import { clockTicks } from './procstat.js';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalMB: number;
  kernel: string;
  node: string;
  clkTck: number;
  tools: Record<string, string>;
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
  if (r.error) return `unavailable (${r.error.message})`;
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim();
  return text.split('\n')[0]?.trim() || 'unknown';
}

function dpkgVersion(pkg: string): string | undefined {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 && r.stdout ? r.stdout.trim() : undefined;
}

export function machineInfo(): MachineInfo {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    // not Linux
  }
  const nproc = Number(firstLine('nproc', [])) || os.availableParallelism();
  return {
    nproc,
    cpuModel,
    memTotalMB: Math.round(os.totalmem() / 2 ** 20),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    clkTck: clockTicks(),
    tools: {
      wrk: firstLine('wrk', ['-v']),
      h2load: firstLine('h2load', ['--version']),
      hey: `hey ${dpkgVersion('hey') ?? '(version unknown)'}`,
      nginx: firstLine('nginx', ['-v']),
      haproxy: firstLine('haproxy', ['-v']),
      taskset: firstLine('taskset', ['--version']),
    },
  };
}
