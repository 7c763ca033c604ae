/**
 * @module config/snapshot
 * The validated, resolved configuration a sidecar runs on. The file loader builds it from
 * resources today; the xDS client builds the same shape from Listener/Route/Cluster/CLA.
 * Everything here is plain data (JSON-serialisable for /config_dump); runtime objects
 * (pools, balancers, breakers) are built from it by the proxy.
 */

export type AppProtocol = 'http' | 'http2' | 'grpc' | 'tcp';
/** How one sidecar talks to another: HTTP/2 multiplexed (default) or HTTP/1.1. */
export type SidecarProtocol = 'h2' | 'http1';

export interface Snapshot {
  /** Content hash of the source; changes whenever anything changes. */
  version: string;
  /** Where it came from, e.g. the config file path. */
  source: string;
  sidecar: SidecarSpec;
  /** Route tables keyed by service name; each has the domains it answers for. */
  virtualHosts: VirtualHostSpec[];
  /** One cluster per service (name = service name). */
  clusters: ClusterSpec[];
}

export interface SidecarSpec {
  /** Workload (service) this sidecar sits beside; '' for a pure client/gateway. */
  service: string;
  namespace: string;
  /** Zone/region of this sidecar; endpoints in the same locality are preferred when asked. */
  locality: string;
  /**
   * Services the workload calls (sorted, unique; `*` = the whole mesh). Absent: learned from
   * the calls the app makes (on-demand discovery from the control plane).
   */
  dependencies?: string[];
  /** Inbound: other sidecars → local app. With `tls`, the listener terminates TLS (ALPN h2 / http/1.1). */
  inbound?: { port: number; address: string; appPort: number; appAddress: string; appProtocol: AppProtocol; tls?: ServerTlsSpec };
  /** Outbound HTTP forward proxy for HTTP_PROXY (absolute-form + CONNECT). */
  outbound?: { port: number; address: string };
  /** Local upstream ports: 127.0.0.1:port → service. protocol 'tcp' makes it an opaque TCP tunnel. */
  localPorts: { port: number; address: string; service: string; protocol: AppProtocol }[];
  admin?: { port: number; address: string };
  /** Protocol for sidecar-to-sidecar hops. */
  upstreamProtocol: SidecarProtocol;
  limits: Limits;
}

/** PEM files for a TLS listener. */
export interface ServerTlsSpec {
  certFile: string;
  keyFile: string;
}

/** How to dial a service over TLS (ALPN picks h2 or http/1.1). */
export interface ClientTlsSpec {
  /** SNI and the name checked in the certificate (default: the endpoint address). */
  serverName?: string;
  /** PEM bundle of trusted CAs (default: the system roots). */
  caFile?: string;
  /** Skip certificate verification (testing only). */
  insecureSkipVerify: boolean;
}

export interface Limits {
  /** Max total size of a request's header section in bytes (431 above). */
  maxHeaderBytes: number;
  /** Max request body in bytes (413 above); 0 = unlimited. */
  maxBodyBytes: number;
  /** Client must send its complete header section within this time (slowloris guard). */
  headerTimeoutMs: number;
  /** Idle keep-alive connection timeout, downstream. */
  idleTimeoutMs: number;
  /** Default per-request timeout when a route sets none; 0 = none. */
  requestTimeoutMs: number;
  /** Upstream connect timeout. */
  connectTimeoutMs: number;
  /** How long a drain waits for in-flight requests before closing them. */
  drainTimeoutMs: number;
}

export interface VirtualHostSpec {
  name: string;
  /** Host/:authority values (without port) that select this table; '*' matches any. */
  domains: string[];
  routes: RouteSpec[];
}

export type StringMatch =
  | { exact: string }
  | { prefix: string }
  | { regex: string }
  | { present: boolean };

export interface HeaderMatch {
  name: string; // lower-case
  match: StringMatch;
  invert?: boolean;
}

export interface RouteMatch {
  path?: { exact: string } | { prefix: string } | { regex: string };
  methods?: string[]; // upper-case
  headers?: HeaderMatch[];
}

export interface WeightedBackend {
  cluster: string;
  weight: number;
}

export interface RetrySpec {
  attempts: number; // extra attempts after the first
  on: RetryOn[];
  perTryTimeoutMs: number; // 0 = the route timeout
  backoff: { baseMs: number; maxMs: number };
  /** Retry even non-idempotent methods (POST, PATCH). */
  retryNonIdempotent: boolean;
}
export type RetryOn = 'connect-failure' | 'reset' | '5xx' | 'gateway-error' | 'retriable-status';

export interface FilterSpec {
  /** Registered filter name, e.g. 'header-mutation', 'fault', 'local-rate-limit'. */
  name: string;
  /** Filter-specific config, already validated by the filter's own decoder. */
  config: unknown;
}

export type RouteAction =
  | { kind: 'forward'; backends: WeightedBackend[]; prefixRewrite?: string; hostRewrite?: string }
  | { kind: 'direct'; status: number; body: string; headers: Record<string, string> };

export interface RouteSpec {
  name: string;
  match: RouteMatch;
  action: RouteAction;
  /** Whole-request timeout incl. retries; 0 = Limits.requestTimeoutMs. */
  timeoutMs: number;
  retry?: RetrySpec;
  filters: FilterSpec[];
}

export interface EndpointSpec {
  address: string;
  port: number;
  weight: number;
  locality: string;
  /** True when the address is another Strata sidecar's inbound listener. */
  sidecar: boolean;
}

export interface ClusterSpec {
  name: string;
  protocol: AppProtocol;
  endpoints: EndpointSpec[];
  loadBalancer: LoadBalancerSpec;
  circuitBreaker: CircuitBreakerSpec;
  outlierDetection?: OutlierDetectionSpec;
  healthCheck?: HealthCheckSpec;
  retryBudget: RetryBudgetSpec;
  /** Prefer endpoints in the sidecar's own locality (SidecarSpec.locality) when any is available. */
  localityPreference: boolean;
  /** Dial the endpoints over TLS. */
  tls?: ClientTlsSpec;
}

export interface LoadBalancerSpec {
  /** Registered balancer name: 'round-robin', 'least-request', 'peak-ewma', 'ring-hash'. */
  policy: string;
  /** Ring hash: what to hash. */
  hashOn?: { header: string } | { cookie: string };
  ringSize?: number;
}

export interface CircuitBreakerSpec {
  maxConnections: number;
  maxPending: number;
  maxRequests: number;
}

export interface OutlierDetectionSpec {
  consecutive5xx: number;
  consecutiveGatewayErrors: number;
  intervalMs: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectionPercent: number;
}

export interface HealthCheckSpec {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  expectedStatuses: [number, number]; // inclusive range
}

export interface RetryBudgetSpec {
  /** Retries may add at most this percentage of active requests. */
  budgetPercent: number;
  /** …but at least this many concurrent retries are always allowed. */
  minRetryConcurrency: number;
}
