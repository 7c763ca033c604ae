/**
 * @module config/compile-priority
 * PriorityClass + PriorityPolicy resources and the Sidecar's `priority` block → the
 * PrioritySpec of a Snapshot: the built-in classes overridden by declared ones (sorted by
 * rank, highest first), classification rules in order (policies by name, then rule order),
 * and admission specs with defaults. Checks across resources: unique class names and ranks,
 * shares adding up to at most 1, every class a rule names exists, one default class.
 * Priority is off (undefined) unless something declares it: a class, a policy, a Sidecar
 * `priority` block or a gateway listener. Used by compileSnapshot() and the control plane's
 * compileMesh().
 *
 * A declared class's socket options (dscp, soPriority, congestion) go through
 * net/marking.ts checkClassOptions(). Where they will be used — a sidecar's own compile — they
 * are checked against what this machine's kernel offers (tcp_available_congestion_control),
 * read once per process (setMachineEnvironment() replaces it in tests). Privileges are not a
 * configuration error: without CAP_NET_ADMIN a class asking for SO_PRIORITY above 6 or a
 * congestion control outside tcp_allowed_congestion_control is applied unmarked, and the
 * sidecar says so once per class (net/marking.ts) — the same file must validate on a
 * developer's machine and run on a privileged host.
 * The mesh view (no Sidecar: the control plane) checks ranges only: the sidecars' machines may
 * differ; each sidecar checks what it receives (proxy/xds/listener.ts).
 */
import type { FieldError } from '../errors.js';
import { checkClassOptions, currentMarkingEnvironment } from '../net/marking.js';
import type { MarkingEnvironment } from '../net/marking.js';
import type { Diagnostics } from './compile-context.js';
import { byCodePoint, describeResource } from './compile-context.js';
import { DEFAULT_ADAPTIVE_LIMIT, DEFAULT_ADMISSION, DEFAULT_API_KEY_HEADER, DEFAULT_PRIORITY_CLASS, DEFAULT_PRIORITY_CLASSES } from './defaults.js';
import type { AdmissionInput } from './kinds/priority-limits.js';
import type { PriorityRuleInput } from './kinds/priority-policy.js';
import type { PriorityClassResource, PriorityPolicyResource, SidecarResource } from './resources.js';
import type { AdmissionSpec, HeaderMatch, PriorityClassSpec, PriorityRuleSpec, PrioritySpec, StringMatch } from './snapshot.js';

export interface PriorityInputs {
  classes: readonly PriorityClassResource[];
  policies: readonly PriorityPolicyResource[];
  /** The sidecar being compiled (absent for the mesh view). */
  sidecar?: SidecarResource;
  /**
   * What declared classes' socket options are checked against. Default: this machine when a
   * Sidecar is compiled (machineEnvironment()), else ranges only (RANGE_CHECKS).
   */
  socketChecks?: MarkingEnvironment;
}

/** Checks that need no machine: DSCP and SO_PRIORITY ranges, the shape of a congestion control name. */
export const RANGE_CHECKS: Readonly<MarkingEnvironment> = Object.freeze({ netAdmin: true, supported: true });

let machine: MarkingEnvironment | undefined;

/**
 * This machine, for class checks: the congestion controls its kernel offers, read on first use
 * and kept (privileges are not checked, see above). Where socket options cannot be set at all
 * (not Linux, no koffi) the sidecar does not mark sockets, so only ranges are checked.
 */
export function machineEnvironment(): MarkingEnvironment {
  if (!machine) {
    const env = currentMarkingEnvironment();
    machine = env.supported ? { ...env, netAdmin: true } : RANGE_CHECKS;
  }
  return machine;
}

/** Tests: check against `env` instead of this machine (undefined: read the machine again on next use). */
export function setMachineEnvironment(env: MarkingEnvironment | undefined): void {
  machine = env;
}

/** The socket-option problems of a class, every field path prefixed with `path`. */
export function classSocketProblems(c: Pick<PriorityClassSpec, 'dscp' | 'soPriority' | 'congestion'>, path: string, env: MarkingEnvironment): FieldError[] {
  return checkClassOptions(
    {
      ...(c.dscp !== undefined && { dscp: c.dscp }),
      ...(c.soPriority !== undefined && { soPriority: c.soPriority }),
      ...(c.congestion !== undefined && { congestion: c.congestion }),
    },
    path,
    env,
  );
}

/** True when anything in the inputs asks for request priority. */
export function priorityDeclared(inputs: PriorityInputs): boolean {
  const s = inputs.sidecar?.spec;
  return inputs.classes.length > 0 || inputs.policies.length > 0 || s?.priority !== undefined || s?.gateway !== undefined;
}

export function compilePriority(diag: Diagnostics, inputs: PriorityInputs): PrioritySpec | undefined {
  if (!priorityDeclared(inputs)) return undefined;
  const env = inputs.socketChecks ?? (inputs.sidecar ? machineEnvironment() : RANGE_CHECKS);
  const classes = compileClasses(diag, inputs.classes, env);
  const names = new Set(classes.map((c) => c.name));
  const known = (): string => [...names].join(', ');

  const rules: PriorityRuleSpec[] = [];
  let defaultClass = DEFAULT_PRIORITY_CLASS;
  let defaultFrom: PriorityPolicyResource | undefined;
  const policies = [...inputs.policies].sort((a, b) => byCodePoint(a.metadata.name, b.metadata.name) || byCodePoint(a.metadata.namespace, b.metadata.namespace));
  for (const p of policies) {
    if (p.spec.defaultClass !== undefined) {
      if (defaultFrom) diag.add(p, 'spec.defaultClass', `the default class is already set by ${describeResource(defaultFrom)}; at most one PriorityPolicy may set it`);
      else if (!names.has(p.spec.defaultClass)) diag.add(p, 'spec.defaultClass', `unknown priority class ${JSON.stringify(p.spec.defaultClass)} (classes: ${known()})`);
      else {
        defaultFrom = p;
        defaultClass = p.spec.defaultClass;
      }
    }
    p.spec.rules?.forEach((rule, i) => {
      if (rule.class !== undefined && !names.has(rule.class)) {
        diag.add(p, `spec.rules[${i}].class`, `unknown priority class ${JSON.stringify(rule.class)} (classes: ${known()})`);
        return;
      }
      rules.push(compileRule(p, rule, i));
    });
  }

  const s = inputs.sidecar?.spec.priority;
  const services: Record<string, AdmissionSpec> = {};
  for (const [name, a] of Object.entries(s?.services ?? {})) services[name] = compileAdmission(a);
  return {
    classes,
    defaultClass,
    rules,
    trustIncoming: s?.trustIncoming ?? true,
    pools: s?.pools ?? 'per-class',
    ...(s?.inbound && { inbound: compileAdmission(s.inbound) }),
    ...(s?.outbound && { outbound: compileAdmission(s.outbound) }),
    services,
  };
}

function compileClasses(diag: Diagnostics, declared: readonly PriorityClassResource[], env: MarkingEnvironment): PriorityClassSpec[] {
  const byName = new Map<string, { spec: PriorityClassSpec; from?: PriorityClassResource }>();
  for (const d of DEFAULT_PRIORITY_CLASSES) byName.set(d.name, { spec: { ...d } });
  const declaredBy = new Map<string, PriorityClassResource>();
  for (const r of declared) {
    const name = r.metadata.name;
    const first = declaredBy.get(name);
    if (first) {
      diag.add(r, 'metadata.name', `priority class ${JSON.stringify(name)} is already declared by ${describeResource(first)} (class names are mesh-wide)`);
      continue;
    }
    declaredBy.set(name, r);
    const s = r.spec;
    for (const e of classSocketProblems(s, 'spec', env)) diag.add(r, e.path, e.message);
    byName.set(name, {
      spec: {
        name,
        rank: s.rank,
        ...(s.dscp !== undefined && { dscp: s.dscp }),
        ...(s.soPriority !== undefined && { soPriority: s.soPriority }),
        ...(s.congestion !== undefined && { congestion: s.congestion }),
        minShare: s.minShare ?? 0,
        maxShare: s.maxShare ?? 1,
        shedOrder: s.shedOrder ?? s.rank,
      },
      from: r,
    });
  }
  const all = [...byName.values()];
  const byRank = new Map<number, { spec: PriorityClassSpec; from?: PriorityClassResource }>();
  for (const c of all) {
    const other = byRank.get(c.spec.rank);
    if (!other) {
      byRank.set(c.spec.rank, c);
      continue;
    }
    // Report on a declared class (a built-in one cannot be edited).
    const [at, them] = c.from ? [c, other] : [other, c];
    const what = them.from ? describeResource(them.from) : `built-in class ${JSON.stringify(them.spec.name)}`;
    if (at.from) diag.add(at.from, 'spec.rank', `rank ${c.spec.rank} is also the rank of ${what}; ranks must be unique`);
  }
  const total = all.reduce((sum, c) => sum + c.spec.minShare, 0);
  if (total > 1 + 1e-9) {
    const lastDeclared = declared.filter((r) => declaredBy.get(r.metadata.name) === r).at(-1);
    const parts = all.map((c) => `${c.spec.name} ${c.spec.minShare}`).join(', ');
    if (lastDeclared) diag.add(lastDeclared, 'spec.minShare', `minShare of all classes adds up to ${Math.round(total * 1000) / 1000} (${parts}); at most 1`);
  }
  return all.map((c) => c.spec).sort((a, b) => b.rank - a.rank);
}

function compileRule(p: PriorityPolicyResource, rule: PriorityRuleInput, i: number): PriorityRuleSpec {
  const m = rule.match ?? {};
  const match: PriorityRuleSpec['match'] = {};
  if (m.path) match.path = m.path.exact !== undefined ? { exact: m.path.exact } : m.path.prefix !== undefined ? { prefix: m.path.prefix } : { regex: m.path.regex ?? '' };
  if (m.methods) match.methods = m.methods.map((x) => x.toUpperCase());
  if (m.headers) {
    match.headers = m.headers.map((h): HeaderMatch => {
      let sm: StringMatch;
      if (h.exact !== undefined) sm = { exact: h.exact };
      else if (h.prefix !== undefined) sm = { prefix: h.prefix };
      else if (h.regex !== undefined) sm = { regex: h.regex };
      else sm = { present: h.present ?? true };
      return { name: h.name.toLowerCase(), match: sm, ...(h.invert === true && { invert: true }) };
    });
  }
  if (m.apiKey) match.apiKey = { header: (m.apiKey.header ?? DEFAULT_API_KEY_HEADER).toLowerCase(), values: [...m.apiKey.values] };
  if (m.services) match.services = m.services.map((x) => x.toLowerCase());
  return {
    name: `${p.metadata.name}/${rule.name ?? `rule-${i}`}`,
    match,
    ...(rule.class !== undefined && { class: rule.class }),
    trustIncoming: rule.trustIncoming ?? false,
  };
}

function compileAdmission(a: AdmissionInput): AdmissionSpec {
  let limit: AdmissionSpec['limit'];
  if (a.limit.static !== undefined) limit = { kind: 'static', limit: a.limit.static };
  else {
    const ad = a.limit.adaptive ?? {};
    const min = ad.min ?? DEFAULT_ADAPTIVE_LIMIT.min;
    const max = ad.max ?? DEFAULT_ADAPTIVE_LIMIT.max;
    limit = {
      kind: 'adaptive',
      min,
      max,
      initial: ad.initial ?? Math.min(max, Math.max(min, 4)),
      tolerance: ad.tolerance ?? DEFAULT_ADAPTIVE_LIMIT.tolerance,
      windowMs: ad.windowMs ?? DEFAULT_ADAPTIVE_LIMIT.windowMs,
      smoothing: ad.smoothing ?? DEFAULT_ADAPTIVE_LIMIT.smoothing,
    };
  }
  return {
    limit,
    maxQueue: a.maxQueue ?? DEFAULT_ADMISSION.maxQueue,
    queueTimeoutMs: a.queueTimeoutMs ?? DEFAULT_ADMISSION.queueTimeoutMs,
    retryAfterSeconds: a.retryAfterSeconds ?? DEFAULT_ADMISSION.retryAfterSeconds,
  };
}
