/**
 * @module proxy/http/headers
 * Header hygiene between hops: hop-by-hop headers never cross a proxy (RFC 9110 §7.6.1),
 * HTTP/2 pseudo-headers become Host/status and back.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'http2-settings',
  'host',
]);

/**
 * Copy request headers for the next hop: drops pseudo-headers, hop-by-hop headers and any
 * header named in Connection; keeps `te: trailers` (gRPC needs it). Host is handled by the
 * caller (it becomes Host or :authority).
 */
export function forwardRequestHeaders(src: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = connectionNamed(src['connection']);
  for (const name in src) {
    if (name.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(name)) continue;
    if (named !== undefined && named.has(name)) continue;
    out[name] = src[name];
  }
  const te = src['te'];
  if (typeof te === 'string' && te.toLowerCase().includes('trailers')) out['te'] = 'trailers';
  return out;
}

/** Copy response headers for the next hop (drops :status, hop-by-hop, Connection-named). */
export function forwardResponseHeaders(src: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const named = connectionNamed(src['connection']);
  for (const name in src) {
    if (name.charCodeAt(0) === 58 || (HOP_BY_HOP.has(name) && name !== 'host')) continue;
    if (named !== undefined && named.has(name)) continue;
    out[name] = src[name];
  }
  return out;
}

/** Extra headers named in Connection; undefined for the usual `keep-alive` / `close` (no work per request). */
function connectionNamed(value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const v = value.length <= 10 ? value.toLowerCase() : '';
  if (v === 'keep-alive' || v === 'close' || v === 'upgrade') return undefined;
  return connectionTokens(value);
}

function connectionTokens(value: string): Set<string> {
  const set = new Set<string>();
  for (const t of value.split(',')) {
    const name = t.trim().toLowerCase();
    if (name) set.add(name);
  }
  return set;
}

/** Host without port, lower-cased; handles IPv6 literals like `[::1]:8080`. */
export function hostOnly(authority: string): string {
  if (authority.charCodeAt(0) === 91 /* '[' */) {
    const end = authority.indexOf(']');
    return end > 0 ? authority.slice(0, end + 1).toLowerCase() : authority.toLowerCase();
  }
  const colon = authority.indexOf(':');
  return (colon >= 0 ? authority.slice(0, colon) : authority).toLowerCase();
}

/** Parse an absolute-form request target (`http://host:port/path?q`) into authority + path. */
export function splitAbsoluteForm(url: string): { authority: string; path: string } | undefined {
  const m = /^http:\/\/([^/?#]+)([^#]*)/i.exec(url);
  if (!m) return undefined;
  const authority = m[1] as string;
  const rest = m[2] as string;
  return { authority, path: rest === '' ? '/' : rest.charCodeAt(0) === 63 /* ? */ ? `/${rest}` : rest };
}
