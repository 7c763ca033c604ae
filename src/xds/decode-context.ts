/**
 * @module xds/decode-context
 * Shared pieces of the xDS resource decoders: the result shape, an error collector with
 * field paths, and readers that never throw on values of the wrong shape.
 */
import type { FieldError } from '../errors.js';
import { isRecord } from '../config/field-path.js';
import { unpack } from './protos.js';
import type { XdsMessage } from './protos.js';
import { durationToMs, structToJson, toNumber, unwrapNumber } from './wkt.js';
import { STRATA_METADATA_KEY } from './to-xds.js';

/** A decoded resource, or every problem found in it (joined, they are the NACK's error_detail). */
export type XdsDecoded<T> = { name: string; value: T } | { name: string; errors: FieldError[] };

/** The NACK message for a failed decode: `path: message` lines joined with `; `. */
export function nackMessage(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.path || '(root)'}: ${e.message}`).join('; ');
}

export class DecodeContext {
  readonly errors: FieldError[] = [];

  error(path: string, message: string): void {
    this.errors.push({ source: 'xds', path, message });
  }

  /** A sub-message; reports `not set` when required and missing. */
  message(parent: XdsMessage, key: string, path: string, required: boolean): XdsMessage | undefined {
    const v = parent[key];
    if (v === undefined || v === null) {
      if (required) this.error(join(path, key), 'not set');
      return undefined;
    }
    if (!isRecord(v)) {
      this.error(join(path, key), 'expected a message');
      return undefined;
    }
    return v;
  }

  string(parent: XdsMessage, key: string, path: string, required: boolean): string | undefined {
    const v = parent[key];
    if (v === undefined || v === null || (required && v === '')) {
      if (required) this.error(join(path, key), 'not set');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.error(join(path, key), 'expected a string');
      return undefined;
    }
    return v;
  }

  /** A plain number (uint32, int64 as string). */
  number(parent: XdsMessage, key: string, path: string, required: boolean): number | undefined {
    const v = parent[key];
    if (v === undefined || v === null) {
      if (required) this.error(join(path, key), 'not set');
      return undefined;
    }
    const n = toNumber(v);
    if (n === undefined) this.error(join(path, key), 'expected a number');
    return n;
  }

  /** The number inside a wrapper message (`{ value }`). */
  wrapped(parent: XdsMessage, key: string, path: string, required: boolean): number | undefined {
    const v = parent[key];
    if (v === undefined || v === null) {
      if (required) this.error(join(path, key), 'not set');
      return undefined;
    }
    const n = unwrapNumber(v);
    if (n === undefined) this.error(join(path, key), 'expected a wrapped number ({ value })');
    return n;
  }

  duration(parent: XdsMessage, key: string, path: string, required: boolean): number | undefined {
    const v = parent[key];
    if (v === undefined || v === null) {
      if (required) this.error(join(path, key), 'not set');
      return undefined;
    }
    const ms = durationToMs(v);
    if (ms === undefined) this.error(join(path, key), 'expected a google.protobuf.Duration');
    return ms;
  }

  array(parent: XdsMessage, key: string, path: string, required: boolean): unknown[] {
    const v = parent[key];
    if (v === undefined || v === null) {
      if (required) this.error(join(path, key), 'not set');
      return [];
    }
    if (!Array.isArray(v)) {
      this.error(join(path, key), 'expected a list');
      return [];
    }
    return v;
  }

  /** Unpack a nested Any (value as bytes, a byte array or base64). */
  any(v: unknown, path: string, expectedTypeUrl?: string): { typeUrl: string; message: XdsMessage } | undefined {
    if (!isRecord(v)) {
      this.error(path, v === undefined || v === null ? 'not set' : 'expected a google.protobuf.Any');
      return undefined;
    }
    const typeUrl = v.type_url;
    if (typeof typeUrl !== 'string' || typeUrl === '') {
      this.error(join(path, 'type_url'), 'not set');
      return undefined;
    }
    if (expectedTypeUrl !== undefined && typeUrl !== expectedTypeUrl) {
      this.error(join(path, 'type_url'), `expected ${expectedTypeUrl}, got ${typeUrl}`);
      return undefined;
    }
    const bytes = toBytes(v.value);
    if (!bytes) {
      this.error(join(path, 'value'), 'expected bytes');
      return undefined;
    }
    try {
      return { typeUrl, message: unpack({ type_url: typeUrl, value: bytes }) };
    } catch (e) {
      this.error(path, `cannot decode ${typeUrl}: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function toBytes(v: unknown): Uint8Array | undefined {
  if (v === undefined || v === null) return new Uint8Array(0);
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'base64');
  if (Array.isArray(v) && v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b < 256)) {
    return Uint8Array.from(v as number[]);
  }
  return undefined;
}

/** An enum read from a decoded message: the name (toObject enums: String) or its number. */
export function enumName(v: unknown, names: Readonly<Record<number, string>>, dflt: string): string | undefined {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return names[v] ?? `#${v}`;
  return undefined;
}

/** Strata's own metadata (`metadata.filter_metadata.strata`) as JSON, or undefined. */
export function strataMetadata(ctx: DecodeContext, parent: XdsMessage, path: string): Record<string, unknown> | undefined {
  const metadata = ctx.message(parent, 'metadata', path, false);
  if (!metadata) return undefined;
  const fm = ctx.message(metadata, 'filter_metadata', join(path, 'metadata'), false);
  if (!fm || fm[STRATA_METADATA_KEY] === undefined) return undefined;
  const json = structToJson(fm[STRATA_METADATA_KEY]);
  if (!json) ctx.error(join(path, `metadata.filter_metadata.${STRATA_METADATA_KEY}`), 'expected a google.protobuf.Struct');
  return json;
}

