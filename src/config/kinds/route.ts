/**
 * @module config/kinds/route
 * `Route`: the HTTP route table for requests addressed to one service. Rules are tried in
 * order; each either forwards to weighted backends or answers directly, and may carry a
 * filter chain, a timeout and a retry policy.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import { DEFAULT_BACKEND_WEIGHT, DEFAULT_RETRY, DEFAULT_ROUTE_TIMEOUT_MS, RETRY_ON_VALUES } from '../defaults.js';
import { fieldPath } from '../field-path.js';
import {
  Closed,
  Count,
  HEADER_NAME,
  HeaderName,
  HostName,
  Method,
  Millis,
  Name,
  StringEnum,
  exactlyOne,
  validateRequestMatch,
  validateRules,
} from './common.js';
import type { KindDefinition } from './common.js';


const PathMatchSchema = Type.Object(
  {
    exact: Type.Optional(Type.String({ description: 'The whole path (without query) equals this.' })),
    prefix: Type.Optional(Type.String({ description: 'The path starts with this.' })),
    regex: Type.Optional(Type.String({ description: 'The path matches this regular expression.' })),
  },
  { ...Closed, description: 'Exactly one of exact | prefix | regex.' },
);

const HeaderMatchSchema = Type.Object(
  {
    name: HeaderName(),
    exact: Type.Optional(Type.String()),
    prefix: Type.Optional(Type.String()),
    regex: Type.Optional(Type.String()),
    present: Type.Optional(Type.Boolean()),
    invert: Type.Optional(Type.Boolean({ default: false, description: 'Match when the condition does not hold.' })),
  },
  { ...Closed, description: 'Header name and exactly one of exact | prefix | regex | present.' },
);

const MatchSchema = Type.Object(
  {
    path: Type.Optional(PathMatchSchema),
    methods: Type.Optional(Type.Array(Method(), { minItems: 1 })),
    headers: Type.Optional(Type.Array(HeaderMatchSchema)),
  },
  { ...Closed, description: 'All given conditions must hold; an empty match matches every request.' },
);

const BackendSchema = Type.Object(
  {
    service: Name('Service to forward to.'),
    weight: Type.Optional(Count({ maximum: 1_000_000, default: DEFAULT_BACKEND_WEIGHT, description: 'Relative share; 0 sends nothing.' })),
  },
  Closed,
);

const DirectResponseSchema = Type.Object(
  {
    status: Type.Integer({ minimum: 200, maximum: 599 }),
    body: Type.Optional(Type.String({ default: '' })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { ...Closed, description: 'Answer locally without forwarding.' },
);

const RewriteSchema = Type.Object(
  {
    prefix: Type.Optional(Type.String({ description: 'Replaces the matched path prefix.' })),
    host: Type.Optional(HostName('Replaces the Host/:authority sent upstream.')),
  },
  Closed,
);

const RetriesSchema = Type.Object(
  {
    attempts: Type.Optional(Count({ maximum: 10, default: DEFAULT_RETRY.attempts, description: 'Extra attempts after the first.' })),
    on: Type.Optional(Type.Array(StringEnum(RETRY_ON_VALUES), { minItems: 1, default: [...DEFAULT_RETRY.on] })),
    perTryTimeoutMs: Type.Optional(Millis({ default: DEFAULT_RETRY.perTryTimeoutMs, description: '0 = the route timeout.' })),
    backoff: Type.Optional(
      Type.Object(
        {
          baseMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_RETRY.backoff.baseMs })),
          maxMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_RETRY.backoff.maxMs })),
        },
        Closed,
      ),
    ),
    retryNonIdempotent: Type.Optional(Type.Boolean({ default: DEFAULT_RETRY.retryNonIdempotent })),
  },
  Closed,
);

const FilterSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Registered filter name.' }),
    config: Type.Optional(Type.Unknown({ description: "Filter-specific; checked by the filter's own decoder." })),
  },
  Closed,
);

const RuleSchema = Type.Object(
  {
    name: Type.Optional(Name('Route name for stats and logs (default rule-N).')),
    match: Type.Optional(MatchSchema),
    backends: Type.Optional(Type.Array(BackendSchema, { minItems: 1 })),
    directResponse: Type.Optional(DirectResponseSchema),
    rewrite: Type.Optional(RewriteSchema),
    timeoutMs: Type.Optional(Millis({ default: DEFAULT_ROUTE_TIMEOUT_MS, description: '0 = limits.requestTimeoutMs.' })),
    retries: Type.Optional(RetriesSchema),
    filters: Type.Optional(Type.Array(FilterSchema)),
  },
  { ...Closed, description: 'Exactly one of backends | directResponse.' },
);

export const RouteSpecSchema = Type.Object(
  {
    service: Name('Routes requests addressed to this service (Host/:authority).'),
    rules: Type.Array(RuleSchema, { minItems: 1, description: 'First match wins; no match is a 404.' }),
  },
  { ...Closed, description: 'HTTP routing for one service.' },
);

export type RouteSpecInput = Static<typeof RouteSpecSchema>;
export type RouteRuleInput = Static<typeof RuleSchema>;

/** The name a rule gets when it declares none. */
export function ruleName(rule: RouteRuleInput, index: number): string {
  return rule.name ?? `rule-${index}`;
}

function validateRule(rule: RouteRuleInput, path: string): FieldError[] {
  const errors: FieldError[] = [];
  errors.push(...exactlyOne(rule, ['backends', 'directResponse'], path));
  errors.push(...validateRequestMatch(rule.match, fieldPath(path, 'match')));
  if (rule.backends) {
    const total = rule.backends.reduce((sum, b) => sum + (b.weight ?? DEFAULT_BACKEND_WEIGHT), 0);
    if (total <= 0) errors.push({ path: fieldPath(path, 'backends'), message: 'backend weights must add up to more than 0' });
  }
  if (rule.directResponse) {
    for (const k of ['rewrite', 'retries'] as const) {
      if (rule[k] !== undefined) errors.push({ path: fieldPath(path, k), message: `${k} applies only to rules with backends` });
    }
    for (const name of Object.keys(rule.directResponse.headers ?? {})) {
      if (!HEADER_NAME.test(name)) {
        errors.push({ path: fieldPath(fieldPath(fieldPath(path, 'directResponse'), 'headers'), name), message: 'must be an HTTP header name' });
      }
    }
  }
  if (rule.rewrite) {
    const rp = fieldPath(path, 'rewrite');
    if (rule.rewrite.prefix === undefined && rule.rewrite.host === undefined) {
      errors.push({ path: rp, message: 'set prefix, host or both' });
    }
    if (rule.rewrite.prefix !== undefined) {
      if (!rule.rewrite.prefix.startsWith('/')) {
        errors.push({ path: fieldPath(rp, 'prefix'), message: `must start with "/" (got ${JSON.stringify(rule.rewrite.prefix)})` });
      } else if (rule.match?.path !== undefined && rule.match.path.prefix === undefined) {
        errors.push({ path: fieldPath(rp, 'prefix'), message: 'replaces the matched path prefix, so it needs match.path.prefix (or no path match)' });
      }
    }
  }
  const backoff = rule.retries?.backoff;
  if (backoff) {
    const base = backoff.baseMs ?? DEFAULT_RETRY.backoff.baseMs;
    const max = backoff.maxMs ?? DEFAULT_RETRY.backoff.maxMs;
    if (base > max) {
      errors.push({ path: `${path}.retries.backoff.maxMs`, message: `must be at least baseMs (${base}), got ${max}` });
    }
  }
  return errors;
}

function validateRoute(spec: RouteSpecInput, path: string): FieldError[] {
  return validateRules(spec.rules, path, validateRule);
}

export const routeKind: KindDefinition<typeof RouteSpecSchema> = {
  kind: 'Route',
  schema: RouteSpecSchema,
  description: 'HTTP routing rules for requests addressed to one service.',
  validate: validateRoute,
};
