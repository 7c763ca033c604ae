/**
 * @module propagate/context
 * What travels from an app's inbound request to the outbound requests it causes: the priority
 * class (`x-strata-priority: <class>` plus the W3C baggage member `strata.priority=<class>`) and
 * the W3C Trace Context (`traceparent`, `tracestate`) with the rest of the baggage. Pure
 * helpers — extraction from inbound headers, the headers to set on one outbound request — and
 * the AsyncLocalStorage that holds the context while the app handles a request. The preload
 * module (register.ts) and the sidecar both use these; nothing here patches anything.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import { baggageValue, mergeBaggage, parseBaggage } from './baggage.js';
import type { BaggageMember, MergedBaggage } from './baggage.js';

export const PRIORITY_HEADER = 'x-strata-priority';
export const PRIORITY_BAGGAGE_KEY = 'strata.priority';

/**
 * Every header carried from inbound to outbound, lower case. A name added here is carried as
 * is (set on the outbound request unless the app set it); the four below have their own rules
 * in `outboundHeaders()`.
 */
export const PROPAGATED_HEADERS = [PRIORITY_HEADER, 'traceparent', 'tracestate', 'baggage'] as const;
export type PropagatedHeader = (typeof PROPAGATED_HEADERS)[number];

/** The context of one inbound request: the valid values of the propagated headers. */
export interface PropagationContext {
  /** The priority class: x-strata-priority if valid, else baggage strata.priority. */
  readonly priority?: string;
  /** Inbound values, validated (an invalid traceparent drops tracestate with it). */
  readonly headers: Readonly<Partial<Record<PropagatedHeader, string>>>;
}

/** Read one header by lower-case name; several values are returned joined with ",". */
export type HeaderGetter = (name: string) => string | undefined;

/** The context of the request being handled, for the code running on its behalf. */
export const contextStorage = new AsyncLocalStorage<PropagationContext>();

export function currentContext(): PropagationContext | undefined {
  return contextStorage.getStore();
}

// A priority class is a PriorityClass resource name: a DNS label (config/kinds/common.ts DNS_LABEL).
const CLASS_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export function isClassName(v: string): boolean {
  return CLASS_NAME.test(v);
}

/** W3C Trace Context traceparent: version 00 exactly, later versions may append fields; no all-zero ids. */
export function isValidTraceparent(v: string): boolean {
  const m = TRACEPARENT.exec(v);
  if (!m) return false;
  const [, version, traceId, parentId, , rest] = m;
  if (version === 'ff') return false;
  if (version === '00' && rest !== undefined) return false;
  return !/^0+$/.test(traceId ?? '') && !/^0+$/.test(parentId ?? '');
}

/** The trace-id field of a traceparent (undefined when it is not valid). */
function traceIdOf(traceparent: string): string | undefined {
  return isValidTraceparent(traceparent.trim()) ? traceparent.trim().slice(3, 35) : undefined;
}

type HeaderSource = IncomingHttpHeaders | Headers | Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** A getter over node's IncomingHttpHeaders, a fetch Headers or a plain record (names any case). */
export function headerGetter(src: HeaderSource): HeaderGetter {
  if (typeof Headers !== 'undefined' && src instanceof Headers) return (name) => src.get(name) ?? undefined;
  const rec = src as Readonly<Record<string, string | readonly string[] | number | undefined>>;
  const lower = new Map<string, string>();
  for (const [k, v] of Object.entries(rec)) {
    if (v === undefined) continue;
    const s = Array.isArray(v) ? v.join(',') : String(v);
    const key = k.toLowerCase();
    const prev = lower.get(key);
    lower.set(key, prev === undefined ? s : `${prev},${s}`);
  }
  return (name) => lower.get(name);
}

function asGetter(src: HeaderSource | HeaderGetter): HeaderGetter {
  return typeof src === 'function' ? src : headerGetter(src);
}

/**
 * The class a request asks for: x-strata-priority first, then baggage strata.priority
 * (lower-cased, as the sidecar reads it; a value that is no class name counts as absent).
 */
export function classFromHeaders(headers: HeaderSource | HeaderGetter): string | undefined {
  const get = asGetter(headers);
  const h = get(PRIORITY_HEADER)?.trim().toLowerCase();
  if (h !== undefined && isClassName(h)) return h;
  const b = baggageValue(parseBaggage(get('baggage')), PRIORITY_BAGGAGE_KEY)?.trim().toLowerCase();
  return b !== undefined && isClassName(b) ? b : undefined;
}

/** The context to carry from an inbound request (empty when it has none of the headers). */
export function extractContext(headers: HeaderSource | HeaderGetter): PropagationContext {
  const get = asGetter(headers);
  const out: Partial<Record<PropagatedHeader, string>> = {};
  for (const name of PROPAGATED_HEADERS) {
    const v = get(name)?.trim();
    if (v) out[name] = v;
  }
  const priority = classFromHeaders(get);
  if (priority !== undefined) out[PRIORITY_HEADER] = priority;
  else delete out[PRIORITY_HEADER];
  if (out.traceparent !== undefined && !isValidTraceparent(out.traceparent)) delete out.traceparent;
  if (out.traceparent === undefined) delete out.tracestate; // tracestate means nothing without it
  if (out.baggage !== undefined) {
    const members = parseBaggage(out.baggage);
    if (members.length === 0) delete out.baggage;
    else out.baggage = mergeBaggage([], members).value ?? '';
  }
  return priority !== undefined ? { priority, headers: out } : { headers: out };
}

export function isEmptyContext(ctx: PropagationContext): boolean {
  return Object.keys(ctx.headers).length === 0;
}

/**
 * The app's baggage members plus ours: the inbound members in their order with strata.priority
 * set to `cls` in its place (first when the inbound had none) — or, when that leaves the class
 * out for lack of room, the class first.
 */
function mergeOurBaggage(app: readonly BaggageMember[], ctx: PropagationContext, cls: string | undefined): MergedBaggage {
  const inbound = parseBaggage(ctx.headers.baggage).filter((m) => m.key !== PRIORITY_BAGGAGE_KEY);
  if (cls === undefined) return mergeBaggage(app, inbound);
  const member: BaggageMember = { key: PRIORITY_BAGGAGE_KEY, text: `${PRIORITY_BAGGAGE_KEY}=${cls}` };
  const at = parseBaggage(ctx.headers.baggage).findIndex((m) => m.key === PRIORITY_BAGGAGE_KEY);
  const inOrder = [...inbound];
  inOrder.splice(Math.max(at, 0), 0, member);
  const merged = mergeBaggage(app, inOrder);
  const hasClass = app.some((m) => m.key === PRIORITY_BAGGAGE_KEY) || parseBaggage(merged.value).some((m) => m.key === PRIORITY_BAGGAGE_KEY);
  return hasClass ? merged : mergeBaggage(app, [member, ...inbound]);
}

/**
 * The headers to set on one outbound request, given the headers the app set on it: name →
 * value, to add or (baggage only) to replace the app's value with. Rules:
 * - x-strata-priority: the app's value is kept; otherwise the class of the app's own baggage
 *   strata.priority if it set one, else the inbound class.
 * - baggage: the app's members kept as written; then strata.priority (the app's
 *   x-strata-priority, else the inbound class) unless the app set that member; then the other
 *   inbound members the app does not have — within the W3C limits, ours dropped first.
 * - traceparent: the inbound one unless the app set one. tracestate: the inbound one unless the
 *   app set one or set a traceparent of another trace (the state belongs to the trace).
 * - any other propagated header: the inbound value unless the app set it.
 */
export function outboundHeaders(ctx: PropagationContext, app: HeaderGetter): Map<string, string> {
  const set = new Map<string, string>();
  const appClassHeader = app(PRIORITY_HEADER)?.trim();
  const appMembers = parseBaggage(app('baggage'));
  const appClassMember = baggageValue(appMembers, PRIORITY_BAGGAGE_KEY)?.trim().toLowerCase();
  const appClassLower = appClassHeader?.toLowerCase();
  const appClass = appClassLower !== undefined && isClassName(appClassLower) ? appClassLower : undefined;
  for (const name of PROPAGATED_HEADERS) {
    switch (name) {
      case PRIORITY_HEADER: {
        if (appClassHeader !== undefined) break;
        const cls = appClassMember !== undefined && isClassName(appClassMember) ? appClassMember : ctx.priority;
        if (cls !== undefined) set.set(name, cls);
        break;
      }
      case 'baggage': {
        const merged = mergeOurBaggage(appMembers, ctx, appClass ?? ctx.priority);
        if (merged.added > 0 && merged.value !== undefined) set.set(name, merged.value);
        break;
      }
      case 'traceparent': {
        const v = ctx.headers.traceparent;
        if (v !== undefined && app(name) === undefined) set.set(name, v);
        break;
      }
      case 'tracestate': {
        const v = ctx.headers.tracestate;
        const appParent = app('traceparent');
        if (v === undefined || app(name) !== undefined) break;
        if (appParent === undefined || traceIdOf(appParent) === traceIdOf(ctx.headers.traceparent ?? '')) set.set(name, v);
        break;
      }
      default: {
        const v = ctx.headers[name];
        if (v !== undefined && app(name) === undefined) set.set(name, v);
      }
    }
  }
  return set;
}
