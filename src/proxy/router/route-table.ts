/**
 * @module proxy/router/route-table
 * Compiled virtual hosts and routes: authority → virtual host → first matching route.
 * Built once per config snapshot; matching allocates nothing on the common path.
 */
import type { RouteSpec, VirtualHostSpec, WeightedBackend } from '../../config/snapshot.js';
import type { Headers } from '../filters/filter.js';
import { hostOnly } from '../http/headers.js';
import { compileHeader, stripQuery } from './match.js';
import type { HeaderMatcher } from './match.js';

type PathMatcher = (path: string) => boolean;

export interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly matchPath: PathMatcher;
  readonly methods: ReadonlySet<string> | undefined;
  readonly headers: readonly HeaderMatcher[];
  /** Cumulative weights for weighted splits (forward routes). */
  readonly cumulative: readonly number[];
  readonly totalWeight: number;
  /** Prefix to replace when rewriting, from a prefix path match. */
  readonly matchedPrefix: string | undefined;
}

export interface CompiledVirtualHost {
  readonly spec: VirtualHostSpec;
  readonly routes: readonly CompiledRoute[];
}

function compilePath(match: RouteSpec['match']['path']): PathMatcher {
  if (!match) return () => true;
  if ('exact' in match) {
    const v = match.exact;
    return (p) => stripQuery(p) === v;
  }
  if ('prefix' in match) {
    const v = match.prefix;
    if (v === '' || v === '/') return () => true;
    return (p) => p.startsWith(v);
  }
  const re = new RegExp(`^(?:${match.regex})$`);
  return (p) => re.test(stripQuery(p));
}

export function compileRoute(spec: RouteSpec): CompiledRoute {
  const cumulative: number[] = [];
  let total = 0;
  if (spec.action.kind === 'forward') {
    for (const b of spec.action.backends) {
      total += b.weight;
      cumulative.push(total);
    }
  }
  const p = spec.match.path;
  return {
    spec,
    matchPath: compilePath(p),
    methods: spec.match.methods && spec.match.methods.length > 0 ? new Set(spec.match.methods) : undefined,
    headers: (spec.match.headers ?? []).map(compileHeader),
    cumulative,
    totalWeight: total,
    matchedPrefix: p && 'prefix' in p ? p.prefix : undefined,
  };
}

export class RouteTable {
  private readonly byDomain = new Map<string, CompiledVirtualHost>();
  private readonly wildcard: CompiledVirtualHost | undefined;
  readonly hosts: readonly CompiledVirtualHost[];

  constructor(vhosts: readonly VirtualHostSpec[]) {
    let wildcard: CompiledVirtualHost | undefined;
    const hosts: CompiledVirtualHost[] = [];
    for (const vh of vhosts) {
      const compiled: CompiledVirtualHost = { spec: vh, routes: vh.routes.map(compileRoute) };
      hosts.push(compiled);
      for (const d of vh.domains) {
        if (d === '*') wildcard ??= compiled;
        else if (!this.byDomain.has(d.toLowerCase())) this.byDomain.set(d.toLowerCase(), compiled);
      }
    }
    this.wildcard = wildcard;
    this.hosts = hosts;
  }

  /** The virtual host for an authority (`host[:port]`), or undefined. */
  virtualHost(authority: string): CompiledVirtualHost | undefined {
    return this.byDomain.get(hostOnly(authority)) ?? this.byDomain.get(authority.toLowerCase()) ?? this.wildcard;
  }

  /** Find the route for a request, first match wins. */
  static match(vh: CompiledVirtualHost, method: string, path: string, headers: Headers): CompiledRoute | undefined {
    for (const r of vh.routes) {
      if (!r.matchPath(path)) continue;
      if (r.methods !== undefined && !r.methods.has(method)) continue;
      let ok = true;
      for (const h of r.headers) {
        if (!h(headers)) {
          ok = false;
          break;
        }
      }
      if (ok) return r;
    }
    return undefined;
  }
}

/** Weighted split: pick a backend by cumulative weight. */
export function pickBackend(route: CompiledRoute, random: () => number = Math.random): WeightedBackend | undefined {
  if (route.spec.action.kind !== 'forward') return undefined;
  const backends = route.spec.action.backends;
  if (backends.length === 1) return backends[0];
  const x = random() * route.totalWeight;
  for (let i = 0; i < route.cumulative.length; i++) {
    if (x < (route.cumulative[i] as number)) return backends[i];
  }
  return backends[backends.length - 1];
}

/** Apply a route's prefix rewrite to a path. */
export function rewritePath(route: CompiledRoute, path: string): string {
  const action = route.spec.action;
  if (action.kind !== 'forward' || action.prefixRewrite === undefined) return path;
  const prefix = route.matchedPrefix ?? '';
  if (!path.startsWith(prefix)) return path;
  const rest = path.slice(prefix.length);
  const rewritten = action.prefixRewrite + rest;
  return rewritten.startsWith('/') ? rewritten : `/${rewritten}`;
}
