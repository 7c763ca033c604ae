/**
 * @module proxy/priority/propagate
 * How a request's priority class travels: the header `x-strata-priority: <class>` and the
 * W3C baggage member `strata.priority=<class>`. Reading never throws — a malformed header
 * or baggage is simply "no class". Writing the baggage replaces only Strata's member and
 * keeps every other member (and its properties) byte for byte. Pure.
 */

export const PRIORITY_HEADER = 'x-strata-priority';
export const BAGGAGE_HEADER = 'baggage';
export const BAGGAGE_KEY = 'strata.priority';

/** W3C baggage limits: members and bytes a header may carry. */
const MAX_BAGGAGE_MEMBERS = 180;
const MAX_BAGGAGE_BYTES = 8192;

type HeaderValue = string | string[] | undefined;

function first(v: HeaderValue): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function joined(v: HeaderValue): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}

/** The class named by `x-strata-priority` (trimmed, lower-case), or undefined. */
export function classFromHeader(v: HeaderValue): string | undefined {
  const s = first(v);
  if (s === undefined) return undefined;
  const t = s.trim().toLowerCase();
  return t === '' ? undefined : t;
}

/** The value of baggage member `key` (percent-decoded, trimmed), or undefined when absent or malformed. */
export function baggageMember(v: HeaderValue, key: string = BAGGAGE_KEY): string | undefined {
  const s = joined(v);
  if (s === undefined || s.length > MAX_BAGGAGE_BYTES * 4 || !s.includes(key)) return undefined;
  const members = s.split(',');
  for (let i = 0; i < members.length && i < MAX_BAGGAGE_MEMBERS; i++) {
    const m = members[i] as string;
    const eq = m.indexOf('=');
    if (eq < 0 || m.slice(0, eq).trim() !== key) continue;
    const semi = m.indexOf(';', eq + 1);
    const raw = (semi < 0 ? m.slice(eq + 1) : m.slice(eq + 1, semi)).trim();
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    const t = value.trim().toLowerCase();
    return t === '' ? undefined : t;
  }
  return undefined;
}

/**
 * The class a request arrives with: the header wins over the baggage member; either one only
 * counts when `known` accepts it. Returns the class (as `known` maps it) or -1.
 */
export function incomingClass(header: HeaderValue, baggage: HeaderValue, known: (name: string) => number): number {
  const h = classFromHeader(header);
  if (h !== undefined) {
    const i = known(h);
    if (i >= 0) return i;
  }
  if (baggage === undefined) return -1;
  const b = baggageMember(baggage);
  return b === undefined ? -1 : known(b);
}

/**
 * The baggage header with member `key` set to `value`: other members are kept as they came
 * (in order, with their properties); earlier members of `key` are dropped; `key=value` goes
 * last. Empty members (stray commas) are dropped.
 */
export function withBaggageMember(v: HeaderValue, value: string, key: string = BAGGAGE_KEY): string {
  const s = joined(v);
  const mine = `${key}=${encodeURIComponent(value)}`;
  if (s === undefined || s.trim() === '') return mine;
  const kept: string[] = [];
  for (const m of s.split(',')) {
    if (m.trim() === '') continue;
    const eq = m.indexOf('=');
    if (eq >= 0 && m.slice(0, eq).trim() === key) continue;
    kept.push(m.trim());
  }
  kept.push(mine);
  return kept.join(',');
}

/**
 * Mark a request's headers (mutated in place) with its class: `x-strata-priority` and the
 * baggage member. Writes only what differs, so a request that already carries the class
 * costs two comparisons.
 */
export function markRequest(headers: Record<string, HeaderValue>, className: string): void {
  if (headers[PRIORITY_HEADER] !== className) headers[PRIORITY_HEADER] = className;
  const b = headers[BAGGAGE_HEADER];
  if (b === undefined) {
    headers[BAGGAGE_HEADER] = `${BAGGAGE_KEY}=${className}`;
    return;
  }
  if (baggageMember(b) === className && !Array.isArray(b) && countMembers(b, BAGGAGE_KEY) === 1) return;
  headers[BAGGAGE_HEADER] = withBaggageMember(b, className);
}

function countMembers(s: string, key: string): number {
  let n = 0;
  for (const m of s.split(',')) {
    const eq = m.indexOf('=');
    if (eq >= 0 && m.slice(0, eq).trim() === key) n++;
  }
  return n;
}
