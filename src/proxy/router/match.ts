/**
 * @module proxy/router/match
 * Request matchers shared by route matching (router/route-table.ts) and priority
 * classification (priority/classify.ts): string matches, header matches, and the pieces of
 * a request they read. Compiled once per configuration; pure.
 */
import type { HeaderMatch, StringMatch } from '../../config/snapshot.js';
import type { Headers } from '../filters/filter.js';

/** Tests a request's headers. */
export type HeaderMatcher = (headers: Headers) => boolean;

/** The path without its query. */
export function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q >= 0 ? path.slice(0, q) : path;
}

/** A header's value; repeated fields joined with ','. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const raw = headers[name];
  return Array.isArray(raw) ? raw.join(',') : raw;
}

/** exact / prefix / regex (anchored) / present, on a value that may be absent. */
export function compileString(m: StringMatch): (v: string | undefined) => boolean {
  if ('exact' in m) return (v) => v === m.exact;
  if ('prefix' in m) return (v) => v !== undefined && v.startsWith(m.prefix);
  if ('regex' in m) {
    const re = new RegExp(`^(?:${m.regex})$`);
    return (v) => v !== undefined && re.test(v);
  }
  return (v) => (v !== undefined) === m.present;
}

/** A header match (optionally inverted). */
export function compileHeader(h: HeaderMatch): HeaderMatcher {
  const test = compileString(h.match);
  const name = h.name;
  const invert = h.invert === true;
  return (headers) => test(headerValue(headers, name)) !== invert;
}
