/**
 * @module xds/priority-xds
 * Request priority over xDS: the mesh's priority classes, classification rules (PriorityPolicy
 * rules in policy-name order, compiled) and default class travel in LDS as one API Listener
 * named `strata.priority` whose `api_listener` is an `xds.type.v3.TypedStruct` with type_url
 * `type.strata.dev/strata.priority.v1.Mesh` and a google.protobuf.Struct value:
 *
 * ```
 * { classes: [{ name, rank, dscp?, soPriority?, congestion?, minShare, maxShare?, shedOrder }, …],
 *   defaultClass, rules: [{ name, match: { path?, methods?, headers?, apiKey?, services? }, class?, trustIncoming }, …] }
 * ```
 *
 * Only Strata sidecars are sent it (control/scope.ts): proxyless gRPC clients subscribe to
 * listeners by name and never ask for it; Envoy only takes API listeners from its bootstrap.
 * The sidecar's own limits (Sidecar `priority`: inbound, outbound, services, pools,
 * trustIncoming) are not mesh-wide and do not travel.
 *
 * The decoder validates everything a sidecar relies on, with field paths under the Listener
 * (`api_listener.api_listener.value.classes[1].dscp: …`), never throws, and checks socket
 * options for ranges only (the sidecar checks its machine: proxy/xds/listener.ts).
 */
import type { FieldError } from '../errors.js';
import { isRecord } from '../config/field-path.js';
import { RANGE_CHECKS, classSocketProblems } from '../config/compile-priority.js';
import type { HeaderMatch, PriorityClassSpec, PriorityRuleSpec, PrioritySpec, StringMatch } from '../config/snapshot.js';
import { TYPED_STRUCT_TYPE_URL, pack } from './protos.js';
import type { XdsMessage } from './protos.js';
import type { XdsDecoded } from './decode-context.js';
import { jsonToStruct, structToJson } from './wkt.js';

/** Name of the Listener that carries the mesh's priority. */
export const PRIORITY_LISTENER_NAME = 'strata.priority';
/** TypedStruct type_url of its content. */
export const PRIORITY_TYPE_URL = 'type.strata.dev/strata.priority.v1.Mesh';
/** Field path of the Struct inside the Listener. */
export const PRIORITY_VALUE_PATH = 'api_listener.api_listener.value';

/** The mesh-wide part of PrioritySpec: what the control plane sends. */
export type MeshPrioritySpec = Pick<PrioritySpec, 'classes' | 'defaultClass' | 'rules'>;

/** The mesh-wide part of a compiled PrioritySpec. */
export function meshPriorityOf(p: MeshPrioritySpec): MeshPrioritySpec {
  return { classes: p.classes, defaultClass: p.defaultClass, rules: p.rules };
}

/** The `strata.priority` Listener (a plain Listener message; pack it with LISTENER_TYPE_URL). */
export function priorityListenerToXds(p: MeshPrioritySpec): XdsMessage {
  const value = jsonToStruct({ classes: p.classes, defaultClass: p.defaultClass, rules: p.rules } as unknown as Record<string, unknown>);
  return {
    name: PRIORITY_LISTENER_NAME,
    api_listener: { api_listener: pack(TYPED_STRUCT_TYPE_URL, { type_url: PRIORITY_TYPE_URL, value }) },
  };
}

/**
 * Decode the TypedStruct of a `strata.priority` Listener (already unpacked: `{ type_url, value }`),
 * `name` being the Listener's. Errors carry paths from the Listener's root.
 */
export function decodePriorityTypedStruct(name: string, typedStruct: XdsMessage): XdsDecoded<MeshPrioritySpec> {
  const errors: FieldError[] = [];
  if (name !== PRIORITY_LISTENER_NAME) errors.push(err('name', `a ${PRIORITY_TYPE_URL} listener must be named ${PRIORITY_LISTENER_NAME}, got ${JSON.stringify(name)}`));
  if (typedStruct.type_url !== PRIORITY_TYPE_URL) {
    errors.push(err('api_listener.api_listener.type_url', `expected ${PRIORITY_TYPE_URL}, got ${JSON.stringify(typedStruct.type_url)}`));
    return { name, errors };
  }
  const json = structToJson(typedStruct.value);
  if (!json) return { name, errors: [...errors, err(PRIORITY_VALUE_PATH, 'expected a google.protobuf.Struct')] };
  const d = decodeMeshPriority(json, PRIORITY_VALUE_PATH);
  if ('errors' in d) return { name, errors: [...errors, ...d.errors] };
  return errors.length > 0 ? { name, errors } : { name, value: d.value };
}

/** Validate the JSON form (what the Struct holds) into a MeshPrioritySpec; `path` prefixes every error. */
export function decodeMeshPriority(json: unknown, path = ''): { value: MeshPrioritySpec } | { errors: FieldError[] } {
  const r = new Reader(path);
  if (!isRecord(json)) return { errors: [err(path, 'expected an object')] };
  const classes: PriorityClassSpec[] = [];
  const rawClasses = r.list(json, 'classes', '');
  if (!rawClasses) r.error('classes', 'not set');
  else if (rawClasses.length === 0) r.error('classes', 'at least one class is required');
  rawClasses?.forEach((c, i) => {
    const spec = decodeClass(r, c, `classes[${i}]`);
    if (spec) classes.push(spec);
  });
  const byName = new Map<string, number>();
  const byRank = new Map<number, number>();
  classes.forEach((c, i) => {
    const sameName = byName.get(c.name);
    if (sameName !== undefined) r.error(`classes[${i}].name`, `duplicate class ${JSON.stringify(c.name)} (also classes[${sameName}])`);
    else byName.set(c.name, i);
    const sameRank = byRank.get(c.rank);
    if (sameRank !== undefined) r.error(`classes[${i}].rank`, `rank ${c.rank} is also the rank of classes[${sameRank}]; ranks must be unique`);
    else byRank.set(c.rank, i);
    const prev = classes[i - 1];
    if (prev && prev.rank < c.rank) r.error(`classes[${i}].rank`, `classes must be in rank order, highest first (${c.rank} follows ${prev.rank})`);
  });
  const total = classes.reduce((sum, c) => sum + c.minShare, 0);
  if (total > 1 + 1e-9) r.error('classes', `minShare of all classes adds up to ${Math.round(total * 1000) / 1000}; at most 1`);
  const known = (): string => classes.map((c) => c.name).join(', ');

  const defaultClass = r.string(json, 'defaultClass', '', true);
  if (defaultClass !== undefined && classes.length > 0 && !byName.has(defaultClass)) r.error('defaultClass', `unknown priority class ${JSON.stringify(defaultClass)} (classes: ${known()})`);

  const rules: PriorityRuleSpec[] = [];
  r.list(json, 'rules', '')?.forEach((raw, i) => {
    const rule = decodeRule(r, raw, `rules[${i}]`);
    if (!rule) return;
    if (rule.class !== undefined && classes.length > 0 && !byName.has(rule.class)) r.error(`rules[${i}].class`, `unknown priority class ${JSON.stringify(rule.class)} (classes: ${known()})`);
    rules.push(rule);
  });
  if (r.errors.length > 0) return { errors: r.errors };
  return { value: { classes, defaultClass: defaultClass ?? '', rules } };
}

function decodeClass(r: Reader, raw: unknown, path: string): PriorityClassSpec | undefined {
  if (!isRecord(raw)) return r.error(path, 'expected an object');
  const name = r.string(raw, 'name', path, true);
  const rank = r.integer(raw, 'rank', path, true);
  const dscp = r.integer(raw, 'dscp', path, false);
  const soPriority = r.integer(raw, 'soPriority', path, false);
  const congestion = r.string(raw, 'congestion', path, false);
  const minShare = r.number(raw, 'minShare', path, true);
  const maxShare = r.number(raw, 'maxShare', path, false);
  const shedOrder = r.number(raw, 'shedOrder', path, true);
  if (minShare !== undefined && (minShare < 0 || minShare > 1)) r.error(`${path}.minShare`, 'must be between 0 and 1');
  if (maxShare !== undefined && (maxShare <= 0 || maxShare > 1)) r.error(`${path}.maxShare`, 'must be above 0 and at most 1');
  else if (maxShare !== undefined && minShare !== undefined && maxShare < minShare) r.error(`${path}.maxShare`, `must be at least minShare (${minShare})`);
  const spec: PriorityClassSpec = {
    name: name ?? '',
    rank: rank ?? 0,
    ...(dscp !== undefined && { dscp }),
    ...(soPriority !== undefined && { soPriority }),
    ...(congestion !== undefined && { congestion }),
    minShare: minShare ?? 0,
    maxShare: maxShare ?? 1,
    shedOrder: shedOrder ?? 0,
  };
  for (const e of classSocketProblems(spec, r.at(path), RANGE_CHECKS)) r.errors.push({ ...e, source: 'xds' });
  return spec; // kept even when invalid, so classes[i] stays the i-th class in later checks
}

function decodeRule(r: Reader, raw: unknown, path: string): PriorityRuleSpec | undefined {
  if (!isRecord(raw)) return r.error(path, 'expected an object');
  const before = r.errors.length;
  const name = r.string(raw, 'name', path, true);
  const cls = r.string(raw, 'class', path, false);
  const trustIncoming = r.boolean(raw, 'trustIncoming', path, false) ?? false;
  if (cls === undefined && !trustIncoming) r.error(`${path}.class`, 'not set (a rule without a class must trust the incoming one)');
  const match: PriorityRuleSpec['match'] = {};
  const m = raw.match === undefined ? {} : raw.match;
  const mp = `${path}.match`;
  if (!isRecord(m)) r.error(mp, 'expected an object');
  else {
    if (m.path !== undefined) {
      const p = decodeStringMatch(r, m.path, `${mp}.path`, false);
      if (p && 'present' in p) r.error(`${mp}.path`, 'expected one of exact, prefix, regex');
      else if (p) match.path = p;
    }
    const methods = r.strings(m, 'methods', mp);
    if (methods) match.methods = methods;
    const headers = r.list(m, 'headers', mp);
    if (headers) {
      match.headers = [];
      headers.forEach((h, i) => {
        const hp = `${mp}.headers[${i}]`;
        if (!isRecord(h)) return r.error(hp, 'expected an object');
        const hname = r.string(h, 'name', hp, true);
        const hm = decodeStringMatch(r, h.match, `${hp}.match`, true);
        const invert = r.boolean(h, 'invert', hp, false);
        if (hname !== undefined && hm) match.headers?.push({ name: hname, match: hm, ...(invert === true && { invert: true }) } satisfies HeaderMatch);
      });
    }
    if (m.apiKey !== undefined) {
      const ap = `${mp}.apiKey`;
      if (!isRecord(m.apiKey)) r.error(ap, 'expected an object');
      else {
        const header = r.string(m.apiKey, 'header', ap, true);
        const values = r.strings(m.apiKey, 'values', ap) ?? r.error(`${ap}.values`, 'not set');
        if (header !== undefined && values) match.apiKey = { header, values };
      }
    }
    const services = r.strings(m, 'services', mp);
    if (services) match.services = services;
  }
  if (r.errors.length > before) return undefined;
  return { name: name ?? '', match, ...(cls !== undefined && { class: cls }), trustIncoming };
}

function decodeStringMatch(r: Reader, raw: unknown, path: string, allowPresent: boolean): StringMatch | undefined {
  if (!isRecord(raw)) return r.error(path, raw === undefined ? 'not set' : 'expected an object');
  const keys = ['exact', 'prefix', 'regex', ...(allowPresent ? ['present'] : [])].filter((k) => raw[k] !== undefined);
  if (keys.length !== 1) return r.error(path, `expected exactly one of exact, prefix, regex${allowPresent ? ', present' : ''}`);
  const key = keys[0] as 'exact' | 'prefix' | 'regex' | 'present';
  if (key === 'present') {
    const present = r.boolean(raw, 'present', path, true);
    return present === undefined ? undefined : { present };
  }
  const v = r.string(raw, key, path, true);
  if (v === undefined) return undefined;
  if (key === 'regex') {
    try {
      new RegExp(`^(?:${v})$`);
    } catch (e) {
      return r.error(`${path}.regex`, `invalid regular expression: ${(e as Error).message}`);
    }
    return { regex: v };
  }
  return key === 'exact' ? { exact: v } : { prefix: v };
}

const err = (path: string, message: string): FieldError => ({ source: 'xds', path, message });

/** Field readers over JSON with path-located errors (paths relative to the reader's root). */
class Reader {
  readonly errors: FieldError[] = [];
  constructor(readonly root: string) {}

  at(path: string): string {
    return this.root && path ? `${this.root}.${path}` : this.root || path;
  }

  error(path: string, message: string): undefined {
    this.errors.push(err(this.at(path), message));
    return undefined;
  }

  #get(o: Record<string, unknown>, key: string, path: string, required: boolean): unknown {
    const v = o[key];
    if ((v === undefined || v === null) && required) this.error(join(path, key), 'not set');
    return v === null ? undefined : v;
  }

  string(o: Record<string, unknown>, key: string, path: string, required: boolean): string | undefined {
    const v = this.#get(o, key, path, required);
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || (required && v === '')) return this.error(join(path, key), typeof v === 'string' ? 'not set' : 'expected a string');
    return v;
  }

  number(o: Record<string, unknown>, key: string, path: string, required: boolean): number | undefined {
    const v = this.#get(o, key, path, required);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.error(join(path, key), 'expected a number');
    return v;
  }

  integer(o: Record<string, unknown>, key: string, path: string, required: boolean): number | undefined {
    const v = this.number(o, key, path, required);
    if (v !== undefined && !Number.isInteger(v)) return this.error(join(path, key), `expected an integer, got ${v}`);
    return v;
  }

  boolean(o: Record<string, unknown>, key: string, path: string, required: boolean): boolean | undefined {
    const v = this.#get(o, key, path, required);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') return this.error(join(path, key), 'expected a boolean');
    return v;
  }

  list(o: Record<string, unknown>, key: string, path: string): unknown[] | undefined {
    const v = this.#get(o, key, path, false);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.error(join(path, key), 'expected a list');
    return v;
  }

  strings(o: Record<string, unknown>, key: string, path: string): string[] | undefined {
    const v = this.list(o, key, path);
    if (!v) return undefined;
    const bad = v.findIndex((x) => typeof x !== 'string');
    if (bad >= 0) return this.error(`${join(path, key)}[${bad}]`, 'expected a string');
    return v as string[];
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}
