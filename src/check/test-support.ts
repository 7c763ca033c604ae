/**
 * @module check/test-support
 * Fake Probes for the check unit tests: a machine described by plain data (files, commands on
 * PATH, command results, busy ports, HTTP answers), so every branch runs without touching the
 * real one.
 */
import type { Check, CheckContext, ExecResult, Probes } from './checks.js';

export interface FakeMachine {
  files?: Record<string, string>;
  /** Paths that exist (files listed in `files` exist too). */
  paths?: string[];
  /** command → where `which` finds it. */
  commands?: Record<string, string>;
  /** `cmd args…` → result; anything else exits 1. */
  exec?: Record<string, ExecResult>;
  /** `host:port` (or `*:port`) → bind error code. */
  busy?: Record<string, string>;
  /** URL → answer, or an Error to reject with. */
  http?: Record<string, { status: number; body: string } | Error>;
  uid?: number;
  nodeVersion?: string;
  kernelRelease?: string;
}

export function fakeProbes(m: FakeMachine = {}): Probes & { execCalls: string[] } {
  const execCalls: string[] = [];
  return {
    execCalls,
    async exec(cmd, args) {
      const line = [cmd, ...args].join(' ');
      execCalls.push(line);
      return m.exec?.[line] ?? { code: 1, stdout: '', stderr: `${cmd}: fake failure` };
    },
    readFile: async (p) => m.files?.[p],
    exists: async (p) => m.files?.[p] !== undefined || (m.paths ?? []).includes(p),
    which: async (c) => m.commands?.[c],
    bind: async (host, port) => m.busy?.[`${host}:${port}`] ?? m.busy?.[`*:${port}`],
    async get(url) {
      const a = m.http?.[url];
      if (a === undefined) throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
      if (a instanceof Error) throw a;
      return a;
    },
    uid: () => m.uid,
    nodeVersion: m.nodeVersion ?? '20.11.0',
    kernelRelease: m.kernelRelease ?? '6.1.0-test',
  };
}

export function fakeContext(m: FakeMachine = {}, over: Partial<CheckContext> = {}): CheckContext {
  return { probes: fakeProbes(m), control: 'http://127.0.0.1:15080', controlExplicit: false, ports: [], configs: [], ...over };
}

/** The one check of a group that returns one (fails the test otherwise). */
export function only(checks: readonly Check[]): Check {
  if (checks.length !== 1) throw new Error(`expected one check, got ${JSON.stringify(checks, null, 2)}`);
  return checks[0] as Check;
}
