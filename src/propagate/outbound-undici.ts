/**
 * @module propagate/outbound-undici
 * undici — node's built-in `fetch` and the `undici` npm package alike (fetch, request, stream,
 * Client, Pool, Agent…): both publish every request they create on the diagnostics channel
 * `undici:request:create`, synchronously in the caller's async context, before the request is
 * written. The subscriber adds the propagated headers there, keeping the app's (baggage
 * merged). Channels are process-wide by name, so one subscription covers every copy of undici.
 * Request headers are a flat [name, value, …] array (undici ≥ 6) or a "name: value\r\n"
 * string (undici 5); both are handled.
 */
import diagnostics from 'node:diagnostics_channel';
import { currentContext, isEmptyContext, outboundHeaders } from './context.js';
import type { HeaderGetter } from './context.js';

/** The part of an undici Request the subscriber uses. */
export interface UndiciRequestLike {
  headers: unknown;
  addHeader?(name: string, value: string): unknown;
}

type HeaderList = { name: string; value: string }[];

function listOf(headers: unknown): HeaderList {
  const out: HeaderList = [];
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const v: unknown = headers[i + 1];
      out.push({ name: String(headers[i]), value: Array.isArray(v) ? v.map(String).join(',') : String(v) });
    }
  } else if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) out.push({ name: line.slice(0, colon), value: line.slice(colon + 1).trim() });
    }
  }
  return out;
}

function getterOf(list: HeaderList): HeaderGetter {
  return (name) => {
    const vs = list.filter((h) => h.name.toLowerCase() === name).map((h) => h.value);
    return vs.length > 0 ? vs.join(',') : undefined;
  };
}

/** Add the current context's headers to one undici request (in place). */
export function addContextHeaders(request: UndiciRequestLike): void {
  const ctx = currentContext();
  if (!ctx || isEmptyContext(ctx)) return;
  const list = listOf(request.headers);
  const add = outboundHeaders(ctx, getterOf(list));
  if (add.size === 0) return;
  const kept = list.filter((h) => !add.has(h.name.toLowerCase()));
  for (const [name, value] of add) kept.push({ name, value });
  if (Array.isArray(request.headers)) {
    const arr = request.headers as unknown[];
    arr.length = 0;
    for (const h of kept) arr.push(h.name, h.value);
  } else if (typeof request.headers === 'string') {
    request.headers = kept.map((h) => `${h.name}: ${h.value}\r\n`).join('');
  } else if (typeof request.addHeader === 'function') {
    for (const [name, value] of add) if (getterOf(list)(name) === undefined) request.addHeader(name, value);
  }
}

let subscribed = false;

export function installUndici(): void {
  if (subscribed) return;
  subscribed = true;
  diagnostics.subscribe('undici:request:create', (message) => {
    const request = (message as { request?: UndiciRequestLike }).request;
    if (!request) return;
    try {
      addContextHeaders(request);
    } catch {
      // never break the app's request: a subscriber's throw would surface as an uncaught exception
    }
  });
}
