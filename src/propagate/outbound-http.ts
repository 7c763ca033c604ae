/**
 * @module propagate/outbound-http
 * node:http / node:https clients: `request` and `get` of both modules are wrapped so that,
 * inside a request's context, the propagated headers are added to the options before node
 * builds the request (every call form: (url, options, cb), (url, cb), (options, cb), URL
 * objects; headers as an object or as a raw [name, value, …] array). Headers the app set are
 * kept (baggage is merged). Libraries built on http.request (axios, got, node-fetch…) are
 * covered with it. Node 20's `http.client.request.start` channel fires after the header
 * block is built, too late to add to it, so the functions are wrapped instead.
 */
import http from 'node:http';
import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import { currentContext, isEmptyContext, outboundHeaders } from './context.js';
import type { HeaderGetter, PropagationContext } from './context.js';

type Headers = http.OutgoingHttpHeaders | readonly string[];
type RequestFn = (...args: unknown[]) => http.ClientRequest;

function getterOf(headers: Headers | undefined): HeaderGetter {
  if (!headers) return () => undefined;
  const map = new Map<string, string>();
  const put = (k: string, v: unknown): void => {
    if (v === undefined) return;
    const s = Array.isArray(v) ? v.map(String).join(',') : String(v);
    const key = k.toLowerCase();
    const prev = map.get(key);
    map.set(key, prev === undefined ? s : `${prev},${s}`);
  };
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) put(String(headers[i]), headers[i + 1]);
  } else {
    for (const [k, v] of Object.entries(headers as http.OutgoingHttpHeaders)) put(k, v);
  }
  return (name) => map.get(name);
}

/** The app's headers with ours added (a new object or array; the app's is not touched). */
export function withHeaders(headers: Headers | undefined, add: ReadonlyMap<string, string>): Headers {
  if (Array.isArray(headers)) {
    const out: string[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const k = String(headers[i]);
      if (!add.has(k.toLowerCase())) out.push(k, headers[i + 1] as string);
    }
    for (const [k, v] of add) out.push(k, v);
    return out;
  }
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries((headers ?? {}) as http.OutgoingHttpHeaders)) if (!add.has(k.toLowerCase())) out[k] = v;
  for (const [k, v] of add) out[k] = v;
  return out;
}

function isOptionsObject(v: unknown): v is { headers?: Headers } {
  return typeof v === 'object' && v !== null && !(v instanceof URL);
}

/**
 * The arguments of an http(s).request / get call with the context's headers in its options;
 * the same array when there is nothing to add.
 */
export function argsWithContext(args: readonly unknown[], ctx: PropagationContext): readonly unknown[] {
  let at: number;
  if (typeof args[0] === 'string' || args[0] instanceof URL) {
    at = 1;
  } else if (isOptionsObject(args[0])) {
    at = 0;
  } else {
    return args;
  }
  const opts = isOptionsObject(args[at]) ? (args[at] as { headers?: Headers }) : undefined;
  const add = outboundHeaders(ctx, getterOf(opts?.headers));
  if (add.size === 0) return args;
  const out = [...args];
  const merged = { ...opts, headers: withHeaders(opts?.headers, add) };
  if (opts) out[at] = merged;
  else out.splice(1, 0, merged); // (url) or (url, cb) → (url, options, cb)
  return out;
}

function wrap(orig: RequestFn): RequestFn {
  return function propagatingRequest(this: unknown, ...args: unknown[]): http.ClientRequest {
    const ctx = currentContext();
    if (!ctx || isEmptyContext(ctx)) return orig.apply(this, args);
    let withCtx: readonly unknown[] = args;
    try {
      withCtx = argsWithContext(args, ctx);
    } catch {
      // never break the app's request over propagation
    }
    return orig.apply(this, withCtx as unknown[]);
  };
}

/** Wrap http.request/get and https.request/get (node's ESM named exports are synced too). */
export function installHttpClients(): void {
  const h = http as unknown as Record<'request' | 'get', RequestFn>;
  const s = https as unknown as Record<'request' | 'get', RequestFn>;
  h.request = wrap(h.request);
  h.get = wrap(h.get);
  s.request = wrap(s.request);
  s.get = wrap(s.get);
  syncBuiltinESMExports();
}
