/**
 * @module xds/from-xds
 * xDS v3 resources (plain objects as protobufjs `toObject` returns them, or as to-xds builds
 * them) → Strata's data-plane contract. Every decoder validates the whole resource and
 * returns `{ name, value }` or `{ name, errors }` with every problem and its field path
 * (`endpoints[2].lb_endpoints[0].endpoint.address.socket_address: not set`); they never throw.
 * Route configurations are decoded in from-xds-routes.ts and re-exported here.
 */
import { isIP } from 'node:net';
import type {
  AppProtocol,
  CircuitBreakerSpec,
  ClientTlsSpec,
  ClusterSpec,
  EndpointSpec,
  HealthCheckSpec,
  LoadBalancerSpec,
  OutlierDetectionSpec,
  RetryBudgetSpec,
} from '../config/snapshot.js';
import { isRecord } from '../config/field-path.js';
import { DEFAULT_CIRCUIT_BREAKER, DEFAULT_RETRY_BUDGET } from '../config/defaults.js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  HTTP_PROTOCOL_OPTIONS_KEY,
  UPSTREAM_TLS_CONTEXT_TYPE_URL,
} from './protos.js';
import type { XdsAny, XdsMessage } from './protos.js';
import { DecodeContext, enumName, join, strataMetadata } from './decode-context.js';
import type { XdsDecoded } from './decode-context.js';
import { STRATA_METADATA_KEY } from './to-xds.js';

export { nackMessage } from './decode-context.js';
export type { XdsDecoded } from './decode-context.js';
export { decodeRouteConfiguration, decodeRouteConfigurationAny } from './from-xds-routes.js';

const APP_PROTOCOLS: readonly AppProtocol[] = ['http', 'http2', 'grpc', 'tcp'];
const DISCOVERY_TYPES: Record<number, string> = { 0: 'STATIC', 1: 'STRICT_DNS', 2: 'LOGICAL_DNS', 3: 'EDS', 4: 'ORIGINAL_DST' };
const LB_POLICIES: Record<number, string> = { 0: 'ROUND_ROBIN', 1: 'LEAST_REQUEST', 2: 'RING_HASH', 3: 'RANDOM', 5: 'MAGLEV', 6: 'CLUSTER_PROVIDED', 7: 'LOAD_BALANCING_POLICY_CONFIG' };
const ROUTING_PRIORITIES: Record<number, string> = { 0: 'DEFAULT', 1: 'HIGH' };
const HEALTH_STATUSES: Record<number, string> = { 0: 'UNKNOWN', 1: 'HEALTHY', 2: 'UNHEALTHY', 3: 'DRAINING', 4: 'TIMEOUT', 5: 'DEGRADED' };
/** Endpoints in these states receive no traffic. */
const EXCLUDED_HEALTH = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

/** Envoy's defaults for outlier-detection fields a Cluster leaves out. */
const ENVOY_OUTLIER_DEFAULTS = { consecutive5xx: 5, consecutiveGatewayErrors: 5, intervalMs: 10_000, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 10 };

/** Decode a Cluster. `endpoints` is empty: they come from the ClusterLoadAssignment. */
export function decodeCluster(resource: unknown): XdsDecoded<ClusterSpec> {
  const ctx = new DecodeContext();
  if (!isRecord(resource)) return { name: '', errors: [{ source: 'xds', path: '', message: 'expected a Cluster message' }] };
  const name = ctx.string(resource, 'name', '', true) ?? '';

  const type = enumName(resource.type, DISCOVERY_TYPES, 'STATIC');
  if (type !== 'EDS') ctx.error('type', `unsupported discovery type ${type ?? typeof resource.type} (only EDS)`);
  const eds = ctx.message(resource, 'eds_cluster_config', '', true);
  if (eds) {
    const source = ctx.message(eds, 'eds_config', 'eds_cluster_config', true);
    if (source && !isRecord(source.ads) && !isRecord(source.self)) {
      ctx.error('eds_cluster_config.eds_config', 'config source must be ads or self');
    }
  }

  const meta = strataMetadata(ctx, resource, '') ?? {};
  const metaPath = `metadata.filter_metadata.${STRATA_METADATA_KEY}`;
  const loadBalancer = decodeLoadBalancer(ctx, resource, meta.loadBalancer, metaPath);
  let protocol: AppProtocol = 'http';
  if (meta.protocol !== undefined) {
    if (APP_PROTOCOLS.includes(meta.protocol as AppProtocol)) protocol = meta.protocol as AppProtocol;
    else ctx.error(`${metaPath}.protocol`, `must be one of ${APP_PROTOCOLS.join(', ')}`);
  } else {
    const options = isRecord(resource.typed_extension_protocol_options) ? resource.typed_extension_protocol_options : {};
    if (options[HTTP_PROTOCOL_OPTIONS_KEY] !== undefined) {
      const decoded = ctx.any(options[HTTP_PROTOCOL_OPTIONS_KEY], `typed_extension_protocol_options["${HTTP_PROTOCOL_OPTIONS_KEY}"]`);
      const explicit = decoded && isRecord(decoded.message.explicit_http_config) ? decoded.message.explicit_http_config : {};
      if (isRecord(explicit.http2_protocol_options)) protocol = 'http2';
    }
  }
  let localityPreference = false;
  if (meta.localityPreference !== undefined) {
    if (typeof meta.localityPreference === 'boolean') localityPreference = meta.localityPreference;
    else ctx.error(`${metaPath}.localityPreference`, 'expected a boolean');
  }

  const { circuitBreaker, retryBudget } = decodeCircuitBreakers(ctx, resource);
  const spec: ClusterSpec = { name, protocol, endpoints: [], loadBalancer, circuitBreaker, retryBudget, localityPreference };
  const outlier = decodeOutlierDetection(ctx, resource);
  if (outlier) spec.outlierDetection = outlier;
  const health = decodeHealthCheck(ctx, resource);
  if (health) spec.healthCheck = health;
  const tls = decodeTls(ctx, resource);
  if (tls) spec.tls = tls;
  return ctx.errors.length > 0 ? { name, errors: ctx.errors } : { name, value: spec };
}

function decodeLoadBalancer(ctx: DecodeContext, c: XdsMessage, meta: unknown, metaPath: string): LoadBalancerSpec {
  const policy = enumName(c.lb_policy, LB_POLICIES, 'ROUND_ROBIN');
  let ringSize: number | undefined;
  const ringConfig = ctx.message(c, 'ring_hash_lb_config', '', false);
  if (ringConfig) ringSize = ctx.wrapped(ringConfig, 'minimum_ring_size', 'ring_hash_lb_config', false);
  if (policy !== 'ROUND_ROBIN' && policy !== 'RING_HASH') {
    ctx.error('lb_policy', `unsupported ${policy ?? typeof c.lb_policy} (ROUND_ROBIN or RING_HASH)`);
  }
  if (meta !== undefined) {
    const path = `${metaPath}.loadBalancer`;
    if (!isRecord(meta)) {
      ctx.error(path, 'expected an object');
      return { policy: 'round-robin' };
    }
    const lb: LoadBalancerSpec = { policy: 'round-robin' };
    if (typeof meta.policy === 'string' && meta.policy !== '') lb.policy = meta.policy;
    else ctx.error(`${path}.policy`, 'not set');
    if (meta.hashOn !== undefined) {
      const h = meta.hashOn;
      if (isRecord(h) && typeof h.header === 'string') lb.hashOn = { header: h.header };
      else if (isRecord(h) && typeof h.cookie === 'string') lb.hashOn = { cookie: h.cookie };
      else ctx.error(`${path}.hashOn`, 'expected { header } or { cookie }');
    }
    if (meta.ringSize !== undefined) {
      if (typeof meta.ringSize === 'number' && Number.isInteger(meta.ringSize) && meta.ringSize > 0) lb.ringSize = meta.ringSize;
      else ctx.error(`${path}.ringSize`, 'expected a positive integer');
    }
    if ((lb.policy === 'ring-hash') !== (policy === 'RING_HASH')) {
      ctx.error('lb_policy', `${policy ?? ''} disagrees with ${path}.policy ${lb.policy}`);
    }
    return lb;
  }
  if (policy === 'RING_HASH') return ringSize !== undefined ? { policy: 'ring-hash', ringSize } : { policy: 'ring-hash' };
  return { policy: 'round-robin' };
}

function decodeCircuitBreakers(ctx: DecodeContext, c: XdsMessage): { circuitBreaker: CircuitBreakerSpec; retryBudget: RetryBudgetSpec } {
  const circuitBreaker = { ...DEFAULT_CIRCUIT_BREAKER };
  const retryBudget = { ...DEFAULT_RETRY_BUDGET };
  const breakers = ctx.message(c, 'circuit_breakers', '', false);
  if (!breakers) return { circuitBreaker, retryBudget };
  ctx.array(breakers, 'thresholds', 'circuit_breakers', false).forEach((t, i) => {
    const path = `circuit_breakers.thresholds[${i}]`;
    if (!isRecord(t)) return ctx.error(path, 'expected a message');
    if (enumName(t.priority, ROUTING_PRIORITIES, 'DEFAULT') !== 'DEFAULT') return; // HIGH priority has no Strata counterpart
    circuitBreaker.maxConnections = ctx.wrapped(t, 'max_connections', path, false) ?? 1024;
    circuitBreaker.maxPending = ctx.wrapped(t, 'max_pending_requests', path, false) ?? 1024;
    circuitBreaker.maxRequests = ctx.wrapped(t, 'max_requests', path, false) ?? 1024;
    const budget = ctx.message(t, 'retry_budget', path, false);
    if (budget) {
      retryBudget.budgetPercent = ctx.wrapped(budget, 'budget_percent', `${path}.retry_budget`, false) ?? 20;
      retryBudget.minRetryConcurrency = ctx.wrapped(budget, 'min_retry_concurrency', `${path}.retry_budget`, false) ?? 3;
    }
  });
  return { circuitBreaker, retryBudget };
}

function decodeOutlierDetection(ctx: DecodeContext, c: XdsMessage): OutlierDetectionSpec | undefined {
  const o = ctx.message(c, 'outlier_detection', '', false);
  if (!o) return undefined;
  const p = 'outlier_detection';
  const d = ENVOY_OUTLIER_DEFAULTS;
  const enforcingGateway = ctx.wrapped(o, 'enforcing_consecutive_gateway_failure', p, false) ?? 0;
  const gateway = ctx.wrapped(o, 'consecutive_gateway_failure', p, false) ?? d.consecutiveGatewayErrors;
  const spec: OutlierDetectionSpec = {
    consecutive5xx: ctx.wrapped(o, 'consecutive_5xx', p, false) ?? d.consecutive5xx,
    consecutiveGatewayErrors: enforcingGateway > 0 ? gateway : 0,
    intervalMs: ctx.duration(o, 'interval', p, false) ?? d.intervalMs,
    baseEjectionMs: ctx.duration(o, 'base_ejection_time', p, false) ?? d.baseEjectionMs,
    maxEjectionMs: ctx.duration(o, 'max_ejection_time', p, false) ?? d.maxEjectionMs,
    maxEjectionPercent: ctx.wrapped(o, 'max_ejection_percent', p, false) ?? d.maxEjectionPercent,
  };
  if (spec.maxEjectionPercent > 100) ctx.error(`${p}.max_ejection_percent`, 'must be at most 100');
  return spec;
}

function decodeHealthCheck(ctx: DecodeContext, c: XdsMessage): HealthCheckSpec | undefined {
  const checks = ctx.array(c, 'health_checks', '', false);
  if (checks.length === 0) return undefined;
  const h = checks[0];
  const p = 'health_checks[0]';
  if (!isRecord(h)) {
    ctx.error(p, 'expected a message');
    return undefined;
  }
  const http = ctx.message(h, 'http_health_check', p, true);
  const spec: HealthCheckSpec = {
    path: (http && ctx.string(http, 'path', `${p}.http_health_check`, true)) ?? '/',
    intervalMs: ctx.duration(h, 'interval', p, true) ?? 0,
    timeoutMs: ctx.duration(h, 'timeout', p, true) ?? 0,
    unhealthyThreshold: ctx.wrapped(h, 'unhealthy_threshold', p, true) ?? 0,
    healthyThreshold: ctx.wrapped(h, 'healthy_threshold', p, true) ?? 0,
    expectedStatuses: [200, 200],
  };
  if (http) {
    const ranges = ctx.array(http, 'expected_statuses', `${p}.http_health_check`, false);
    if (ranges.length > 1) ctx.error(`${p}.http_health_check.expected_statuses`, 'only one range is supported');
    const r = ranges[0];
    if (r !== undefined) {
      const rp = `${p}.http_health_check.expected_statuses[0]`;
      if (!isRecord(r)) ctx.error(rp, 'expected a message');
      else {
        const start = ctx.number(r, 'start', rp, true);
        const end = ctx.number(r, 'end', rp, true);
        if (start !== undefined && end !== undefined) {
          if (start < 100 || end > 600 || end <= start) ctx.error(rp, `invalid status range [${start}, ${end})`);
          else spec.expectedStatuses = [start, end - 1];
        }
      }
    }
  }
  return spec;
}

function decodeTls(ctx: DecodeContext, c: XdsMessage): ClientTlsSpec | undefined {
  const socket = ctx.message(c, 'transport_socket', '', false);
  if (!socket) return undefined;
  const decoded = ctx.any(socket.typed_config, 'transport_socket.typed_config', UPSTREAM_TLS_CONTEXT_TYPE_URL);
  if (!decoded) return undefined;
  const t = decoded.message;
  const p = 'transport_socket.typed_config';
  const tls: ClientTlsSpec = { insecureSkipVerify: true };
  const sni = ctx.string(t, 'sni', p, false);
  if (sni !== undefined && sni !== '') tls.serverName = sni;
  const common = ctx.message(t, 'common_tls_context', p, false);
  const validation = common && ctx.message(common, 'validation_context', `${p}.common_tls_context`, false);
  if (validation) {
    tls.insecureSkipVerify = false;
    const ca = ctx.message(validation, 'trusted_ca', `${p}.common_tls_context.validation_context`, false);
    if (ca) {
      const file = ctx.string(ca, 'filename', `${p}.common_tls_context.validation_context.trusted_ca`, true);
      if (file !== undefined) tls.caFile = file;
    }
  }
  return tls;
}

/** Decode a ClusterLoadAssignment into endpoints; the name is `cluster_name`. */
export function decodeClusterLoadAssignment(resource: unknown): XdsDecoded<EndpointSpec[]> {
  const ctx = new DecodeContext();
  if (!isRecord(resource)) return { name: '', errors: [{ source: 'xds', path: '', message: 'expected a ClusterLoadAssignment message' }] };
  const name = ctx.string(resource, 'cluster_name', '', true) ?? '';
  const endpoints: EndpointSpec[] = [];
  ctx.array(resource, 'endpoints', '', false).forEach((entry, i) => {
    const path = `endpoints[${i}]`;
    if (!isRecord(entry)) return ctx.error(path, 'expected a message');
    const locality = ctx.message(entry, 'locality', path, true);
    const weight = ctx.wrapped(entry, 'load_balancing_weight', path, true);
    if (weight === 0) ctx.error(`${path}.load_balancing_weight`, 'must be greater than 0');
    const localityName = locality ? localityFromXds(ctx, locality, `${path}.locality`) : '';
    ctx.array(entry, 'lb_endpoints', path, false).forEach((lb, j) => {
      const ep = decodeLbEndpoint(ctx, lb, `${path}.lb_endpoints[${j}]`, localityName);
      if (ep) endpoints.push(ep);
    });
  });
  return ctx.errors.length > 0 ? { name, errors: ctx.errors } : { name, value: endpoints };
}

function decodeLbEndpoint(ctx: DecodeContext, lb: unknown, path: string, locality: string): EndpointSpec | undefined {
  if (!isRecord(lb)) {
    ctx.error(path, 'expected a message');
    return undefined;
  }
  const endpoint = ctx.message(lb, 'endpoint', path, true);
  const address = endpoint && ctx.message(endpoint, 'address', `${path}.endpoint`, true);
  const socket = address && ctx.message(address, 'socket_address', `${path}.endpoint.address`, true);
  const sp = `${path}.endpoint.address.socket_address`;
  let ip: string | undefined;
  let port: number | undefined;
  if (socket) {
    ip = ctx.string(socket, 'address', sp, true);
    if (ip !== undefined && isIP(ip) === 0) ctx.error(`${sp}.address`, `"${ip}" is not an IP literal`);
    port = ctx.number(socket, 'port_value', sp, true);
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) ctx.error(`${sp}.port_value`, 'must be 1-65535');
  }
  const weight = ctx.wrapped(lb, 'load_balancing_weight', path, false) ?? 1;
  if (weight < 1) ctx.error(`${path}.load_balancing_weight`, 'must be greater than 0');
  const health = enumName(lb.health_status, HEALTH_STATUSES, 'UNKNOWN');
  if (health === undefined) ctx.error(`${path}.health_status`, 'expected an enum');
  const meta = strataMetadata(ctx, lb, path);
  let sidecar = false;
  if (meta?.sidecar !== undefined) {
    if (typeof meta.sidecar === 'boolean') sidecar = meta.sidecar;
    else ctx.error(`${path}.metadata.filter_metadata.${STRATA_METADATA_KEY}.sidecar`, 'expected a boolean');
  }
  if (ip === undefined || port === undefined || (health !== undefined && EXCLUDED_HEALTH.has(health))) return undefined;
  return { address: ip, port, weight, locality, sidecar };
}

/** Inverse of to-xds localityToXds: `region/zone/sub_zone`, or the zone alone. */
function localityFromXds(ctx: DecodeContext, l: XdsMessage, path: string): string {
  const region = ctx.string(l, 'region', path, false) ?? '';
  const zone = ctx.string(l, 'zone', path, false) ?? '';
  const subZone = ctx.string(l, 'sub_zone', path, false) ?? '';
  if (subZone !== '') return `${region}/${zone}/${subZone}`;
  if (region !== '') return `${region}/${zone}`;
  return zone;
}

/** Cluster + its ClusterLoadAssignment → one ClusterSpec (errors from both, CLA paths prefixed). */
export function clusterSpecFromXds(cluster: unknown, assignment: unknown): XdsDecoded<ClusterSpec> {
  const c = decodeCluster(cluster);
  const a = decodeClusterLoadAssignment(assignment);
  const errors = [
    ...('errors' in c ? c.errors : []),
    ...('errors' in a ? a.errors.map((e) => ({ ...e, path: join('ClusterLoadAssignment', e.path) })) : []),
  ];
  if (a.name !== c.name) errors.push({ source: 'xds', path: 'ClusterLoadAssignment.cluster_name', message: `"${a.name}" does not match cluster "${c.name}"` });
  if (errors.length > 0 || !('value' in c) || !('value' in a)) return { name: c.name, errors };
  return { name: c.name, value: { ...c.value, endpoints: a.value } };
}

/** Decode a Cluster from its Any (as it arrives in a DiscoveryResponse). */
export function decodeClusterAny(any: XdsAny | unknown): XdsDecoded<ClusterSpec> {
  const ctx = new DecodeContext();
  const decoded = ctx.any(any, '', CLUSTER_TYPE_URL);
  return decoded ? decodeCluster(decoded.message) : { name: '', errors: ctx.errors };
}

export function decodeClusterLoadAssignmentAny(any: XdsAny | unknown): XdsDecoded<EndpointSpec[]> {
  const ctx = new DecodeContext();
  const decoded = ctx.any(any, '', CLUSTER_LOAD_ASSIGNMENT_TYPE_URL);
  return decoded ? decodeClusterLoadAssignment(decoded.message) : { name: '', errors: ctx.errors };
}
