/**
 * @module config/kinds/traffic-policy
 * `TrafficPolicy`: how the sidecar talks to one service's endpoints — load balancing,
 * circuit breaking, outlier detection, active health checks and the retry budget.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import {
  DEFAULT_CIRCUIT_BREAKER,
  DEFAULT_HEALTH_CHECK,
  DEFAULT_LB_POLICY,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_RETRY_BUDGET,
} from '../defaults.js';
import { fieldPath } from '../field-path.js';
import { Closed, Count, HeaderName, Millis, Name, exactlyOne } from './common.js';
import type { KindDefinition } from './common.js';

const LoadBalancerSchema = Type.Object(
  {
    policy: Type.Optional(Type.String({ minLength: 1, default: DEFAULT_LB_POLICY, description: 'Registered balancer name.' })),
    hashOn: Type.Optional(
      Type.Object(
        {
          header: Type.Optional(HeaderName()),
          cookie: Type.Optional(Type.String({ minLength: 1, pattern: '^[^\\s;=,]+$', errorMessage: 'must be a cookie name' })),
        },
        { ...Closed, description: 'ring-hash: exactly one of header | cookie.' },
      ),
    ),
    ringSize: Type.Optional(Count({ minimum: 1, maximum: 8_388_608, description: 'ring-hash: virtual nodes on the ring.' })),
    localityPreference: Type.Optional(Type.Boolean({ default: false, description: "Prefer endpoints in this sidecar's locality." })),
  },
  Closed,
);

const CircuitBreakerSchema = Type.Object(
  {
    maxConnections: Type.Optional(Count({ minimum: 1, default: DEFAULT_CIRCUIT_BREAKER.maxConnections })),
    maxPending: Type.Optional(Count({ minimum: 1, default: DEFAULT_CIRCUIT_BREAKER.maxPending })),
    maxRequests: Type.Optional(Count({ minimum: 1, default: DEFAULT_CIRCUIT_BREAKER.maxRequests })),
  },
  Closed,
);

const OutlierDetectionSchema = Type.Object(
  {
    consecutive5xx: Type.Optional(Count({ default: DEFAULT_OUTLIER_DETECTION.consecutive5xx, description: '0 disables.' })),
    consecutiveGatewayErrors: Type.Optional(Count({ default: DEFAULT_OUTLIER_DETECTION.consecutiveGatewayErrors, description: '0 disables.' })),
    intervalMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_OUTLIER_DETECTION.intervalMs })),
    baseEjectionMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_OUTLIER_DETECTION.baseEjectionMs })),
    maxEjectionMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_OUTLIER_DETECTION.maxEjectionMs })),
    maxEjectionPercent: Type.Optional(Count({ maximum: 100, default: DEFAULT_OUTLIER_DETECTION.maxEjectionPercent })),
  },
  Closed,
);

const Status = Type.Integer({ minimum: 100, maximum: 599 });

const HealthCheckSchema = Type.Object(
  {
    path: Type.String({ pattern: '^/', errorMessage: 'must start with "/"' }),
    intervalMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_HEALTH_CHECK.intervalMs })),
    timeoutMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_HEALTH_CHECK.timeoutMs })),
    unhealthyThreshold: Type.Optional(Count({ minimum: 1, default: DEFAULT_HEALTH_CHECK.unhealthyThreshold })),
    healthyThreshold: Type.Optional(Count({ minimum: 1, default: DEFAULT_HEALTH_CHECK.healthyThreshold })),
    expectedStatuses: Type.Optional(
      Type.Tuple([Status, Status], { default: [...DEFAULT_HEALTH_CHECK.expectedStatuses], description: 'Inclusive [low, high] range.' }),
    ),
  },
  Closed,
);

const RetryBudgetSchema = Type.Object(
  {
    budgetPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: DEFAULT_RETRY_BUDGET.budgetPercent })),
    minRetryConcurrency: Type.Optional(Count({ default: DEFAULT_RETRY_BUDGET.minRetryConcurrency })),
  },
  Closed,
);

export const TrafficPolicySpecSchema = Type.Object(
  {
    service: Name('Service this policy applies to.'),
    loadBalancer: Type.Optional(LoadBalancerSchema),
    circuitBreaker: Type.Optional(CircuitBreakerSchema),
    outlierDetection: Type.Optional(OutlierDetectionSchema),
    healthCheck: Type.Optional(HealthCheckSchema),
    retryBudget: Type.Optional(RetryBudgetSchema),
  },
  { ...Closed, description: "Client-side policy for one service's endpoints." },
);

export type TrafficPolicySpecInput = Static<typeof TrafficPolicySpecSchema>;

function validateTrafficPolicy(spec: TrafficPolicySpecInput, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const hashOn = spec.loadBalancer?.hashOn;
  if (hashOn) errors.push(...exactlyOne(hashOn, ['header', 'cookie'], `${path}.loadBalancer.hashOn`));
  const od = spec.outlierDetection;
  if (od) {
    const base = od.baseEjectionMs ?? DEFAULT_OUTLIER_DETECTION.baseEjectionMs;
    const max = od.maxEjectionMs ?? DEFAULT_OUTLIER_DETECTION.maxEjectionMs;
    if (base > max) errors.push({ path: `${path}.outlierDetection.maxEjectionMs`, message: `must be at least baseEjectionMs (${base}), got ${max}` });
  }
  const statuses = spec.healthCheck?.expectedStatuses;
  if (statuses && statuses[0] > statuses[1]) {
    errors.push({ path: fieldPath(`${path}.healthCheck`, 'expectedStatuses'), message: `low end ${statuses[0]} is above high end ${statuses[1]}` });
  }
  return errors;
}

export const trafficPolicyKind: KindDefinition<typeof TrafficPolicySpecSchema> = {
  kind: 'TrafficPolicy',
  schema: TrafficPolicySpecSchema,
  description: 'Load balancing, circuit breaking, outlier detection and health checks for one service.',
  validate: validateTrafficPolicy,
};
