/**
 * @module proxy/priority/classify
 * Request → priority class. The policy (PriorityPolicy rules, compiled once per snapshot)
 * is tried in order, first match wins; an incoming class (from the header or the baggage,
 * see propagate.ts) stands when the listener trusts it, or when the matching rule says
 * `trustIncoming`. Classes are indexes into the class table (highest rank first). Pure.
 */
import type { PriorityRuleSpec, PrioritySpec } from '../../config/snapshot.js';
import type { Headers } from '../filters/filter.js';
import { compileHeader, headerValue, stripQuery } from '../router/match.js';

/** The request as classification sees it. */
export interface ClassifyInput {
  method: string;
  /** Path + query. */
  path: string;
  headers: Headers;
  /** The routed service (virtual host name) or the local service for inbound. */
  destination: string;
}

export interface CompiledRule {
  readonly name: string;
  /** Class index, or -1: the default class. */
  readonly cls: number;
  readonly trustIncoming: boolean;
  test(req: ClassifyInput): boolean;
}

export interface CompiledPolicy {
  /** Class names by index (highest rank first). */
  readonly names: readonly string[];
  readonly defaultClass: number;
  readonly rules: readonly CompiledRule[];
  /** Index of a class name, or -1. */
  index(name: string): number;
}

export function compilePolicy(spec: PrioritySpec): CompiledPolicy {
  const names = spec.classes.map((c) => c.name);
  const byName = new Map(names.map((n, i) => [n, i]));
  const index = (name: string): number => byName.get(name) ?? -1;
  return {
    names,
    defaultClass: Math.max(0, index(spec.defaultClass)),
    rules: spec.rules.map((r) => compileRule(r, index)),
    index,
  };
}

/**
 * The class of a request: `incoming` is the class it arrived with (-1: none or unknown),
 * `trusted` whether the listener honours it without a rule saying so.
 */
export function classify(policy: CompiledPolicy, req: ClassifyInput, incoming: number, trusted: boolean): number {
  if (trusted && incoming >= 0) return incoming;
  for (const r of policy.rules) {
    if (!r.test(req)) continue;
    if (r.trustIncoming && incoming >= 0) return incoming;
    return r.cls >= 0 ? r.cls : policy.defaultClass;
  }
  return policy.defaultClass;
}

function compileRule(spec: PriorityRuleSpec, index: (name: string) => number): CompiledRule {
  const tests: ((req: ClassifyInput) => boolean)[] = [];
  const m = spec.match;
  if (m.path) {
    const p = m.path;
    if ('exact' in p) tests.push((r) => stripQuery(r.path) === p.exact);
    else if ('prefix' in p) tests.push((r) => r.path.startsWith(p.prefix));
    else {
      const re = new RegExp(`^(?:${p.regex})$`);
      tests.push((r) => re.test(stripQuery(r.path)));
    }
  }
  if (m.methods && m.methods.length > 0) {
    const methods = new Set(m.methods);
    tests.push((r) => methods.has(r.method));
  }
  for (const h of m.headers ?? []) {
    const matches = compileHeader(h);
    tests.push((r) => matches(r.headers));
  }
  if (m.apiKey) {
    const { header } = m.apiKey;
    const keys = new Set(m.apiKey.values);
    tests.push((r) => {
      const v = headerValue(r.headers, header);
      return v !== undefined && keys.has(v.trim());
    });
  }
  if (m.services) {
    const services = new Set(m.services);
    tests.push((r) => services.has(r.destination));
  }
  return {
    name: spec.name,
    cls: spec.class === undefined ? -1 : index(spec.class),
    trustIncoming: spec.trustIncoming,
    test: (req) => {
      for (const t of tests) if (!t(req)) return false;
      return true;
    },
  };
}
