/**
 * @module xds/to-xds
 * Strata's data-plane contract (config/snapshot) → xDS v3 resources as plain protobuf objects
 * (snake_case field names; nested `Any`s already encoded). Pure functions: the same input
 * always yields the same resource. What xDS has a native field for travels natively (so
 * Envoy and proxyless gRPC clients understand it); the rest travels in metadata
 * `filter_metadata.strata` or as `xds.type.v3.TypedStruct` per-filter configs.
 *
 * Endpoint addresses are emitted as given: resolve host names to IP literals before
 * translating (proxyless gRPC clients and Envoy EDS accept only IP literals).
 */
import type {
  ClusterSpec,
  EndpointSpec,
  FilterSpec,
  HeaderMatch,
  LoadBalancerSpec,
  RetryOn,
  RetrySpec,
  RouteMatch,
  RouteSpec,
  VirtualHostSpec,
} from '../config/snapshot.js';
import {
  FILTER_CONFIG_TYPE_URL,
  HTTP_CONNECTION_MANAGER_TYPE_URL,
  HTTP_PROTOCOL_OPTIONS_KEY,
  HTTP_PROTOCOL_OPTIONS_TYPE_URL,
  ROUTER_FILTER_NAME,
  ROUTER_FILTER_TYPE_URL,
  TLS_TRANSPORT_SOCKET_NAME,
  TYPED_STRUCT_TYPE_URL,
  UPSTREAM_TLS_CONTEXT_TYPE_URL,
  pack,
} from './protos.js';
import { IDEMPOTENT_METHODS } from '../config/defaults.js';
import type { XdsMessage } from './protos.js';
import { jsonToStruct, msToDuration, wrap } from './wkt.js';

/** Key of Strata's entry in `metadata.filter_metadata`. */
export const STRATA_METADATA_KEY = 'strata';
/** Prefix of the `typed_per_filter_config` keys that carry Strata filters. */
export const STRATA_FILTER_KEY_PREFIX = 'strata.';
/** TypedStruct `type_url` prefix of a Strata filter config; the filter name follows. */
export const STRATA_FILTER_TYPE_PREFIX = 'type.strata.dev/strata.filters.';
/** Header a method matcher tests. */
export const METHOD_HEADER = ':method';

// ---------------------------------------------------------------------------------------------
// Clusters

/** Whether a cluster's balancer is a least-request one (Envoy's LEAST_REQUEST is the nearest). */
export function wantsLeastRequest(c: ClusterSpec): boolean {
  return c.loadBalancer.policy === 'least-request' || c.loadBalancer.policy === 'peak-ewma';
}

/**
 * A Cluster for EDS over ADS. ROUND_ROBIN or RING_HASH natively, the real balancer in
 * metadata; with `leastRequest` (Envoy's rendering) least-request and peak-ewma become
 * LEAST_REQUEST, which proxyless gRPC clients and Strata's decoder refuse.
 */
export function clusterToXds(c: ClusterSpec, opts: { leastRequest?: boolean } = {}): XdsMessage {
  const ringHash = c.loadBalancer.policy === 'ring-hash';
  const cluster: XdsMessage = {
    name: c.name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    lb_policy: ringHash ? 'RING_HASH' : opts.leastRequest && wantsLeastRequest(c) ? 'LEAST_REQUEST' : 'ROUND_ROBIN',
    circuit_breakers: {
      thresholds: [
        {
          priority: 'DEFAULT',
          max_connections: wrap(c.circuitBreaker.maxConnections),
          max_pending_requests: wrap(c.circuitBreaker.maxPending),
          max_requests: wrap(c.circuitBreaker.maxRequests),
          retry_budget: {
            budget_percent: wrap(c.retryBudget.budgetPercent),
            min_retry_concurrency: wrap(c.retryBudget.minRetryConcurrency),
          },
        },
      ],
    },
    metadata: {
      filter_metadata: {
        [STRATA_METADATA_KEY]: jsonToStruct({
          protocol: c.protocol,
          loadBalancer: { ...c.loadBalancer },
          localityPreference: c.localityPreference,
        }),
      },
    },
  };
  if (ringHash && c.loadBalancer.ringSize !== undefined) {
    cluster.ring_hash_lb_config = { minimum_ring_size: wrap(c.loadBalancer.ringSize) };
  }
  if (c.protocol === 'http2' || c.protocol === 'grpc') {
    cluster.typed_extension_protocol_options = {
      [HTTP_PROTOCOL_OPTIONS_KEY]: pack(HTTP_PROTOCOL_OPTIONS_TYPE_URL, {
        explicit_http_config: { http2_protocol_options: {} },
      }),
    };
  }
  if (c.outlierDetection) {
    const o = c.outlierDetection;
    cluster.outlier_detection = {
      consecutive_5xx: wrap(o.consecutive5xx),
      consecutive_gateway_failure: wrap(o.consecutiveGatewayErrors),
      enforcing_consecutive_gateway_failure: wrap(o.consecutiveGatewayErrors > 0 ? 100 : 0),
      interval: msToDuration(o.intervalMs),
      base_ejection_time: msToDuration(o.baseEjectionMs),
      max_ejection_time: msToDuration(o.maxEjectionMs),
      max_ejection_percent: wrap(o.maxEjectionPercent),
    };
  }
  if (c.healthCheck) {
    const h = c.healthCheck;
    cluster.health_checks = [
      {
        timeout: msToDuration(h.timeoutMs),
        interval: msToDuration(h.intervalMs),
        unhealthy_threshold: wrap(h.unhealthyThreshold),
        healthy_threshold: wrap(h.healthyThreshold),
        // Envoy ranges are half-open [start, end); Strata's are inclusive.
        http_health_check: { path: h.path, expected_statuses: [{ start: h.expectedStatuses[0], end: h.expectedStatuses[1] + 1 }] },
      },
    ];
  }
  if (c.tls) {
    const t = c.tls;
    const tlsContext: XdsMessage = { common_tls_context: {} };
    if (t.serverName !== undefined) tlsContext.sni = t.serverName;
    if (!t.insecureSkipVerify) {
      const validation: XdsMessage = {};
      if (t.caFile !== undefined) validation.trusted_ca = { filename: t.caFile };
      else validation.system_root_certs = {};
      if (t.serverName !== undefined) {
        validation.match_typed_subject_alt_names = [{ san_type: 'DNS', matcher: { exact: t.serverName } }];
      }
      tlsContext.common_tls_context = { validation_context: validation };
    }
    cluster.transport_socket = { name: TLS_TRANSPORT_SOCKET_NAME, typed_config: pack(UPSTREAM_TLS_CONTEXT_TYPE_URL, tlsContext) };
  }
  return cluster;
}

/**
 * The ClusterLoadAssignment for a cluster: one entry per locality (in order of first
 * appearance), each with `locality` and `load_balancing_weight` (sum of its endpoint weights).
 */
export function endpointsToXds(c: ClusterSpec): XdsMessage {
  const byLocality = new Map<string, EndpointSpec[]>();
  for (const e of c.endpoints) {
    const list = byLocality.get(e.locality);
    if (list) list.push(e);
    else byLocality.set(e.locality, [e]);
  }
  const endpoints = [...byLocality].map(([locality, eps]) => ({
    locality: localityToXds(locality),
    load_balancing_weight: wrap(Math.max(1, eps.reduce((sum, e) => sum + e.weight, 0))),
    lb_endpoints: eps.map(lbEndpointToXds),
  }));
  return { cluster_name: c.name, endpoints };
}

function lbEndpointToXds(e: EndpointSpec): XdsMessage {
  const lb: XdsMessage = {
    endpoint: { address: { socket_address: { protocol: 'TCP', address: e.address, port_value: e.port } } },
    health_status: 'HEALTHY',
    load_balancing_weight: wrap(Math.max(1, e.weight)),
  };
  if (e.sidecar) lb.metadata = { filter_metadata: { [STRATA_METADATA_KEY]: jsonToStruct({ sidecar: true }) } };
  return lb;
}

/** Strata localities are one string; `region/zone/sub_zone` splits into the xDS triple, else it is the zone. */
export function localityToXds(locality: string): XdsMessage {
  if (locality === '') return {};
  const parts = locality.split('/');
  if (parts.length === 3) return { region: parts[0], zone: parts[1], sub_zone: parts[2] };
  if (parts.length === 2) return { region: parts[0], zone: parts[1] };
  return { zone: locality };
}

// ---------------------------------------------------------------------------------------------
// Routes

export interface RouteTranslationOptions {
  /**
   * For proxyless gRPC clients: they NACK a whole RouteConfiguration that holds a
   * direct_response route, so direct-response routes are left out.
   */
  proxyless?: boolean;
  /**
   * What ring-hash clusters hash on (cluster name → LoadBalancerSpec.hashOn). Routes to those
   * clusters get a `hash_policy`, which is where Envoy and gRPC clients read the hash key from.
   */
  hashPolicies?: ReadonlyMap<string, NonNullable<LoadBalancerSpec['hashOn']>>;
}

/** A RouteConfiguration named `name` with one virtual host per VirtualHostSpec. */
export function routesToXds(name: string, hosts: readonly VirtualHostSpec[], options: RouteTranslationOptions = {}): XdsMessage {
  const keep = (r: RouteSpec): boolean => !(options.proxyless && r.action.kind === 'direct');
  return {
    name,
    virtual_hosts: hosts.map((h) => ({
      name: h.name,
      domains: domainsToXds(h.domains),
      routes: h.routes.filter(keep).map((r) => withHashPolicy(routeToXds(r), r, options.hashPolicies)),
    })),
  };
}

/** Envoy matches the Host header with its port: every domain also answers as `domain:*`. */
export function domainsToXds(domains: readonly string[]): string[] {
  const out: string[] = [];
  for (const d of domains) {
    out.push(d);
    if (d !== '*' && !d.includes(':')) out.push(`${d}:*`);
  }
  return out;
}

/** Add the hash policies of the route's ring-hash backends (first backend wins per key). */
function withHashPolicy(route: XdsMessage, r: RouteSpec, policies: RouteTranslationOptions['hashPolicies']): XdsMessage {
  if (!policies || r.action.kind !== 'forward' || !route.route) return route;
  const seen = new Set<string>();
  const hashPolicy: XdsMessage[] = [];
  for (const b of r.action.backends) {
    const h = policies.get(b.cluster);
    if (!h) continue;
    const key = JSON.stringify(h);
    if (seen.has(key)) continue;
    seen.add(key);
    hashPolicy.push('header' in h ? { header: { header_name: h.header } } : { cookie: { name: h.cookie } });
  }
  if (hashPolicy.length > 0) (route.route as XdsMessage).hash_policy = hashPolicy;
  return route;
}

/** Cluster name → hashOn for every ring-hash cluster that sets one (input for RouteTranslationOptions). */
export function hashPoliciesOf(clusters: readonly ClusterSpec[]): Map<string, NonNullable<LoadBalancerSpec['hashOn']>> {
  const out = new Map<string, NonNullable<LoadBalancerSpec['hashOn']>>();
  for (const c of clusters) if (c.loadBalancer.policy === 'ring-hash' && c.loadBalancer.hashOn) out.set(c.name, c.loadBalancer.hashOn);
  return out;
}

export function routeToXds(r: RouteSpec): XdsMessage {
  const route: XdsMessage = { name: r.name, match: matchToXds(r.match) };
  if (r.action.kind === 'direct') {
    const direct: XdsMessage = { status: r.action.status };
    if (r.action.body !== '') direct.body = { inline_string: r.action.body };
    route.direct_response = direct;
    const headers = Object.entries(r.action.headers);
    if (headers.length > 0) {
      route.response_headers_to_add = headers.map(([key, value]) => ({
        header: { key, value },
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      }));
    }
  } else {
    const a = r.action;
    const action: XdsMessage = {};
    const only = a.backends.length === 1 ? a.backends[0] : undefined;
    if (only && only.weight === 1) action.cluster = only.cluster;
    else action.weighted_clusters = { clusters: a.backends.map((b) => ({ name: b.cluster, weight: wrap(b.weight) })) };
    if (a.prefixRewrite !== undefined) action.prefix_rewrite = a.prefixRewrite;
    if (a.hostRewrite !== undefined) action.host_rewrite_literal = a.hostRewrite;
    if (r.timeoutMs > 0) {
      action.timeout = msToDuration(r.timeoutMs);
      // Proxyless gRPC clients read the deadline from max_stream_duration.
      action.max_stream_duration = { max_stream_duration: msToDuration(r.timeoutMs) };
    }
    if (r.retry) action.retry_policy = retryToXds(r.retry);
    route.route = action;
  }
  if (r.retry?.retryNonIdempotent) {
    route.metadata = { filter_metadata: { [STRATA_METADATA_KEY]: jsonToStruct({ retryNonIdempotent: true }) } };
  }
  if (r.filters.length > 0) route.typed_per_filter_config = filtersToXds(r.filters);
  return route;
}

export function matchToXds(m: RouteMatch): XdsMessage {
  const match: XdsMessage = {};
  const p = m.path;
  if (p === undefined) match.prefix = '';
  else if ('exact' in p) match.path = p.exact;
  else if ('prefix' in p) match.prefix = p.prefix;
  else match.safe_regex = { regex: p.regex };
  const headers: XdsMessage[] = [];
  if (m.methods && m.methods.length > 0) {
    const methods = m.methods;
    headers.push({
      name: METHOD_HEADER,
      string_match: methods.length === 1 ? { exact: methods[0] } : { safe_regex: { regex: methods.map(escapeRegex).join('|') } },
    });
  }
  for (const h of m.headers ?? []) headers.push(headerToXds(h));
  if (headers.length > 0) match.headers = headers;
  return match;
}

/** `present: false` travels as an inverted presence match (proxyless gRPC ignores present_match's value). */
function headerToXds(h: HeaderMatch): XdsMessage {
  const out: XdsMessage = { name: h.name };
  let invert = h.invert === true;
  const m = h.match;
  if ('exact' in m) out.string_match = { exact: m.exact };
  else if ('prefix' in m) out.string_match = { prefix: m.prefix };
  else if ('regex' in m) out.string_match = { safe_regex: { regex: m.regex } };
  else {
    out.present_match = true;
    if (!m.present) invert = !invert;
  }
  if (invert) out.invert_match = true;
  return out;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The idempotent methods (RFC 9110 §9.2.2) as an RE2 regex for a `:method` matcher. */
export const IDEMPOTENT_METHOD_REGEX = `^(${[...IDEMPOTENT_METHODS].join('|')})$`;

/** Strata retry conditions → Envoy `retry_on` names. */
export const RETRY_ON_TO_XDS: Readonly<Record<RetryOn, string>> = Object.freeze({
  'connect-failure': 'connect-failure',
  reset: 'reset',
  '5xx': '5xx',
  'gateway-error': 'gateway-error',
  'retriable-status': 'retriable-status-codes',
});

export function retryToXds(r: RetrySpec): XdsMessage {
  const policy: XdsMessage = { retry_on: r.on.map((o) => RETRY_ON_TO_XDS[o]).join(','), num_retries: wrap(r.attempts) };
  if (r.on.includes('retriable-status')) policy.retriable_status_codes = [503];
  // Idempotent methods only, unless the rule allows others: what Strata's sidecar does, said
  // the way Envoy reads it (proxyless gRPC ignores the field; sidecars read the metadata flag).
  if (!r.retryNonIdempotent) policy.retriable_request_headers = [{ name: METHOD_HEADER, string_match: { safe_regex: { regex: IDEMPOTENT_METHOD_REGEX } } }];
  if (r.perTryTimeoutMs > 0) policy.per_try_timeout = msToDuration(r.perTryTimeoutMs);
  // Envoy requires base_interval > 0; a zero base leaves Envoy's defaults in place.
  if (r.backoff.baseMs > 0) {
    policy.retry_back_off = {
      base_interval: msToDuration(r.backoff.baseMs),
      max_interval: msToDuration(Math.max(r.backoff.baseMs, r.backoff.maxMs)),
    };
  }
  return policy;
}

/**
 * Strata filters as optional per-route filter overrides: key `strata.<name>` (`#n` for a
 * repeated name), value FilterConfig{is_optional, TypedStruct{type.strata.dev/strata.filters.<name>,
 * {order, config}}}. Optional, so Envoy and gRPC clients that do not run the filter accept the route.
 */
export function filtersToXds(filters: readonly FilterSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  filters.forEach((f, order) => {
    let key = `${STRATA_FILTER_KEY_PREFIX}${f.name}`;
    for (let n = 2; key in out; n++) key = `${STRATA_FILTER_KEY_PREFIX}${f.name}#${n}`;
    const typedStruct = pack(TYPED_STRUCT_TYPE_URL, {
      type_url: `${STRATA_FILTER_TYPE_PREFIX}${f.name}`,
      value: jsonToStruct({ order, config: f.config }),
    });
    out[key] = pack(FILTER_CONFIG_TYPE_URL, { config: typedStruct, is_optional: true });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Listeners

/**
 * The Listener a proxyless gRPC client subscribes to for `xds:///<serviceName>`: an API
 * listener whose HttpConnectionManager takes its routes over ADS and ends with the router.
 */
export function apiListenerToXds(serviceName: string, routeConfigName: string): XdsMessage {
  const hcm = {
    stat_prefix: serviceName,
    rds: { route_config_name: routeConfigName, config_source: { ads: {}, resource_api_version: 'V3' } },
    http_filters: [{ name: ROUTER_FILTER_NAME, typed_config: pack(ROUTER_FILTER_TYPE_URL, {}) }],
  };
  return { name: serviceName, api_listener: { api_listener: pack(HTTP_CONNECTION_MANAGER_TYPE_URL, hcm) } };
}
