/**
 * @module config/compile-routes
 * Services + Routes → VirtualHostSpecs. Each HTTP service answers for its name and aliases;
 * its Route's rules become RouteSpecs (matches normalised, backends resolved to clusters,
 * retry defaults filled, every filter config decoded by the filter itself). A service
 * without a Route gets one catch-all route to itself.
 */
import { filterNames, getFilter } from '../proxy/filters/registry.js';
import type { Diagnostics, ServiceIndex } from './compile-context.js';
import { describeResource } from './compile-context.js';
import { DEFAULT_APP_PROTOCOL, DEFAULT_BACKEND_WEIGHT, DEFAULT_RETRY, DEFAULT_ROUTE_TIMEOUT_MS } from './defaults.js';
import { ruleName } from './kinds/route.js';
import type { RouteRuleInput, RouteResource, ServiceResource } from './resources.js';
import type {
  FilterSpec,
  HeaderMatch,
  RetrySpec,
  RouteAction,
  RouteMatch,
  RouteSpec,
  StringMatch,
  VirtualHostSpec,
  WeightedBackend,
} from './snapshot.js';

const isTcp = (svc: ServiceResource) => (svc.spec.protocol ?? DEFAULT_APP_PROTOCOL) === 'tcp';

/** One Route per HTTP service; reports dangling, duplicate and tcp-targeted Routes. */
export function indexRoutes(diag: Diagnostics, services: ServiceIndex, routes: readonly RouteResource[]): Map<ServiceResource, RouteResource> {
  const out = new Map<ServiceResource, RouteResource>();
  for (const r of routes) {
    const svc = services.get(r, r.spec.service);
    if (!svc) diag.add(r, 'spec.service', services.unknown(r, r.spec.service));
    else if (isTcp(svc)) diag.add(r, 'spec.service', `service ${JSON.stringify(r.spec.service)} speaks tcp; HTTP routes do not apply to it`);
    else if (out.has(svc)) {
      const first = out.get(svc);
      diag.add(r, 'spec.service', `service ${JSON.stringify(r.spec.service)} already has a Route: ${first ? describeResource(first) : ''}; put all its rules in one Route`);
    } else out.set(svc, r);
  }
  return out;
}

export function compileVirtualHosts(
  diag: Diagnostics,
  services: ServiceIndex,
  routes: Map<ServiceResource, RouteResource>,
): VirtualHostSpec[] {
  const http = services.all().filter((s) => !isTcp(s));
  const owner = new Map<string, ServiceResource>();
  for (const svc of http) owner.set(svc.metadata.name, svc);

  const hosts: VirtualHostSpec[] = [];
  for (const svc of http) {
    const name = svc.metadata.name;
    const domains = [name];
    svc.spec.aliases?.forEach((alias, i) => {
      const domain = alias.toLowerCase();
      const other = owner.get(domain);
      if (other && other !== svc) {
        diag.add(svc, `spec.aliases[${i}]`, `host ${JSON.stringify(domain)} is already answered by service ${JSON.stringify(other.metadata.name)}`);
      } else if (!other) {
        owner.set(domain, svc);
        domains.push(domain);
      }
    });
    const route = routes.get(svc);
    hosts.push({ name, domains, routes: route ? compileRules(diag, services, route) : [defaultRoute(name)] });
  }
  return hosts;
}

function defaultRoute(service: string): RouteSpec {
  return {
    name: 'default',
    match: { path: { prefix: '/' } },
    action: { kind: 'forward', backends: [{ cluster: service, weight: 1 }] },
    timeoutMs: DEFAULT_ROUTE_TIMEOUT_MS,
    filters: [],
  };
}

function compileRules(diag: Diagnostics, services: ServiceIndex, route: RouteResource): RouteSpec[] {
  return route.spec.rules.map((rule, i) => {
    const path = `spec.rules[${i}]`;
    const out: RouteSpec = {
      name: ruleName(rule, i),
      match: compileMatch(rule),
      action: compileAction(diag, services, route, rule, path),
      timeoutMs: rule.timeoutMs ?? DEFAULT_ROUTE_TIMEOUT_MS,
      filters: compileFilters(diag, route, rule, path),
    };
    if (rule.retries) out.retry = compileRetry(rule.retries);
    return out;
  });
}

function compileMatch(rule: RouteRuleInput): RouteMatch {
  const m = rule.match;
  const out: RouteMatch = {};
  if (!m) return out;
  const p = m.path;
  if (p?.exact !== undefined) out.path = { exact: p.exact };
  else if (p?.prefix !== undefined) out.path = { prefix: p.prefix };
  else if (p?.regex !== undefined) out.path = { regex: p.regex };
  if (m.methods) out.methods = [...new Set(m.methods.map((x) => x.toUpperCase()))];
  if (m.headers) {
    out.headers = m.headers.map((h) => {
      let match: StringMatch;
      if (h.exact !== undefined) match = { exact: h.exact };
      else if (h.prefix !== undefined) match = { prefix: h.prefix };
      else if (h.regex !== undefined) match = { regex: h.regex };
      else match = { present: h.present ?? true };
      const header: HeaderMatch = { name: h.name.toLowerCase(), match };
      if (h.invert) header.invert = true;
      return header;
    });
  }
  return out;
}

function compileAction(
  diag: Diagnostics,
  services: ServiceIndex,
  route: RouteResource,
  rule: RouteRuleInput,
  path: string,
): RouteAction {
  const direct = rule.directResponse;
  if (direct) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(direct.headers ?? {})) headers[k.toLowerCase()] = v;
    return { kind: 'direct', status: direct.status, body: direct.body ?? '', headers };
  }
  const backends: WeightedBackend[] = [];
  (rule.backends ?? []).forEach((b, j) => {
    const svc = services.get(route, b.service);
    const at = `${path}.backends[${j}].service`;
    if (!svc) diag.add(route, at, services.unknown(route, b.service));
    else if (isTcp(svc)) diag.add(route, at, `service ${JSON.stringify(b.service)} speaks tcp; an HTTP route cannot forward to it`);
    const weight = b.weight ?? DEFAULT_BACKEND_WEIGHT;
    if (weight > 0) backends.push({ cluster: b.service, weight });
  });
  const action: RouteAction = { kind: 'forward', backends };
  if (rule.rewrite?.prefix !== undefined) action.prefixRewrite = rule.rewrite.prefix;
  if (rule.rewrite?.host !== undefined) action.hostRewrite = rule.rewrite.host.toLowerCase();
  return action;
}

function compileRetry(r: NonNullable<RouteRuleInput['retries']>): RetrySpec {
  return {
    attempts: r.attempts ?? DEFAULT_RETRY.attempts,
    on: [...new Set(r.on ?? DEFAULT_RETRY.on)],
    perTryTimeoutMs: r.perTryTimeoutMs ?? DEFAULT_RETRY.perTryTimeoutMs,
    backoff: {
      baseMs: r.backoff?.baseMs ?? DEFAULT_RETRY.backoff.baseMs,
      maxMs: r.backoff?.maxMs ?? DEFAULT_RETRY.backoff.maxMs,
    },
    retryNonIdempotent: r.retryNonIdempotent ?? DEFAULT_RETRY.retryNonIdempotent,
  };
}

function compileFilters(diag: Diagnostics, route: RouteResource, rule: RouteRuleInput, path: string): FilterSpec[] {
  const out: FilterSpec[] = [];
  (rule.filters ?? []).forEach((f, j) => {
    const at = `${path}.filters[${j}]`;
    const factory = getFilter(f.name);
    if (!factory) {
      const names = filterNames();
      const known = names.length > 0 ? `registered filters: ${names.join(', ')}` : 'no filters are registered';
      diag.add(route, `${at}.name`, `unknown filter ${JSON.stringify(f.name)} (${known})`);
      return;
    }
    const configPath = `${at}.config`;
    try {
      const decoded = factory.decode(f.config ?? {}, configPath);
      if (decoded.ok) out.push({ name: f.name, config: decoded.value });
      else diag.addAll(route, decoded.errors, configPath);
    } catch (err) {
      diag.add(route, configPath, `filter ${JSON.stringify(f.name)} could not decode its config: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  return out;
}
