/**
 * @module proxy/filters/fault
 * `fault`: inject delays and aborts into a share of requests, for resilience testing.
 *
 * ```yaml
 * - name: fault
 *   config:
 *     delay: { fixedMs: 100, percent: 1 }     # hold 1 % of requests for 100 ms
 *     abort: { status: 503, percent: 0.1 }    # answer 0.1 % locally with a 503
 *     headerControl: false                    # honour x-strata-fault-* request headers
 * ```
 *
 * Each configured fault is drawn independently per request (`random() * 100 < percent`;
 * 0 never fires and 100 always does, without drawing). When both hit, the request is delayed
 * and then aborted, as Envoy does. An abort is a local reply with `x-strata-fault: abort` and
 * code STRATA_FAULT_ABORT.
 *
 * With `headerControl: true`, a valid `x-strata-fault-delay-ms` (integer 1..3600000) or
 * `x-strata-fault-abort-status` (200..599) request header forces that fault for that request
 * regardless of `percent`; malformed values are ignored. The headers are left in place (the
 * next hop's sidecar may honour them too). With `headerControl` off they have no effect.
 *
 * Config needs at least one of `delay`, `abort` or `headerControl: true`.
 * The filter keeps no per-stream state: every stream shares one instance.
 */
import type { Decoded, FieldError } from '../../errors.js';
import { fail, ok } from '../../errors.js';
import type { FilterCallbacks, FilterFactory, Headers, HttpFilter } from './filter.js';
import { registerFilter } from './registry.js';
import { describe, expectInteger, expectObject, expectPercent, fieldPath, own, requireField } from './decode-helpers.js';

export const FAULT_FILTER = 'fault';

/** Longest delay accepted from config or from a request header. */
export const MAX_FAULT_DELAY_MS = 3_600_000;
export const FAULT_DELAY_HEADER = 'x-strata-fault-delay-ms';
export const FAULT_ABORT_HEADER = 'x-strata-fault-abort-status';

export interface FaultDelay {
  readonly fixedMs: number;
  readonly percent: number;
}

export interface FaultAbort {
  readonly status: number;
  readonly percent: number;
}

export interface FaultConfig {
  readonly delay?: FaultDelay;
  readonly abort?: FaultAbort;
  readonly headerControl: boolean;
}

/** Runs `fn` after `ms`; injectable so tests need not wait on real time. */
export type Schedule = (fn: () => void, ms: number) => void;

const realSchedule: Schedule = (fn, ms) => {
  setTimeout(fn, ms);
};

const FIELDS = ['delay', 'abort', 'headerControl'] as const;

function decodeDelay(raw: unknown, path: string, errors: FieldError[]): FaultDelay | undefined {
  const obj = expectObject(raw, path, ['fixedMs', 'percent'], errors);
  if (obj === undefined) return undefined;
  const rawMs = requireField(obj, 'fixedMs', path, errors);
  const rawPercent = requireField(obj, 'percent', path, errors);
  const fixedMs =
    rawMs === undefined ? undefined : expectInteger(rawMs, fieldPath(path, 'fixedMs'), { min: 1, max: MAX_FAULT_DELAY_MS }, errors);
  const percent = rawPercent === undefined ? undefined : expectPercent(rawPercent, fieldPath(path, 'percent'), errors);
  return fixedMs === undefined || percent === undefined ? undefined : { fixedMs, percent };
}

function decodeAbort(raw: unknown, path: string, errors: FieldError[]): FaultAbort | undefined {
  const obj = expectObject(raw, path, ['status', 'percent'], errors);
  if (obj === undefined) return undefined;
  const rawStatus = requireField(obj, 'status', path, errors);
  const rawPercent = requireField(obj, 'percent', path, errors);
  const status =
    rawStatus === undefined ? undefined : expectInteger(rawStatus, fieldPath(path, 'status'), { min: 200, max: 599 }, errors);
  const percent = rawPercent === undefined ? undefined : expectPercent(rawPercent, fieldPath(path, 'percent'), errors);
  return status === undefined || percent === undefined ? undefined : { status, percent };
}

export function decodeFault(raw: unknown, path: string): Decoded<FaultConfig> {
  const errors: FieldError[] = [];
  const obj = expectObject(raw, path, FIELDS, errors);
  if (obj === undefined) return fail(errors);
  const rawDelay = own(obj, 'delay');
  const rawAbort = own(obj, 'abort');
  const rawHeaderControl = own(obj, 'headerControl');
  const delay = rawDelay === undefined ? undefined : decodeDelay(rawDelay, fieldPath(path, 'delay'), errors);
  const abort = rawAbort === undefined ? undefined : decodeAbort(rawAbort, fieldPath(path, 'abort'), errors);
  let headerControl = false;
  if (rawHeaderControl !== undefined) {
    if (typeof rawHeaderControl === 'boolean') headerControl = rawHeaderControl;
    else errors.push({ path: fieldPath(path, 'headerControl'), message: `must be a boolean, got ${describe(rawHeaderControl)}` });
  }
  if (rawDelay === undefined && rawAbort === undefined && rawHeaderControl !== true) {
    errors.push({ path, message: 'needs at least one of delay, abort or headerControl: true' });
  }
  if (errors.length > 0) return fail(errors);
  const config: { delay?: FaultDelay; abort?: FaultAbort; headerControl: boolean } = { headerControl };
  if (delay !== undefined) config.delay = delay;
  if (abort !== undefined) config.abort = abort;
  return ok(config);
}

const DIGITS = /^\d{1,10}$/;

/** A header's value as an integer within [min, max], or -1 when absent or malformed. */
function headerInt(headers: Headers, name: string, min: number, max: number): number {
  const v = headers[name];
  if (typeof v !== 'string') return -1;
  const s = v.trim();
  if (!DIGITS.test(s)) return -1;
  const n = Number(s);
  return n >= min && n <= max ? n : -1;
}

function abortWith(cb: FilterCallbacks, status: number): void {
  cb.respond(status, 'fault filter abort\n', { 'x-strata-fault': 'abort' }, 'STRATA_FAULT_ABORT');
}

/**
 * The fault filter with its sources of chance and time injected: `random` returns [0, 1)
 * like Math.random; `schedule` runs a callback after a delay (setTimeout by default).
 */
export function createFaultFilter(
  config: FaultConfig,
  random: () => number,
  schedule: Schedule = realSchedule,
): () => HttpFilter {
  const { delay, abort, headerControl } = config;
  const hits = (percent: number): boolean => percent >= 100 || (percent > 0 && random() * 100 < percent);

  const filter: HttpFilter = Object.freeze({
    onRequestHeaders(req, cb) {
      let delayMs = -1;
      let abortStatus = -1;
      if (headerControl) {
        delayMs = headerInt(req.headers, FAULT_DELAY_HEADER, 1, MAX_FAULT_DELAY_MS);
        abortStatus = headerInt(req.headers, FAULT_ABORT_HEADER, 200, 599);
      }
      if (delayMs < 0 && delay !== undefined && hits(delay.percent)) delayMs = delay.fixedMs;
      if (abortStatus < 0 && abort !== undefined && hits(abort.percent)) abortStatus = abort.status;

      if (delayMs < 0) {
        if (abortStatus < 0) return 'continue';
        abortWith(cb, abortStatus);
        return 'stop';
      }
      const status = abortStatus;
      schedule(() => (status < 0 ? cb.resume() : abortWith(cb, status)), delayMs);
      return 'stop';
    },
  } satisfies HttpFilter);
  return () => filter;
}

export const faultFilter: FilterFactory<FaultConfig> = {
  name: FAULT_FILTER,
  decode: decodeFault,
  build: (config) => createFaultFilter(config, Math.random),
};

export function setup(): void {
  registerFilter(faultFilter);
}
