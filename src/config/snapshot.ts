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
  /** Request priority: classes, classification, admission. Absent: priority is off (no work per request). */
  priority?: PrioritySpec;
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
  /** AMQP 0-9-1 listener in front of RabbitMQ: publishes get their priority from the request's class. */
  amqp?: AmqpListenerSpec;
  /** Ingress for clients outside the mesh (`strata gateway`): routed by Host like the outbound proxy, classified, incoming class untrusted. */
  gateway?: { port: number; address: string; defaultService?: string };
  /** Protocol for sidecar-to-sidecar hops. */
  upstreamProtocol: SidecarProtocol;
  limits: Limits;
}

/** The AMQP listener: app → 127.0.0.1:port → the broker at `upstream`. */
export interface AmqpListenerSpec {
  port: number;
  address: string;
  upstream: { address: string; port: number };
  /** Priority class → AMQP message priority (0–255); a class not listed gets `default`'s. */
  priorities: Record<string, number>;
  /** Queues declared through the listener whose name matches `pattern` get `x-max-priority`. */
  maxPriorityQueues?: { pattern: string; maxPriority: number };
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

// ── request priority ─────────────────────────────────────────────────────────────────────

/** One priority class, as compiled (built-in defaults included). */
export interface PriorityClassSpec {
  name: string;
  /** Higher is admitted first; unique. */
  rank: number;
  /** DSCP code point 0–63 for upstream sockets of this class. */
  dscp?: number;
  /** SO_PRIORITY for upstream sockets of this class (above 6 needs CAP_NET_ADMIN; htb matches classids). */
  soPriority?: number;
  /** TCP congestion control for upstream sockets of this class. */
  congestion?: string;
  /** Share of admissions guaranteed while saturated (0–1; all classes add up to at most 1). */
  minShare: number;
  /** Most of a concurrency limit this class may hold at once (0–1, at least one request; 1: no ceiling). */
  maxShare: number;
  /** Lowest sheds first when queues are full. */
  shedOrder: number;
}

/** One classification rule (PriorityPolicy), first match wins. */
export interface PriorityRuleSpec {
  /** `PriorityPolicy/<name>.rules[i]` name, for logs. */
  name: string;
  match: RouteMatch & { apiKey?: { header: string; values: string[] }; services?: string[] };
  /** Class for matching requests; absent only with trustIncoming (then the default class). */
  class?: string;
  /** Honour a class the client sent, even at the gateway. */
  trustIncoming: boolean;
}

/** A concurrency limit: fixed, or adaptive from measured latency (gradient). */
export type ConcurrencyLimitSpec =
  | { kind: 'static'; limit: number }
  | {
      kind: 'adaptive';
      min: number;
      max: number;
      initial: number;
      /** Latency may rise to tolerance × the no-load minimum before the limit shrinks. */
      tolerance: number;
      /** The no-load minimum is the lowest latency of the last two windows of this length. */
      windowMs: number;
      /** Weight of each new estimate (0–1]. */
      smoothing: number;
    };

/** Admission (queues by class) at one concurrency limit. */
export interface AdmissionSpec {
  limit: ConcurrencyLimitSpec;
  /** Requests that may wait, over all classes; beyond it the lowest class is shed. */
  maxQueue: number;
  /** A request waiting longer is answered 503. */
  queueTimeoutMs: number;
  /** Retry-After (seconds) on 503 shed / queue timeout. */
  retryAfterSeconds: number;
}

export interface PrioritySpec {
  /** Highest rank first. */
  classes: PriorityClassSpec[];
  /** Class of requests no rule matches. */
  defaultClass: string;
  rules: PriorityRuleSpec[];
  /** Sidecar listeners honour a class that arrives with the request (the gateway never does unless a rule says so). */
  trustIncoming: boolean;
  /** Separate upstream connection pools per class (default), or one shared pool. */
  pools: 'per-class' | 'shared';
  /** Admission before the local app. */
  inbound?: AdmissionSpec;
  /** Admission per upstream cluster (every cluster, unless `services` has its own). */
  outbound?: AdmissionSpec;
  /** Per upstream service (cluster name) admission overriding `outbound`. */
  services: Record<string, AdmissionSpec>;
}
