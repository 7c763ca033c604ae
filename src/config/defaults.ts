/**
 * @module config/defaults
 * Default values the compiler fills in for fields a resource leaves out. The schemas
 * publish the same values as JSON Schema `default` annotations.
 */
import type {
  AppProtocol,
  CircuitBreakerSpec,
  Limits,
  OutlierDetectionSpec,
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
