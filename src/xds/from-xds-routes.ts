/**
 * @module xds/from-xds-routes
 * RouteConfiguration → VirtualHostSpec[], validating every virtual host and route and
 * reporting each problem with its field path (`virtual_hosts[0].routes[3].match.safe_regex.regex`).
 */
import type {
  FilterSpec,
  HeaderMatch,
  RetryOn,
  RetrySpec,
  RouteAction,
  RouteMatch,
  RouteSpec,
  StringMatch,
  VirtualHostSpec,
  WeightedBackend,
} from '../config/snapshot.js';
import { isRecord } from '../config/field-path.js';
import { FILTER_CONFIG_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, TYPED_STRUCT_TYPE_URL } from './protos.js';
import type { XdsAny, XdsMessage } from './protos.js';
import { DecodeContext, strataMetadata } from './decode-context.js';
import type { XdsDecoded } from './decode-context.js';
import { METHOD_HEADER, RETRY_ON_TO_XDS, STRATA_FILTER_TYPE_PREFIX } from './to-xds.js';
import { structToJson } from './wkt.js';

const RETRY_ON_FROM_XDS = new Map<string, RetryOn>(
  Object.entries(RETRY_ON_TO_XDS).map(([strata, xds]) => [xds, strata as RetryOn]),
);
/** Envoy's retry back-off when a policy sets none. */
const ENVOY_BACKOFF = { baseMs: 25, maxMs: 250 };
const METHOD_LIST = /^[A-Z]+(?:\|[A-Z]+)*$/;

export function decodeRouteConfiguration(resource: unknown): XdsDecoded<VirtualHostSpec[]> {
  const ctx = new DecodeContext();
  if (!isRecord(resource)) return { name: '', errors: [{ source: 'xds', path: '', message: 'expected a RouteConfiguration message' }] };
  const name = ctx.string(resource, 'name', '', true) ?? '';
  const hosts: VirtualHostSpec[] = [];
  ctx.array(resource, 'virtual_hosts', '', false).forEach((vh, i) => {
    const host = decodeVirtualHost(ctx, vh, `virtual_hosts[${i}]`);
    if (host) hosts.push(host);
  });
  return ctx.errors.length > 0 ? { name, errors: ctx.errors } : { name, value: hosts };
}

export function decodeRouteConfigurationAny(any: XdsAny | unknown): XdsDecoded<VirtualHostSpec[]> {
  const ctx = new DecodeContext();
  const decoded = ctx.any(any, '', ROUTE_CONFIGURATION_TYPE_URL);
  return decoded ? decodeRouteConfiguration(decoded.message) : { name: '', errors: ctx.errors };
}

function decodeVirtualHost(ctx: DecodeContext, vh: unknown, path: string): VirtualHostSpec | undefined {
  if (!isRecord(vh)) {
    ctx.error(path, 'expected a message');
    return undefined;
  }
  const name = ctx.string(vh, 'name', path, true) ?? '';
  const raw = ctx.array(vh, 'domains', path, true);
  if (raw.length === 0 && Array.isArray(vh.domains)) ctx.error(`${path}.domains`, 'must not be empty');
  const domains: string[] = [];
  raw.forEach((d, i) => {
    if (typeof d !== 'string' || d === '') ctx.error(`${path}.domains[${i}]`, 'expected a non-empty string');
    else domains.push(d);
  });
  // `name:*` is the port form to-xds adds beside `name`; Strata domains carry no port.
  const plain = new Set(domains);
  const kept = domains.filter((d) => !(d.endsWith(':*') && plain.has(d.slice(0, -2))));
  const routes: RouteSpec[] = [];
  ctx.array(vh, 'routes', path, false).forEach((r, j) => {
    const route = decodeRoute(ctx, r, `${path}.routes[${j}]`, j);
    if (route) routes.push(route);
  });
  return { name, domains: kept, routes };
}

function decodeRoute(ctx: DecodeContext, r: unknown, path: string, index: number): RouteSpec | undefined {
  if (!isRecord(r)) {
    ctx.error(path, 'expected a message');
    return undefined;
  }
  const name = ctx.string(r, 'name', path, false) || `route-${index}`;
  const matchMsg = ctx.message(r, 'match', path, true);
  const match = matchMsg ? decodeMatch(ctx, matchMsg, `${path}.match`) : {};
  const meta = strataMetadata(ctx, r, path);
  let timeoutMs = 0;
  let retry: RetrySpec | undefined;
  let action: RouteAction | undefined;
  const routeMsg = ctx.message(r, 'route', path, false);
  const directMsg = ctx.message(r, 'direct_response', path, false);
  if (routeMsg && directMsg) ctx.error(path, 'route and direct_response are both set');
  if (routeMsg) {
    const p = `${path}.route`;
    action = decodeForward(ctx, routeMsg, p);
    timeoutMs = ctx.duration(routeMsg, 'timeout', p, false) ?? 0;
    if (timeoutMs === 0) {
      const msd = ctx.message(routeMsg, 'max_stream_duration', p, false);
      if (msd) timeoutMs = ctx.duration(msd, 'max_stream_duration', `${p}.max_stream_duration`, false) ?? 0;
    }
    const policy = ctx.message(routeMsg, 'retry_policy', p, false);
    if (policy) retry = decodeRetry(ctx, policy, `${p}.retry_policy`, meta?.retryNonIdempotent === true);
  } else if (directMsg) {
    action = decodeDirect(ctx, r, directMsg, path);
  } else {
    const other = ['redirect', 'filter_action', 'non_forwarding_action'].find((k) => r[k] !== undefined);
    ctx.error(other ? `${path}.${other}` : `${path}.action`, other ? 'unsupported route action' : 'not set');
  }
  const filters = decodeFilters(ctx, r, path);
  if (!action) return undefined;
  const spec: RouteSpec = { name, match, action, timeoutMs, filters };
  if (retry) spec.retry = retry;
  return spec;
}

function decodeMatch(ctx: DecodeContext, m: XdsMessage, path: string): RouteMatch {
  const match: RouteMatch = {};
  const specifiers = ['prefix', 'path', 'safe_regex', 'path_separated_prefix', 'path_match_policy'].filter((k) => m[k] !== undefined && m[k] !== null);
  if (specifiers.length === 0) ctx.error(path, 'path specifier not set (prefix, path or safe_regex)');
  else if (specifiers.length > 1) ctx.error(path, `several path specifiers set: ${specifiers.join(', ')}`);
  else if (m.prefix !== undefined) {
    const prefix = ctx.string(m, 'prefix', path, false);
    if (prefix) match.path = { prefix };
  } else if (m.path !== undefined) {
    const exact = ctx.string(m, 'path', path, false);
    if (exact !== undefined) match.path = { exact };
  } else if (m.safe_regex !== undefined) {
    const regex = decodeRegex(ctx, m, 'safe_regex', path);
    if (regex !== undefined) match.path = { regex };
  } else ctx.error(`${path}.${specifiers[0] ?? ''}`, 'unsupported path specifier');
  if (m.case_sensitive !== undefined && m.case_sensitive !== null) {
    const cs = isRecord(m.case_sensitive) ? m.case_sensitive.value : m.case_sensitive;
    if (cs === false) ctx.error(`${path}.case_sensitive`, 'case-insensitive matching is not supported');
  }
  if (ctx.array(m, 'query_parameters', path, false).length > 0) ctx.error(`${path}.query_parameters`, 'not supported');
  const headers: HeaderMatch[] = [];
  ctx.array(m, 'headers', path, false).forEach((h, i) => {
    const hp = `${path}.headers[${i}]`;
    if (!isRecord(h)) return ctx.error(hp, 'expected a message');
    if (i === 0 && match.methods === undefined && h.name === METHOD_HEADER && h.invert_match !== true) {
      const methods = methodsFromHeader(h);
      if (methods) {
        match.methods = methods;
        return;
      }
    }
    const header = decodeHeader(ctx, h, hp);
    if (header) headers.push(header);
  });
  if (headers.length > 0) match.headers = headers;
  return match;
}

function methodsFromHeader(h: XdsMessage): string[] | undefined {
  const sm = isRecord(h.string_match) ? h.string_match : undefined;
  if (!sm || sm.ignore_case === true) return undefined;
  if (typeof sm.exact === 'string' && /^[A-Z]+$/.test(sm.exact)) return [sm.exact];
  const regex = isRecord(sm.safe_regex) ? sm.safe_regex.regex : undefined;
  if (typeof regex === 'string' && METHOD_LIST.test(regex)) return regex.split('|');
  return undefined;
}

function decodeRegex(ctx: DecodeContext, parent: XdsMessage, key: string, path: string): string | undefined {
  const re = ctx.message(parent, key, path, true);
  if (!re) return undefined;
  const regex = ctx.string(re, 'regex', `${path}.${key}`, true);
  if (regex === undefined) return undefined;
  try {
    new RegExp(regex);
  } catch (e) {
    ctx.error(`${path}.${key}.regex`, `invalid regex: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
  return regex;
}

function decodeHeader(ctx: DecodeContext, h: XdsMessage, path: string): HeaderMatch | undefined {
  const name = ctx.string(h, 'name', path, true);
  let match: StringMatch | undefined;
  let invert = h.invert_match === true;
  if (h.string_match !== undefined && h.string_match !== null) {
    const sm = ctx.message(h, 'string_match', path, true);
    const sp = `${path}.string_match`;
    if (sm) {
      if (sm.ignore_case === true) ctx.error(`${sp}.ignore_case`, 'not supported');
      if (typeof sm.exact === 'string') match = { exact: sm.exact };
      else if (typeof sm.prefix === 'string') match = { prefix: sm.prefix };
      else if (sm.safe_regex !== undefined) {
        const regex = decodeRegex(ctx, sm, 'safe_regex', sp);
        if (regex !== undefined) match = { regex };
      } else ctx.error(sp, 'unsupported string matcher (exact, prefix or safe_regex)');
    }
  } else if (h.present_match !== undefined && h.present_match !== null) {
    // Proxyless gRPC treats any present_match as "present"; `false` is read the Envoy way.
    match = { present: true };
    if (h.present_match === false) invert = !invert;
  } else if (typeof h.exact_match === 'string') match = { exact: h.exact_match };
  else if (typeof h.prefix_match === 'string') match = { prefix: h.prefix_match };
  else if (h.safe_regex_match !== undefined) {
    const regex = decodeRegex(ctx, h, 'safe_regex_match', path);
    if (regex !== undefined) match = { regex };
  } else {
    const other = ['range_match', 'suffix_match', 'contains_match'].find((k) => h[k] !== undefined);
    ctx.error(other ? `${path}.${other}` : `${path}.header_match_specifier`, other ? 'not supported' : 'not set');
  }
  if (name === undefined || match === undefined) return undefined;
  const header: HeaderMatch = { name: name.toLowerCase(), match };
  if (invert) header.invert = true;
  return header;
}

function decodeForward(ctx: DecodeContext, a: XdsMessage, path: string): RouteAction | undefined {
  const backends: WeightedBackend[] = [];
  if (a.cluster !== undefined && a.cluster !== null) {
    const cluster = ctx.string(a, 'cluster', path, true);
    if (cluster !== undefined) backends.push({ cluster, weight: 1 });
  } else if (a.weighted_clusters !== undefined && a.weighted_clusters !== null) {
    const wc = ctx.message(a, 'weighted_clusters', path, true);
    const wp = `${path}.weighted_clusters`;
    if (wc) {
      const list = ctx.array(wc, 'clusters', wp, true);
      if (list.length === 0 && Array.isArray(wc.clusters)) ctx.error(`${wp}.clusters`, 'must not be empty');
      list.forEach((c, i) => {
        const cp = `${wp}.clusters[${i}]`;
        if (!isRecord(c)) return ctx.error(cp, 'expected a message');
        const cluster = ctx.string(c, 'name', cp, true);
        const weight = ctx.wrapped(c, 'weight', cp, false) ?? 0;
        if (cluster !== undefined) backends.push({ cluster, weight });
      });
      if (list.length > 0 && backends.length === list.length && backends.every((b) => b.weight === 0)) {
        ctx.error(`${wp}.clusters`, 'total weight must be greater than 0');
      }
    }
  } else {
    const other = ['cluster_header', 'cluster_specifier_plugin', 'inline_cluster_specifier_plugin'].find((k) => a[k] !== undefined);
    ctx.error(other ? `${path}.${other}` : `${path}.cluster_specifier`, other ? 'not supported' : 'not set');
  }
  const action: RouteAction = { kind: 'forward', backends };
  const prefixRewrite = ctx.string(a, 'prefix_rewrite', path, false);
  if (prefixRewrite) action.prefixRewrite = prefixRewrite;
  const hostRewrite = ctx.string(a, 'host_rewrite_literal', path, false);
  if (hostRewrite) action.hostRewrite = hostRewrite;
  return backends.length > 0 ? action : undefined;
}

function decodeRetry(ctx: DecodeContext, p: XdsMessage, path: string, retryNonIdempotent: boolean): RetrySpec {
  const on: RetryOn[] = [];
  const retryOn = ctx.string(p, 'retry_on', path, false) ?? '';
  for (const raw of retryOn.split(',')) {
    const cond = raw.trim();
    if (cond === '') continue;
    const mapped = RETRY_ON_FROM_XDS.get(cond);
    if (mapped) {
      if (!on.includes(mapped)) on.push(mapped);
    } else ctx.error(`${path}.retry_on`, `unsupported retry condition "${cond}"`);
  }
  const attempts = ctx.wrapped(p, 'num_retries', path, false) ?? 1;
  const perTryTimeoutMs = ctx.duration(p, 'per_try_timeout', path, false) ?? 0;
  const backoff = { ...ENVOY_BACKOFF };
  const b = ctx.message(p, 'retry_back_off', path, false);
  if (b) {
    const bp = `${path}.retry_back_off`;
    const base = ctx.duration(b, 'base_interval', bp, true);
    if (base === 0) ctx.error(`${bp}.base_interval`, 'must be greater than 0');
    backoff.baseMs = base ?? ENVOY_BACKOFF.baseMs;
    backoff.maxMs = ctx.duration(b, 'max_interval', bp, false) ?? backoff.baseMs * 10;
    if (backoff.maxMs < backoff.baseMs) ctx.error(`${bp}.max_interval`, 'must not be less than base_interval');
  }
  return { attempts, on, perTryTimeoutMs, backoff, retryNonIdempotent };
}

function decodeDirect(ctx: DecodeContext, r: XdsMessage, d: XdsMessage, path: string): RouteAction | undefined {
  const dp = `${path}.direct_response`;
  const status = ctx.number(d, 'status', dp, true);
  if (status !== undefined && (!Number.isInteger(status) || status < 200 || status > 599)) ctx.error(`${dp}.status`, 'must be 200-599');
  let body = '';
  const source = ctx.message(d, 'body', dp, false);
  if (source) {
    if (typeof source.inline_string === 'string') body = source.inline_string;
    else if (source.inline_bytes instanceof Uint8Array) body = Buffer.from(source.inline_bytes).toString('utf8');
    else if (Object.keys(source).some((k) => source[k] !== undefined)) ctx.error(`${dp}.body`, 'only inline_string and inline_bytes are supported');
  }
  const headers: Record<string, string> = {};
  ctx.array(r, 'response_headers_to_add', path, false).forEach((h, i) => {
    const hp = `${path}.response_headers_to_add[${i}]`;
    const header = isRecord(h) ? ctx.message(h, 'header', hp, true) : (ctx.error(hp, 'expected a message'), undefined);
    if (!header) return;
    const key = ctx.string(header, 'key', `${hp}.header`, true);
    const value = ctx.string(header, 'value', `${hp}.header`, false) ?? '';
    if (key !== undefined) headers[key.toLowerCase()] = value;
  });
  return status === undefined ? undefined : { kind: 'direct', status, body, headers };
}

/** Strata filters from `typed_per_filter_config`; foreign optional configs are skipped, foreign required ones rejected. */
function decodeFilters(ctx: DecodeContext, r: XdsMessage, path: string): FilterSpec[] {
  const raw = r.typed_per_filter_config;
  if (raw === undefined || raw === null) return [];
  const fp = `${path}.typed_per_filter_config`;
  if (!isRecord(raw)) {
    ctx.error(fp, 'expected a map');
    return [];
  }
  const found: { order: number; filter: FilterSpec }[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const kp = `${fp}[${JSON.stringify(key)}]`;
    const outer = ctx.any(value, kp);
    if (!outer) continue;
    let optional = false;
    let inner: { typeUrl: string; message: XdsMessage } | undefined = outer;
    if (outer.typeUrl === FILTER_CONFIG_TYPE_URL) {
      optional = outer.message.is_optional === true;
      inner = ctx.any(outer.message.config, `${kp}.config`);
    }
    if (!inner) continue;
    const strataType = inner.typeUrl === TYPED_STRUCT_TYPE_URL && typeof inner.message.type_url === 'string'
      && inner.message.type_url.startsWith(STRATA_FILTER_TYPE_PREFIX) ? inner.message.type_url : undefined;
    if (!strataType) {
      if (!optional) ctx.error(kp, `unsupported filter config ${inner.typeUrl} (not optional)`);
      continue;
    }
    const body = structToJson(inner.message.value);
    if (!body) {
      ctx.error(`${kp}.value`, 'expected a google.protobuf.Struct');
      continue;
    }
    const order = typeof body.order === 'number' ? body.order : found.length;
    found.push({ order, filter: { name: strataType.slice(STRATA_FILTER_TYPE_PREFIX.length), config: body.config } });
  }
  return found.sort((a, b) => a.order - b.order).map((f) => f.filter);
}
