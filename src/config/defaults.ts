/**
 * @module config/defaults
 * Default values the compiler fills in for fields a resource leaves out. The schemas
 * publish the same values as JSON Schema `default` annotations.
 */
import type {
  AdmissionSpec,
  AppProtocol,
  CircuitBreakerSpec,
  Limits,
  OutlierDetectionSpec,
  PriorityClassSpec,
  RetryBudgetSpec,
  RetryOn,
  SidecarProtocol,
} from './snapshot.js';

export const API_VERSION = 'strata.dev/v1alpha1';
export const DEFAULT_NAMESPACE = 'default';

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxHeaderBytes: 61_440,
  maxBodyBytes: 0,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 60_000,
  requestTimeoutMs: 15_000,
  connectTimeoutMs: 5_000,
  drainTimeoutMs: 10_000,
});

/** Inbound listens for other sidecars, so on every interface. */
export const DEFAULT_INBOUND_ADDRESS = '0.0.0.0';
/** Everything the local app or an operator talks to stays on loopback. */
export const DEFAULT_LOCAL_ADDRESS = '127.0.0.1';
export const DEFAULT_APP_PROTOCOL: AppProtocol = 'http';
export const DEFAULT_UPSTREAM_PROTOCOL: SidecarProtocol = 'h2';

export const DEFAULT_ENDPOINT = Object.freeze({ weight: 1, locality: '', sidecar: false });
export const DEFAULT_BACKEND_WEIGHT = 1;

/** Methods that RFC 9110 §9.2.2 defines as idempotent: the ones retries may repeat by default. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export const DEFAULT_LB_POLICY = 'round-robin';
export const RING_HASH_POLICY = 'ring-hash';

export const DEFAULT_CIRCUIT_BREAKER: Readonly<CircuitBreakerSpec> = Object.freeze({
  maxConnections: 1024,
  maxPending: 1024,
  maxRequests: 1024,
});

export const DEFAULT_RETRY_BUDGET: Readonly<RetryBudgetSpec> = Object.freeze({
  budgetPercent: 20,
  minRetryConcurrency: 3,
});

export const DEFAULT_OUTLIER_DETECTION: Readonly<OutlierDetectionSpec> = Object.freeze({
  consecutive5xx: 5,
  consecutiveGatewayErrors: 3,
  intervalMs: 1_000,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
});

export const DEFAULT_HEALTH_CHECK = Object.freeze({
  intervalMs: 5_000,
  timeoutMs: 1_000,
  unhealthyThreshold: 3,
  healthyThreshold: 2,
  expectedStatuses: Object.freeze([200, 399] as const),
});

export const RETRY_ON_VALUES: readonly RetryOn[] = Object.freeze([
  'connect-failure',
  'reset',
  '5xx',
  'gateway-error',
  'retriable-status',
]);

export const DEFAULT_RETRY = Object.freeze({
  attempts: 2,
  on: Object.freeze(['connect-failure', 'reset', 'gateway-error'] as const satisfies readonly RetryOn[]),
  perTryTimeoutMs: 0,
  backoff: Object.freeze({ baseMs: 25, maxMs: 250 }),
  retryNonIdempotent: false,
});

/** Route timeout 0 means "use limits.requestTimeoutMs". */
export const DEFAULT_ROUTE_TIMEOUT_MS = 0;

// ── request priority ─────────────────────────────────────────────────────────────────────

/**
 * The classes that exist without being declared (a PriorityClass of the same name replaces
 * one). SO_PRIORITY values follow Linux's TC_PRIO_* (6 interactive, 0 best effort, 2 bulk);
 * bulk is DSCP LE (RFC 8622) with reno, which yields to the others' cubic/bbr.
 */
export const DEFAULT_PRIORITY_CLASSES: readonly Readonly<PriorityClassSpec>[] = Object.freeze([
  Object.freeze({ name: 'latency-sensitive', rank: 300, dscp: 46, soPriority: 6, congestion: 'bbr', minShare: 0, maxShare: 1, shedOrder: 300 }),
  Object.freeze({ name: 'default', rank: 200, dscp: 0, soPriority: 0, minShare: 0.1, maxShare: 1, shedOrder: 200 }),
  Object.freeze({ name: 'bulk', rank: 100, dscp: 1, soPriority: 2, congestion: 'reno', minShare: 0.05, maxShare: 1, shedOrder: 100 }),
]);
export const DEFAULT_PRIORITY_CLASS = 'default';

export const DEFAULT_ADMISSION: Readonly<Omit<AdmissionSpec, 'limit'>> = Object.freeze({
  maxQueue: 1024,
  queueTimeoutMs: 5_000,
  retryAfterSeconds: 1,
});

export const DEFAULT_ADAPTIVE_LIMIT = Object.freeze({
  min: 4,
  max: 1000,
  tolerance: 2,
  windowMs: 30_000,
  smoothing: 0.2,
});

export const DEFAULT_API_KEY_HEADER = 'x-api-key';
