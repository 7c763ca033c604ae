/**
 * @module net/marking
 * The kernel layer's implementation of the proxy's upstream socket hook
 * (proxy/priority/socket-hook.ts): `installSocketMarking()` makes every `markUpstreamSocket()`
 * set the class's TCP congestion control, DSCP and SO_PRIORITY (net/sockopt.ts), before the SYN
 * when the socket is still connecting. `checkClassOptions()` is the same rules as a pure
 * validation step for configuration time: every problem as a field-path error, nothing thrown.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { FieldError } from '../errors.js';
import { setUpstreamSocketHook } from '../proxy/priority/socket-hook.js';
import type { ClassSocketOptions, UpstreamSocketHook } from '../proxy/priority/socket-hook.js';
import {
  PROC_CC_ALLOWED,
  PROC_CC_AVAILABLE,
  SocketOptionError,
  allowedCongestionControl,
  attachSocketOptions,
  availableCongestionControl,
  socketOptionsSupported,
} from './sockopt.js';
import type { SocketOptionErrorCode } from './sockopt.js';
import { logger } from '../util/log.js';

/** SO_PRIORITY values an unprivileged socket may set. */
export const UNPRIVILEGED_MAX_PRIORITY = 6;
const CAP_NET_ADMIN = 12n;

/** What the machine allows; read from /proc by default, given explicitly in tests. */
export interface MarkingEnvironment {
  /** tcp_available_congestion_control (undefined: unknown, not checked). */
  available?: readonly string[];
  /** tcp_allowed_congestion_control (what unprivileged sockets may pick). */
  allowed?: readonly string[];
  /** Root or CAP_NET_ADMIN in the effective set. */
  netAdmin: boolean;
  /** setsockopt can be called at all (Linux, koffi loads). */
  supported: boolean;
}

export function currentMarkingEnvironment(): MarkingEnvironment {
  const available = availableCongestionControl();
  const allowed = allowedCongestionControl();
  return {
    ...(available && { available }),
    ...(allowed && { allowed }),
    netAdmin: hasNetAdmin(),
    supported: socketOptionsSupported(),
  };
}

export function hasNetAdmin(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    const capEff = /^CapEff:\s*([0-9a-f]+)/im.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return capEff !== undefined && ((BigInt(`0x${capEff}`) >> CAP_NET_ADMIN) & 1n) === 1n;
  } catch {
    return false;
  }
}

/**
 * Validate a class's socket options: DSCP 0-63, SO_PRIORITY 0-0xffffffff (and > 6 only with
 * CAP_NET_ADMIN), congestion control offered by the kernel (and allowed, without CAP_NET_ADMIN).
 * `path` prefixes every field path (e.g. `spec.classes[2]`).
 */
export function checkClassOptions(options: Partial<ClassSocketOptions>, path = '', env: MarkingEnvironment = currentMarkingEnvironment()): FieldError[] {
  return classOptionProblems(options, path, env).map(({ path: p, message }) => ({ path: p, message }));
}

interface Problem extends FieldError {
  code: SocketOptionErrorCode;
  option: string;
}

function classOptionProblems(options: Partial<ClassSocketOptions>, path: string, env: MarkingEnvironment): Problem[] {
  const at = (field: string): string => (path ? `${path}.${field}` : field);
  const errors: Problem[] = [];
  const asked = options.dscp !== undefined || options.soPriority !== undefined || options.congestion !== undefined;
  if (asked && !env.supported) {
    errors.push({ code: 'STRATA_SOCKOPT_UNSUPPORTED', option: 'libc', path, message: 'socket options (dscp, soPriority, congestion) need Linux and the koffi package; remove them or run on Linux' });
  }
  const { dscp, soPriority, congestion } = options;
  if (dscp !== undefined && !(Number.isInteger(dscp) && dscp >= 0 && dscp <= 63)) {
    errors.push({ code: 'STRATA_SOCKOPT_INVALID', option: 'IP_TOS', path: at('dscp'), message: `must be an integer 0-63 (a DSCP code point, e.g. 46 for EF), got ${JSON.stringify(dscp)}` });
  }
  if (soPriority !== undefined) {
    if (!(Number.isInteger(soPriority) && soPriority >= 0 && soPriority <= 0xffffffff)) {
      errors.push({ code: 'STRATA_SOCKOPT_INVALID', option: 'SO_PRIORITY', path: at('soPriority'), message: `must be an integer 0-4294967295, got ${JSON.stringify(soPriority)}` });
    } else if (soPriority > UNPRIVILEGED_MAX_PRIORITY && !env.netAdmin) {
      errors.push({
        code: 'STRATA_SOCKOPT_PERMISSION',
        option: 'SO_PRIORITY',
        path: at('soPriority'),
        message: `${soPriority} needs CAP_NET_ADMIN (only 0-${UNPRIVILEGED_MAX_PRIORITY} are allowed without it); run the sidecar as root or grant it CAP_NET_ADMIN`,
      });
    }
  }
  if (congestion !== undefined) {
    if (typeof congestion !== 'string' || !/^[A-Za-z0-9_-]{1,15}$/.test(congestion)) {
      errors.push({ code: 'STRATA_SOCKOPT_INVALID', option: 'TCP_CONGESTION', path: at('congestion'), message: `must be a congestion control name such as bbr, cubic or reno, got ${JSON.stringify(congestion)}` });
    } else if (env.available && !env.available.includes(congestion)) {
      errors.push({ code: 'STRATA_SOCKOPT_CONGESTION_UNAVAILABLE', option: 'TCP_CONGESTION', path: at('congestion'), message: `TCP congestion control '${congestion}' is not available: ${PROC_CC_AVAILABLE} lists ${env.available.join(' ')}` });
    } else if (!env.netAdmin && env.allowed && !env.allowed.includes(congestion)) {
      errors.push({
        code: 'STRATA_SOCKOPT_CONGESTION_NOT_ALLOWED',
        option: 'TCP_CONGESTION',
        path: at('congestion'),
        message: `TCP congestion control '${congestion}' is available but not allowed without CAP_NET_ADMIN: ${PROC_CC_ALLOWED} lists ${env.allowed.join(' ')}`,
      });
    }
  }
  return errors;
}

let cachedEnv: MarkingEnvironment | undefined;
const log = logger('net');
const warned = new Set<string>();

/** A socket option that failed at connect time: the connection goes on unmarked; say so once per class and error. */
function warnOnce(className: string, err: Error): void {
  const key = `${className}|${err.message}`;
  if (warned.has(key)) return;
  warned.add(key);
  log.warn(`priority class '${className}': socket options not applied, connection continues unmarked: ${err.message}`);
}

/**
 * The hook: validate against the machine (read once per process), then mark the socket now or
 * right before its connect (see net/sockopt.ts). Problems throw a SocketOptionError naming the class.
 */
export const markSocket: UpstreamSocketHook = (socket: Socket, options: ClassSocketOptions): void => {
  if (options.dscp === undefined && options.soPriority === undefined && options.congestion === undefined) return;
  cachedEnv ??= currentMarkingEnvironment();
  const problems = classOptionProblems(options, '', cachedEnv);
  const first = problems[0];
  if (first) {
    throw new SocketOptionError(first.code, first.option, `priority class '${options.className}': ${problems.map((p) => `${p.path || '(class)'}: ${p.message}`).join('; ')}`);
  }
  try {
    attachSocketOptions(socket, options, (err) => warnOnce(options.className, err));
  } catch (err) {
    if (err instanceof SocketOptionError) {
      throw new SocketOptionError(err.code, err.option, `priority class '${options.className}': ${err.message}`, err.errno);
    }
    throw err;
  }
};

/**
 * Install the implementation behind `markUpstreamSocket()`. Returns false (and installs nothing)
 * where socket options cannot be set, so the proxy keeps `socketMarkingAvailable() === false`.
 */
export function installSocketMarking(): boolean {
  if (!socketOptionsSupported()) return false;
  setUpstreamSocketHook(markSocket);
  return true;
}

export function uninstallSocketMarking(): void {
  setUpstreamSocketHook(undefined);
}
