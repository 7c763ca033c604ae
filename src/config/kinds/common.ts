/**
 * @module config/kinds/common
 * The kind contract and the schema pieces every kind shares (names, ports, addresses,
 * durations), plus small helpers for checks a schema cannot express.
 */
import { Type } from '@sinclair/typebox';
import type { SchemaOptions, Static, TLiteral, TSchema, TUnion } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import { fieldPath, indexPath } from '../field-path.js';
import type { AppProtocol } from '../snapshot.js';

/** One resource kind: its spec schema and the checks that need more than a schema. */
export interface KindDefinition<T extends TSchema = TSchema> {
  kind: string;
  /** JSON Schema (TypeBox) for `spec`; unknown fields must be rejected. */
  schema: T;
  description?: string;
  /** Runs only when the schema passed; returns errors with paths rooted at `path`. */
  validate?(spec: Static<T>, path: string): FieldError[];
}

export function StringEnum<const V extends readonly string[]>(
  values: V,
  options?: SchemaOptions,
): TUnion<TLiteral<V[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as TUnion<TLiteral<V[number]>[]>;
}

/** A closed object: unknown fields are errors. */
export const Closed = { additionalProperties: false } as const;

export const DNS_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const DNS_LABEL_MESSAGE =
  'must be a DNS label: lower-case letters, digits and "-", starting and ending with a letter or digit';

/** metadata.name, metadata.namespace and references to other resources by name. */
export const Name = (description?: string) =>
  Type.String({ pattern: DNS_LABEL, maxLength: 63, errorMessage: DNS_LABEL_MESSAGE, description });

/** Host names answered for: DNS names (any case) or `*` for every host. */
export const HostName = (description?: string) =>
  Type.String({
    pattern: '^(\\*|[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*)$',
    maxLength: 253,
    errorMessage: 'must be a host name such as api.internal, or *',
    description,
  });

/** An IP address or a host name, without port. */
export const Address = (description?: string) =>
  Type.String({
    pattern: '^[A-Za-z0-9._:%\\[\\]-]+$',
    maxLength: 253,
    errorMessage: 'must be an IP address or host name, without scheme or port',
    description,
  });

export const Port = (description?: string) => Type.Integer({ minimum: 1, maximum: 65535, description });

/** A duration in milliseconds (up to one day). */
export const Millis = (options: { minimum?: number; default?: number; description?: string } = {}) =>
  Type.Integer({ minimum: 0, maximum: 86_400_000, ...options });

export const Count = (options: { minimum?: number; maximum?: number; default?: number; description?: string } = {}) =>
  Type.Integer({ minimum: 0, maximum: 1_000_000_000, ...options });

export const APP_PROTOCOLS = ['http', 'http2', 'grpc', 'tcp'] as const satisfies readonly AppProtocol[];
export const AppProtocolSchema = (options?: SchemaOptions) => StringEnum(APP_PROTOCOLS, options);

/** HTTP token characters (RFC 9110), as used by header names and methods. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
export const HEADER_NAME = new RegExp(`^:?${TOKEN}$`);
export const HeaderName = (description?: string) =>
  Type.String({ pattern: `^:?${TOKEN}$`, maxLength: 256, errorMessage: 'must be an HTTP header name', description });
export const Method = () =>
  Type.String({ pattern: `^${TOKEN}$`, maxLength: 32, errorMessage: 'must be an HTTP method such as GET' });

/**
 * Require exactly one of `keys` to be set on `obj`. Returns the error (at `path`) or none.
 * `present: false` counts as set: it is a match on absence.
 */
export function exactlyOne(obj: Record<string, unknown>, keys: readonly string[], path: string): FieldError[] {
  const set = keys.filter((k) => obj[k] !== undefined);
  if (set.length === 1) return [];
  const options = keys.join(' | ');
  if (set.length === 0) return [{ path, message: `set exactly one of ${options}` }];
  return [{ path: fieldPath(path, set[1] ?? ''), message: `set exactly one of ${options}; found ${set.join(' and ')}` }];
}

/** An error when a regular expression does not compile, at `path`. */
export function regexError(source: string, path: string): FieldError[] {
  try {
    new RegExp(source);
    return [];
  } catch (err) {
    // V8: "Invalid regular expression: /SOURCE/: REASON"; the source is already at `path`.
    const text = err instanceof Error ? err.message : String(err);
    const detail = text.slice(text.lastIndexOf(': ') + 2);
    return [{ path, message: `invalid regular expression: ${detail}` }];
  }
}

const PATH_MATCH_KEYS = ['exact', 'prefix', 'regex'] as const;
const HEADER_MATCH_KEYS = ['exact', 'prefix', 'regex', 'present'] as const;

/** A request matcher as Route and PriorityPolicy rules write it. */
export interface RequestMatchInput {
  path?: { exact?: string; prefix?: string; regex?: string };
  headers?: readonly { exact?: string; prefix?: string; regex?: string; present?: boolean }[];
}

/** A matcher's checks: one kind per path and header match, regexes compile, literal paths start with "/". */
export function validateRequestMatch(m: RequestMatchInput | undefined, matchPath: string): FieldError[] {
  const errors: FieldError[] = [];
  if (m?.path) {
    const p = fieldPath(matchPath, 'path');
    const one = exactlyOne(m.path, PATH_MATCH_KEYS, p);
    errors.push(...one);
    if (one.length === 0) {
      if (m.path.regex !== undefined) errors.push(...regexError(m.path.regex, fieldPath(p, 'regex')));
      const literal = m.path.exact ?? m.path.prefix;
      const key = m.path.exact !== undefined ? 'exact' : 'prefix';
      if (literal !== undefined && !literal.startsWith('/')) {
        errors.push({ path: fieldPath(p, key), message: `must start with "/" (got ${JSON.stringify(literal)})` });
      }
    }
  }
  m?.headers?.forEach((h, i) => {
    const hp = indexPath(fieldPath(matchPath, 'headers'), i);
    const one = exactlyOne(h, HEADER_MATCH_KEYS, hp);
    errors.push(...one);
    if (one.length === 0 && h.regex !== undefined) errors.push(...regexError(h.regex, fieldPath(hp, 'regex')));
  });
  return errors;
}

/** Each rule checked by `check`, and rule names (declared, or `rule-<i>`) unique within the list. */
export function validateRules<R extends { name?: string }>(rules: readonly R[] | undefined, path: string, check: (rule: R, rulePath: string) => FieldError[]): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Map<string, number>();
  rules?.forEach((rule, i) => {
    const rp = indexPath(fieldPath(path, 'rules'), i);
    errors.push(...check(rule, rp));
    const name = rule.name ?? `rule-${i}`;
    const first = names.get(name);
    if (first !== undefined) errors.push({ path: fieldPath(rp, 'name'), message: `duplicate rule name ${JSON.stringify(name)} (also rules[${first}])` });
    else names.set(name, i);
  });
  return errors;
}
