/**
 * @module config/schema-errors
 * Run a TypeBox schema over a value and turn every failure into a FieldError with a
 * readable path and message: unknown fields by name (with a suggestion), enums listed,
 * ranges spelled out. One error per field: the first failure found there.
 */
import type { TSchema } from '@sinclair/typebox';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { ValueError } from '@sinclair/typebox/errors';
import { Value } from '@sinclair/typebox/value';
import type { FieldError } from '../errors.js';
import { isRecord, pointerToPath } from './field-path.js';

/** Validate `value` against `schema`; paths are rooted at `base` (e.g. `spec`). */
export function schemaErrors(schema: TSchema, value: unknown, base: string): FieldError[] {
  const byPath = new Map<string, FieldError>();
  for (const e of Value.Errors(schema, value)) {
    const path = pointerToPath(e.path, base, value);
    if (byPath.has(path)) continue;
    byPath.set(path, { path, message: describeError(e) });
  }
  return [...byPath.values()];
}

function describeError(e: ValueError): string {
  const s = e.schema as Record<string, unknown>;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const key = e.path.slice(e.path.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');
      const known = isRecord(s['properties']) ? Object.keys(s['properties']) : [];
      return `unknown field ${JSON.stringify(key)}${suggest(key, known)}`;
    }
    case ValueErrorType.ObjectRequiredProperty:
      return 'required field missing';
    case ValueErrorType.Union: {
      const options = Array.isArray(s['anyOf']) ? (s['anyOf'] as unknown[]) : [];
      const consts = options.map((o) => (isRecord(o) ? o['const'] : undefined));
      if (consts.length > 0 && consts.every((c) => typeof c === 'string')) {
        return `must be one of ${consts.join(', ')} (got ${describeValue(e.value)})`;
      }
      return `does not match any allowed form (got ${describeValue(e.value)})`;
    }
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(s['const'])} (got ${describeValue(e.value)})`;
    case ValueErrorType.Integer:
      return `expected an integer, got ${describeValue(e.value)}`;
    case ValueErrorType.Number:
      return `expected a number, got ${describeValue(e.value)}`;
    case ValueErrorType.String:
      return `expected a string, got ${describeValue(e.value)}`;
    case ValueErrorType.Boolean:
      return `expected true or false, got ${describeValue(e.value)}`;
    case ValueErrorType.Object:
      return `expected a mapping, got ${describeValue(e.value)}`;
    case ValueErrorType.Array:
      return `expected a list, got ${describeValue(e.value)}`;
    case ValueErrorType.Tuple:
    case ValueErrorType.TupleLength:
      return `expected a list of exactly ${String(s['minItems'] ?? '?')} items, got ${describeValue(e.value)}`;
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.NumberMaximum:
      return rangeMessage(s, e.value);
    case ValueErrorType.StringMinLength:
      return s['minLength'] === 1 ? 'must not be empty' : `must be at least ${String(s['minLength'])} characters`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(s['maxLength'])} characters`;
    case ValueErrorType.StringPattern:
      return typeof s['errorMessage'] === 'string'
        ? `${s['errorMessage']} (got ${describeValue(e.value)})`
        : `must match /${String(s['pattern'])}/ (got ${describeValue(e.value)})`;
    case ValueErrorType.ArrayMinItems:
      return `must have at least ${String(s['minItems'])} item${s['minItems'] === 1 ? '' : 's'}`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(s['maxItems'])} items`;
    default:
      return e.message;
  }
}

function rangeMessage(s: Record<string, unknown>, value: unknown): string {
  const min = s['minimum'];
  const max = s['maximum'];
  const got = `(got ${describeValue(value)})`;
  if (typeof min === 'number' && typeof max === 'number') return `must be between ${min} and ${max} ${got}`;
  if (typeof min === 'number') return `must be at least ${min} ${got}`;
  return `must be at most ${String(max)} ${got}`;
}

/** A short, safe description of any decoded value for messages. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return v.length > 40 ? `${JSON.stringify(v.slice(0, 40))}…` : JSON.stringify(v);
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(v);
    case 'object':
      return 'a mapping';
    default:
      return typeof v;
  }
}

/** ` (did you mean "x"?)` when one known name is close to `key`, else ''. */
export function suggest(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : ` (did you mean ${JSON.stringify(best)}?)`;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3 || a.length > 64 || b.length > 64) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? Infinity;
}
