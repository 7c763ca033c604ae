/**
 * @module bench/lib/procstat
 * What a process costs, read from /proc: CPU time (utime+stime of all its threads), resident
 * memory (VmRSS), and how busy each CPU was over an interval (/proc/stat).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let clkTck: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, almost always 100). */
export function clockTicks(): number {
  if (clkTck === undefined) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** Fields 3.. of /proc/PID/stat (index 0 = field 3, `state`), or undefined if it is gone. */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

const ticksToMicros = (ticks: number): number => (ticks * 1e6) / clockTicks();

/** utime+stime (fields 14, 15) of a process in µs, or undefined if it is gone. */
export function cpuMicros(pid: number): number | undefined {
  const f = statFields(pid);
  const ticks = Number(f?.[11]) + Number(f?.[12]);
  return Number.isFinite(ticks) ? ticksToMicros(ticks) : undefined;
}

/**
 * This process's own CPU µs and that of its children that have exited and been waited for
 * (cutime+cstime, fields 16, 17): around a load phase, the latter is the load generator's CPU.
 */
function selfAndReapedMicros(): { self: number; reaped: number } {
  const f = statFields('self');
  const n = (i: number): number => Number(f?.[i] ?? 0) || 0;
  return { self: ticksToMicros(n(11) + n(12)), reaped: ticksToMicros(n(13) + n(14)) };
}

/** Current VmRSS in KiB, or undefined if the process is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] !== undefined ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Per-CPU busy/total jiffies, keyed by CPU index. */
export type CpuTimes = Map<number, { busy: number; total: number }>;

export function readCpuTimes(): CpuTimes {
  const out: CpuTimes = new Map();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest fields are already in user/nice).
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out.set(Number(m[1]), { busy: total - idle, total });
  }
  return out;
}

/** Busy CPU time (all CPUs together) between two readings, in µs. */
export function busyMicros(before: CpuTimes, after: CpuTimes): number {
  let jiffies = 0;
  for (const [cpu, a] of after) jiffies += a.busy - (before.get(cpu)?.busy ?? a.busy);
  return ticksToMicros(jiffies);
}

/** Busy percentage of each CPU between two readings. */
export function cpuBusyPct(before: CpuTimes, after: CpuTimes): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [cpu, a] of after) {
    const b = before.get(cpu);
    if (!b) continue;
    const total = a.total - b.total;
    out[`cpu${cpu}`] = total > 0 ? round((100 * (a.busy - b.busy)) / total, 1) : 0;
  }
  return out;
}

/** A load phase's view of a set of processes: CPU µs used and peak RSS seen. */
export interface ProcUsage {
  pid: number;
  cpuUs: number;
  peakRssKiB: number;
}

/**
 * Samples the given PIDs' RSS every `intervalMs` while a load phase runs, and their CPU time at
 * the start and the end. Call `finish()` when the load generator has exited.
 */
export interface PhaseUsage {
  procs: ProcUsage[];
  cpuBusy: Record<string, number>;
  wallMs: number;
  /** CPU µs of children reaped during the phase (the load generator), and of this harness. */
  loadGenCpuUs: number;
  harnessCpuUs: number;
  /** CPU µs used by everything else on the machine (busy time not accounted for above). */
  foreignCpuUs: number;
}

export function watch(pids: readonly number[], intervalMs = 200): { finish(): PhaseUsage } {
  const startSelf = selfAndReapedMicros();
  const startCpu = pids.map((p) => cpuMicros(p) ?? 0);
  const peak = pids.map((p) => rssKiB(p) ?? 0);
  const cpuBefore = readCpuTimes();
  const t0 = performance.now();
  const sample = (): void => {
    pids.forEach((p, i) => {
      const r = rssKiB(p);
      if (r !== undefined && r > (peak[i] ?? 0)) peak[i] = r;
    });
  };
  const timer = setInterval(sample, intervalMs);
  return {
    finish() {
      clearInterval(timer);
      sample();
      const wallMs = performance.now() - t0;
      const cpuAfter = readCpuTimes();
      const endSelf = selfAndReapedMicros();
      const procs = pids.map((pid, i) => ({
        pid,
        cpuUs: Math.max(0, (cpuMicros(pid) ?? startCpu[i] ?? 0) - (startCpu[i] ?? 0)),
        peakRssKiB: peak[i] ?? 0,
      }));
      const loadGenCpuUs = endSelf.reaped - startSelf.reaped;
      const harnessCpuUs = endSelf.self - startSelf.self;
      const ours = procs.reduce((a, p) => a + p.cpuUs, 0) + loadGenCpuUs + harnessCpuUs;
      const foreignCpuUs = Math.max(0, busyMicros(cpuBefore, cpuAfter) - ours);
      return { procs, cpuBusy: cpuBusyPct(cpuBefore, cpuAfter), wallMs, loadGenCpuUs, harnessCpuUs, foreignCpuUs };
    },
  };
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
