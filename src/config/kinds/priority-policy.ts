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
import { fieldPath, indexPath } from '../field-path.js';
import { Closed, HeaderName, HostName, Method, Name, exactlyOne, regexError } from './common.js';
import type { KindDefinition } from './common.js';

const PATH_MATCH_KEYS = ['exact', 'prefix', 'regex'] as const;
const HEADER_MATCH_KEYS = ['exact', 'prefix', 'regex', 'present'] as const;

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
  const m = rule.match;
  const mp = fieldPath(path, 'match');
  if (m?.path) {
    const p = fieldPath(mp, 'path');
    const one = exactlyOne(m.path, PATH_MATCH_KEYS, p);
    errors.push(...one);
    if (one.length === 0) {
      if (m.path.regex !== undefined) errors.push(...regexError(m.path.regex, fieldPath(p, 'regex')));
      const literal = m.path.exact ?? m.path.prefix;
      const key = m.path.exact !== undefined ? 'exact' : 'prefix';
      if (literal !== undefined && !literal.startsWith('/')) errors.push({ path: fieldPath(p, key), message: `must start with "/" (got ${JSON.stringify(literal)})` });
    }
  }
  m?.headers?.forEach((h, i) => {
    const hp = indexPath(fieldPath(mp, 'headers'), i);
    const one = exactlyOne(h, HEADER_MATCH_KEYS, hp);
    errors.push(...one);
    if (one.length === 0 && h.regex !== undefined) errors.push(...regexError(h.regex, fieldPath(hp, 'regex')));
  });
  return errors;
}

function validatePriorityPolicy(spec: PriorityPolicySpecInput, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Map<string, number>();
  spec.rules?.forEach((rule, i) => {
    const rp = indexPath(fieldPath(path, 'rules'), i);
    errors.push(...validateRule(rule, rp));
    const name = rule.name ?? `rule-${i}`;
    const first = names.get(name);
    if (first !== undefined) errors.push({ path: fieldPath(rp, 'name'), message: `duplicate rule name ${JSON.stringify(name)} (also rules[${first}])` });
    else names.set(name, i);
  });
  return errors;
}

export const priorityPolicyKind: KindDefinition<typeof PriorityPolicySpecSchema> = {
  kind: 'PriorityPolicy',
  schema: PriorityPolicySpecSchema,
  description: 'Rules that classify requests into priority classes at the ingress.',
  validate: validatePriorityPolicy,
};
