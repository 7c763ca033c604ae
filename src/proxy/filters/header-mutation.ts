/**
 * @module proxy/filters/header-mutation
 * `header-mutation`: set, append or remove request and/or response headers.
 *
 * ```yaml
 * - name: header-mutation
 *   config:
 *     request:  { set: { x-api-version: "2" }, remove: [x-debug] }
 *     response: { add: { x-served-by: strata } }
 * ```
 *
 * Per side, operations apply in a fixed order: `remove`, then `set` (replaces any value),
 * then `add` (appends: a string becomes an array, an array grows). Naming the same header in
 * `remove` and in `set`/`add` is a config error; `set` + `add` of one name yields both values.
 * Names are HTTP tokens, compared and stored lower-case. Values may not contain CR, LF, NUL or
 * other characters Node refuses in a header value.
 *
 * Refused names, on every operation: pseudo-headers (`:path`…), hop-by-hop headers
 * (connection, keep-alive, proxy-connection, te, transfer-encoding, upgrade) and
 * content-length, which the proxy owns for framing; and on the request side `host`, since the
 * authority is rewritten by the route's `hostRewrite`, not by a filter.
 *
 * The filter is stateless: build() compiles the operations once and every stream shares
 * one instance.
 */
import type { Decoded, FieldError } from '../../errors.js';
import { fail, ok } from '../../errors.js';
import type { FilterFactory, Headers, HttpFilter } from './filter.js';
import { registerFilter } from './registry.js';
import { describe, expectObject, fieldPath, isPlainObject, own } from './decode-helpers.js';

export const HEADER_MUTATION_FILTER = 'header-mutation';

/** One side's decoded operations; names are lower-case. */
export interface HeaderOps {
  readonly set: ReadonlyArray<readonly [name: string, value: string]>;
  readonly add: ReadonlyArray<readonly [name: string, value: string]>;
  readonly remove: readonly string[];
}

export interface HeaderMutationConfig {
  readonly request: HeaderOps;
  readonly response: HeaderOps;
}

type Side = 'request' | 'response';

const SIDES: readonly Side[] = ['request', 'response'];
const OP_FIELDS = ['set', 'add', 'remove'] as const;
const NO_OPS: HeaderOps = Object.freeze({ set: [], add: [], remove: [] });

/** RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What Node's http module accepts in a header value (it throws on anything else). */
const VALID_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const CR_LF_NUL = /[\r\n\0]/;

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade']);

/** Why a (lower-case) name may not be touched on this side, or undefined when it may. */
function refusedName(lower: string, side: Side): string | undefined {
  if (HOP_BY_HOP.has(lower)) return `"${lower}" is a hop-by-hop header managed by the proxy`;
  if (lower === 'content-length') return '"content-length" is managed by the proxy (message framing)';
  if (side === 'request' && lower === 'host') {
    return '"host" cannot be changed by header-mutation; use the route\'s hostRewrite';
  }
  return undefined;
}

/** Validates one header name; returns it lower-cased, or undefined after pushing an error. */
function checkName(name: string, path: string, side: Side, errors: FieldError[]): string | undefined {
  if (name.startsWith(':')) {
    errors.push({ path, message: 'pseudo-headers cannot be modified; use the route\'s path or host rewrite' });
    return undefined;
  }
  if (!TOKEN.test(name)) {
    errors.push({ path, message: 'is not a valid HTTP header name (token characters only)' });
    return undefined;
  }
  const lower = name.toLowerCase();
  const refused = refusedName(lower, side);
  if (refused !== undefined) {
    errors.push({ path, message: refused });
    return undefined;
  }
  return lower;
}

function checkValue(value: unknown, path: string, errors: FieldError[]): value is string {
  if (typeof value !== 'string') {
    errors.push({ path, message: `must be a string, got ${describe(value)} (quote numbers and booleans in YAML)` });
    return false;
  }
  if (CR_LF_NUL.test(value)) {
    errors.push({ path, message: 'must not contain CR, LF or NUL' });
    return false;
  }
  if (!VALID_VALUE.test(value)) {
    errors.push({ path, message: 'contains a character not allowed in a header value (control or non-latin-1)' });
    return false;
  }
  return true;
}

/** `set`/`add`: an object of header name → value. */
function decodeMap(
  raw: unknown,
  path: string,
  side: Side,
  errors: FieldError[],
): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  if (!isPlainObject(raw)) {
    errors.push({ path, message: `must be an object mapping header names to values, got ${describe(raw)}` });
    return out;
  }
  const seen = new Set<string>();
  for (const name of Object.keys(raw)) {
    const at = fieldPath(path, name);
    const lower = checkName(name, at, side, errors);
    const value = raw[name];
    const valueOk = checkValue(value, at, errors);
    if (lower === undefined || !valueOk) continue;
    if (seen.has(lower)) {
      errors.push({ path: at, message: `duplicate header name "${lower}" (names are case-insensitive)` });
      continue;
    }
    seen.add(lower);
    out.push([lower, value]);
  }
  return out;
}

/** `remove`: a list of header names. */
function decodeList(raw: unknown, path: string, side: Side, errors: FieldError[]): string[] {
  const out: string[] = [];
  if (!Array.isArray(raw)) {
    errors.push({ path, message: `must be a list of header names, got ${describe(raw)}` });
    return out;
  }
  raw.forEach((name: unknown, i) => {
    const at = fieldPath(path, i);
    if (typeof name !== 'string') {
      errors.push({ path: at, message: `must be a header name string, got ${describe(name)}` });
      return;
    }
    const lower = checkName(name, at, side, errors);
    if (lower === undefined) return;
    if (out.includes(lower)) {
      errors.push({ path: at, message: `duplicate header name "${lower}" (names are case-insensitive)` });
      return;
    }
    out.push(lower);
  });
  return out;
}

function decodeOps(raw: unknown, path: string, side: Side, errors: FieldError[]): HeaderOps {
  const obj = expectObject(raw, path, OP_FIELDS, errors);
  if (obj === undefined) return NO_OPS;
  const rawSet = own(obj, 'set');
  const rawAdd = own(obj, 'add');
  const rawRemove = own(obj, 'remove');
  const set = rawSet === undefined ? [] : decodeMap(rawSet, fieldPath(path, 'set'), side, errors);
  const add = rawAdd === undefined ? [] : decodeMap(rawAdd, fieldPath(path, 'add'), side, errors);
  const remove = rawRemove === undefined ? [] : decodeList(rawRemove, fieldPath(path, 'remove'), side, errors);
  remove.forEach((name) => {
    const op = set.some(([n]) => n === name) ? 'set' : add.some(([n]) => n === name) ? 'added' : undefined;
    if (op !== undefined) {
      // Point at the element as written (its index in the raw list), not at the deduplicated one.
      const index = (rawRemove as unknown[]).findIndex((n) => typeof n === 'string' && n.toLowerCase() === name);
      errors.push({
        path: fieldPath(fieldPath(path, 'remove'), index),
        message: `"${name}" is also ${op} on this side; remove it from one of the lists`,
      });
    }
  });
  return { set, add, remove };
}

export function decodeHeaderMutation(raw: unknown, path: string): Decoded<HeaderMutationConfig> {
  const errors: FieldError[] = [];
  const obj = expectObject(raw, path, SIDES, errors);
  if (obj === undefined) return fail(errors);
  const [request, response] = SIDES.map((side) => {
    const v = own(obj, side);
    return v === undefined ? NO_OPS : decodeOps(v, fieldPath(path, side), side, errors);
  }) as [HeaderOps, HeaderOps];
  return errors.length > 0 ? fail(errors) : ok({ request, response });
}

function isEmpty(ops: HeaderOps): boolean {
  return ops.set.length === 0 && ops.add.length === 0 && ops.remove.length === 0;
}

/** Applies one side's operations in place: remove, set, add. */
export function applyHeaderOps(headers: Headers, ops: HeaderOps): void {
  for (const name of ops.remove) delete headers[name];
  for (const [name, value] of ops.set) headers[name] = value;
  for (const [name, value] of ops.add) {
    const current = headers[name];
    headers[name] = current === undefined ? value : typeof current === 'string' ? [current, value] : [...current, value];
  }
}

export function buildHeaderMutation(config: HeaderMutationConfig): () => HttpFilter {
  const { request, response } = config;
  const filter: HttpFilter = {};
  if (!isEmpty(request)) {
    filter.onRequestHeaders = (req) => {
      applyHeaderOps(req.headers, request);
      return 'continue';
    };
  }
  if (!isEmpty(response)) {
    filter.onResponseHeaders = (res) => {
      applyHeaderOps(res.headers, response);
    };
  }
  Object.freeze(filter);
  return () => filter;
}

export const headerMutationFilter: FilterFactory<HeaderMutationConfig> = {
  name: HEADER_MUTATION_FILTER,
  decode: decodeHeaderMutation,
  build: buildHeaderMutation,
};

export function setup(): void {
  registerFilter(headerMutationFilter);
}
