/**
 * @module check/checks
 * The contract of `strata check`: a check group (ports, kernel, packages, control, config) is
 * an async function of a CheckContext that returns one Check line per thing it looked at. All
 * access to the machine goes through Probes, so unit tests can exercise every branch with fakes;
 * no probe changes the machine (nothing is installed, loaded or configured).
 */
import type { Decoded } from '../errors.js';
import type { Snapshot } from '../config/snapshot.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of the report. `fix` is the exact command or change to make; set for warn and fail. */
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

/** Every check name, in report order (each appears at least once in a report). */
export const CHECK_NAMES = ['ports', 'node', 'kernel', 'packages', 'control', 'config'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export const ok = (name: CheckName, detail: string): Check => ({ name, status: 'ok', detail });
export const warn = (name: CheckName, detail: string, fix: string): Check => ({ name, status: 'warn', detail, fix });
export const fail = (name: CheckName, detail: string, fix: string): Check => ({ name, status: 'fail', detail, fix });

export interface ExecResult {
  /** Exit code; -1 when the command could not be started (not found, timed out). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Everything a check may ask of the machine. Read-only by contract. */
export interface Probes {
  /** Run a command (no shell) with a short timeout. */
  exec(cmd: string, args: string[]): Promise<ExecResult>;
  /** A file's text (gunzipped for *.gz), or undefined when it cannot be read. */
  readFile(path: string): Promise<string | undefined>;
  /** Whether a path (file or directory) exists. */
  exists(path: string): Promise<boolean>;
  /** Where a command is found (PATH, then /usr/local/sbin, /usr/sbin, /sbin), or undefined. */
  which(cmd: string): Promise<string | undefined>;
  /** Try to listen on host:port and close at once: undefined when free, else the error code (EADDRINUSE…). */
  bind(host: string, port: number): Promise<string | undefined>;
  /** GET a URL within timeoutMs; rejects when nothing answers. */
  get(url: string, timeoutMs: number): Promise<{ status: number; body: string }>;
  /** The effective user id, or undefined where there is none (Windows). */
  uid(): number | undefined;
  /** `process.versions.node`. */
  nodeVersion: string;
  /** `uname -r`. */
  kernelRelease: string;
}

/** A config given with -f, already loaded (once, shared by the ports and config checks). */
export interface LoadedConfig {
  path: string;
  result: Decoded<Snapshot>;
}

export interface CheckContext {
  probes: Probes;
  /** The control plane API URL. */
  control: string;
  /** True when the user named the control plane (--control/--server or $STRATA_SERVER). */
  controlExplicit: boolean;
  /** Extra ports from --port. */
  ports: number[];
  configs: LoadedConfig[];
}
