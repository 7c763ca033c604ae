/**
 * @module config/kinds/priority-policy
 * `PriorityPolicy`: how a sidecar (or gateway) classifies a request that arrives without a
 * class it may honour. Rules are tried in order, first match wins; a rule names the class,
 * or (`trustIncoming: true`) lets a class the client sent stand. Policies are evaluated in
 * name order; `defaultClass` applies when no rule matches (at most one policy may set it).
 * References to classes are checked by the compile pass (config/compile-priority.ts).
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import { fieldPath } from '../field-path.js';
import { Closed, HeaderName, HostName, Method, Name, validateRequestMatch, validateRules } from './common.js';
import type { KindDefinition } from './common.js';


const PathMatchSchema = Type.Object(
  {
    exact: Type.Optional(Type.String()),
    prefix: Type.Optional(Type.String()),
    regex: Type.Optional(Type.String()),
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
    invert: Type.Optional(Type.Boolean({ default: false })),
  },
  { ...Closed, description: 'Header name and exactly one of exact | prefix | regex | present.' },
);

const ApiKeySchema = Type.Object(
  {
    header: Type.Optional(HeaderName('Header carrying the key (default x-api-key).')),
    values: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Keys that match.' }),
  },
  { ...Closed, description: 'The request carries one of these API keys.' },
);

const MatchSchema = Type.Object(
  {
    path: Type.Optional(PathMatchSchema),
    methods: Type.Optional(Type.Array(Method(), { minItems: 1 })),
    headers: Type.Optional(Type.Array(HeaderMatchSchema)),
    apiKey: Type.Optional(ApiKeySchema),
    services: Type.Optional(Type.Array(HostName('Destination service (the routed virtual host).'), { minItems: 1 })),
  },
  { ...Closed, description: 'All given conditions must hold; an empty match matches every request.' },
);

const RuleSchema = Type.Object(
  {
    name: Type.Optional(Name('Rule name for logs (default rule-N).')),
    match: Type.Optional(MatchSchema),
    class: Type.Optional(Name('PriorityClass for matching requests.')),
    trustIncoming: Type.Optional(
      Type.Boolean({ default: false, description: 'Honour a class the client sent (x-strata-priority / baggage); `class` applies when it sent none.' }),
    ),
  },
  { ...Closed, description: 'Set class, trustIncoming, or both.' },
);

export const PriorityPolicySpecSchema = Type.Object(
  {
    rules: Type.Optional(Type.Array(RuleSchema, { description: 'First match wins.' })),
    defaultClass: Type.Optional(Name('Class of requests no rule matches (default: default).')),
  },
  { ...Closed, description: 'Request classification rules.' },
);

export type PriorityPolicySpecInput = Static<typeof PriorityPolicySpecSchema>;
export type PriorityRuleInput = Static<typeof RuleSchema>;

function validateRule(rule: PriorityRuleInput, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (rule.class === undefined && rule.trustIncoming !== true) {
    errors.push({ path, message: 'set class, trustIncoming: true, or both' });
  }
  errors.push(...validateRequestMatch(rule.match, fieldPath(path, 'match')));
  return errors;
}

function validatePriorityPolicy(spec: PriorityPolicySpecInput, path: string): FieldError[] {
  return validateRules(spec.rules, path, validateRule);
}

export const priorityPolicyKind: KindDefinition<typeof PriorityPolicySpecSchema> = {
  kind: 'PriorityPolicy',
  schema: PriorityPolicySpecSchema,
  description: 'Rules that classify requests into priority classes at the ingress.',
  validate: validatePriorityPolicy,
};
