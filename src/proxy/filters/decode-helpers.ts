/**
 * @module proxy/filters/decode-helpers
 * Small hand-written validators shared by the built-in filters' decode(). They push
 * FieldErrors into a caller-owned list instead of throwing, so a decoder reports every
 * problem at once, each located by its field path.
 */
import type { FieldError } from '../../errors.js';

export type PlainObject = Record<string, unknown>;

/** A plain data object (what a YAML/JSON parser yields): not an array, Date, Map, class instance… */
export function isPlainObject(v: unknown): v is PlainObject {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Describes a value's kind for messages: `got an array`, `got null`, `got a string`… */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' || t === 'undefined' ? t : `a ${t}`;
}

/** Same rule as config/field-path.ts, so filter errors read like the rest of the config's. */
const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** `base.key` for plain keys (`x-api-version` included), `base["a b"]` otherwise, `base[3]` for indices. */
export function fieldPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (!PLAIN_KEY.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base ? `${base}.${key}` : key;
}

/**
 * Checks that `raw` is a plain object whose keys are all in `allowed`; every unknown key is
 * an error at its own path. Returns the object (even with unknown keys, so the caller can
 * keep validating the known ones) or undefined when it is not an object at all.
 */
export function expectObject(
  raw: unknown,
  path: string,
  allowed: readonly string[],
  errors: FieldError[],
): PlainObject | undefined {
  if (!isPlainObject(raw)) {
    errors.push({ path, message: `must be an object, got ${describe(raw)}` });
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) {
      errors.push({ path: fieldPath(path, key), message: `unknown field (allowed: ${allowed.join(', ')})` });
    }
  }
  return raw;
}

/** Own-property read, so inherited names (`constructor`, `toString`) never count as set. */
export function own(obj: PlainObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

export interface IntegerRange {
  min: number;
  max?: number;
}

/** An integer within [min, max]; pushes an error and returns undefined otherwise. */
export function expectInteger(
  raw: unknown,
  path: string,
  range: IntegerRange,
  errors: FieldError[],
): number | undefined {
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= range.min && raw <= max) return raw;
  const bounds = range.max === undefined ? `>= ${range.min}` : `between ${range.min} and ${max}`;
  errors.push({ path, message: `must be an integer ${bounds}, got ${show(raw)}` });
  return undefined;
}

/** A finite number in [0, 100], fractions allowed. */
export function expectPercent(raw: unknown, path: string, errors: FieldError[]): number | undefined {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0 && raw <= 100) return raw;
  errors.push({ path, message: `must be a number between 0 and 100, got ${show(raw)}` });
  return undefined;
}

/** Marks a missing required field. */
export function requireField(obj: PlainObject, key: string, path: string, errors: FieldError[]): unknown {
  const v = own(obj, key);
  if (v === undefined) errors.push({ path: fieldPath(path, key), message: 'is required' });
  return v;
}

/** A short rendering of a scalar for messages; kinds for everything else. */
function show(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return describe(v);
}
