/**
 * @module config/kinds/priority-limits
 * The `priority` block of a Sidecar (concurrency limits and queues by class, inbound and per
 * upstream service; trust in an incoming class; per-class pools) and its `gateway` listener.
 * Defaults are in config/defaults.ts (DEFAULT_ADMISSION, DEFAULT_ADAPTIVE_LIMIT).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import { DEFAULT_ADAPTIVE_LIMIT, DEFAULT_ADMISSION } from '../defaults.js';
import { fieldPath } from '../field-path.js';
import { Address, Closed, Count, Millis, Name, Port, StringEnum, exactlyOne } from './common.js';

const AdaptiveSchema = Type.Object(
  {
    min: Type.Optional(Count({ minimum: 1, default: DEFAULT_ADAPTIVE_LIMIT.min, description: 'Lowest limit.' })),
    max: Type.Optional(Count({ minimum: 1, default: DEFAULT_ADAPTIVE_LIMIT.max, description: 'Highest limit.' })),
    initial: Type.Optional(Count({ minimum: 1, description: 'Starting limit (default: min, at least 4).' })),
    tolerance: Type.Optional(
      Type.Number({ minimum: 1, maximum: 100, default: DEFAULT_ADAPTIVE_LIMIT.tolerance, description: 'Latency may reach tolerance × the no-load minimum before the limit shrinks.' }),
    ),
    windowMs: Type.Optional(Millis({ minimum: 100, default: DEFAULT_ADAPTIVE_LIMIT.windowMs, description: 'How long the no-load minimum latency is remembered.' })),
    smoothing: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, default: DEFAULT_ADAPTIVE_LIMIT.smoothing, description: 'Weight of each new estimate.' })),
  },
  { ...Closed, description: 'A gradient limit: grows while latency stays near its no-load minimum, shrinks when it rises.' },
);

const LimitSchema = Type.Object(
  {
    static: Type.Optional(Count({ minimum: 1, description: 'Fixed concurrency limit.' })),
    adaptive: Type.Optional(AdaptiveSchema),
  },
  { ...Closed, description: 'Exactly one of static | adaptive.' },
);

export const AdmissionSchema = Type.Object(
  {
    limit: LimitSchema,
    maxQueue: Type.Optional(Count({ default: DEFAULT_ADMISSION.maxQueue, description: 'Requests that may wait (all classes); beyond it the lowest class is shed.' })),
    queueTimeoutMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_ADMISSION.queueTimeoutMs, description: 'Longest wait in the queue (503 after).' })),
    retryAfterSeconds: Type.Optional(Count({ maximum: 3600, default: DEFAULT_ADMISSION.retryAfterSeconds, description: 'Retry-After on 503 shed / queue timeout.' })),
  },
  Closed,
);

export const SidecarPrioritySchema = Type.Object(
  {
    trustIncoming: Type.Optional(
      Type.Boolean({ default: true, description: 'Honour x-strata-priority / baggage strata.priority on requests to this sidecar (the gateway listener never does unless a PriorityPolicy rule says so).' }),
    ),
    pools: Type.Optional(StringEnum(['per-class', 'shared'] as const, { default: 'per-class', description: 'Upstream connection pools per class, or shared.' })),
    inbound: Type.Optional(AdmissionSchema),
    outbound: Type.Optional(AdmissionSchema),
    services: Type.Optional(Type.Record(Type.String(), AdmissionSchema, { description: 'Per upstream service, overriding outbound.' })),
  },
  { ...Closed, description: 'Request priority: admission by class at concurrency limits.' },
);

export const GatewaySchema = Type.Object(
  {
    port: Port('Listener for clients outside the mesh.'),
    address: Type.Optional(Address('Listen address (default 0.0.0.0).')),
    defaultService: Type.Optional(Name('Service for requests whose Host names none.')),
  },
  { ...Closed, description: 'Ingress listener: classify, then route by Host like the outbound proxy.' },
);

export type AdmissionInput = Static<typeof AdmissionSchema>;
export type SidecarPriorityInput = Static<typeof SidecarPrioritySchema>;

function validateAdmission(a: AdmissionInput, path: string): FieldError[] {
  const lp = fieldPath(path, 'limit');
  const errors = exactlyOne(a.limit, ['static', 'adaptive'], lp);
  const ad = a.limit.adaptive;
  if (ad) {
    const min = ad.min ?? DEFAULT_ADAPTIVE_LIMIT.min;
    const max = ad.max ?? DEFAULT_ADAPTIVE_LIMIT.max;
    const ap = fieldPath(lp, 'adaptive');
    if (min > max) errors.push({ path: fieldPath(ap, 'max'), message: `must be at least min (${min}), got ${max}` });
    if (ad.initial !== undefined && (ad.initial < min || ad.initial > max)) {
      errors.push({ path: fieldPath(ap, 'initial'), message: `must be between min (${min}) and max (${max}), got ${ad.initial}` });
    }
  }
  return errors;
}

/** Checks the schema cannot express, paths rooted at `path` (the `priority` field). */
export function validateSidecarPriority(p: SidecarPriorityInput, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (p.inbound) errors.push(...validateAdmission(p.inbound, fieldPath(path, 'inbound')));
  if (p.outbound) errors.push(...validateAdmission(p.outbound, fieldPath(path, 'outbound')));
  for (const [name, a] of Object.entries(p.services ?? {})) errors.push(...validateAdmission(a, fieldPath(fieldPath(path, 'services'), name)));
  return errors;
}
