/**
 * @module xds/wkt
 * Well-known protobuf types as plain objects: Duration ↔ milliseconds, Struct ↔ JSON,
 * wrapper messages (`{ value }`). Decoders here never throw; they return undefined on a
 * value of the wrong shape so callers can report the field path.
 */
import { isRecord } from '../config/field-path.js';

export interface Duration {
  seconds: number | string;
  nanos?: number;
}

export function msToDuration(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6);
  return nanos ? { seconds, nanos } : { seconds };
}

/** A finite number from a number or numeric string (int64 fields decode as strings); never throws. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Milliseconds from a Duration (seconds may be a string after decoding), or undefined when malformed. */
export function durationToMs(d: unknown): number | undefined {
  if (!isRecord(d)) return undefined;
  const seconds = d.seconds === undefined ? 0 : toNumber(d.seconds);
  const nanos = d.nanos === undefined ? 0 : toNumber(d.nanos);
  if (seconds === undefined || nanos === undefined || seconds < 0 || nanos < 0) return undefined;
  return seconds * 1000 + Math.round(nanos / 1e6);
}

export const wrap = <T>(value: T): { value: T } => ({ value });

/** The number inside a wrapper message (UInt32Value, UInt64Value, DoubleValue…), or undefined. */
export function unwrapNumber(w: unknown): number | undefined {
  if (!isRecord(w)) return undefined;
  if (w.value === undefined) return 0; // a wrapper holding the default value decodes as {}
  return toNumber(w.value);
}

/** JSON value → google.protobuf.Value (protobufjs field names). `undefined` members are dropped. */
export function jsonToValue(v: unknown): Record<string, unknown> {
  if (v === null || v === undefined) return { nullValue: 0 };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  if (typeof v === 'object') return { structValue: jsonToStruct(v as Record<string, unknown>) };
  return { stringValue: String(v) };
}

export function jsonToStruct(obj: Record<string, unknown>): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v !== undefined) Object.defineProperty(fields, k, { value: jsonToValue(v), enumerable: true, writable: true, configurable: true });
  }
  return { fields };
}

/** google.protobuf.Value → JSON. Malformed input yields null rather than throwing. */
export function valueToJson(v: unknown): unknown {
  if (!isRecord(v)) return null;
  if ('numberValue' in v) return toNumber(v.numberValue) ?? null;
  if ('stringValue' in v) return String(v.stringValue);
  if ('boolValue' in v) return v.boolValue === true;
  if ('listValue' in v) {
    const values = isRecord(v.listValue) ? v.listValue.values : undefined;
    return Array.isArray(values) ? values.map(valueToJson) : [];
  }
  if ('structValue' in v) return structToJson(v.structValue) ?? {};
  return null;
}

/** google.protobuf.Struct → JSON object, or undefined when it is not a Struct. */
export function structToJson(s: unknown): Record<string, unknown> | undefined {
  if (!isRecord(s)) return undefined;
  const fields = s.fields === undefined ? {} : s.fields;
  if (!isRecord(fields)) return undefined;
  const out: Record<string, unknown> = {};
  // defineProperty: a key such as "__proto__" stays a plain key.
  for (const [k, v] of Object.entries(fields)) {
    Object.defineProperty(out, k, { value: valueToJson(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
