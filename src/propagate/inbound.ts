/**
 * @module propagate/inbound
 * The server side: `emit` of the http, https and http2 server prototypes is wrapped so that
 * the listeners of every request event run inside `contextStorage.run(ctx, …)` with the context
 * extracted from that request's headers. Wrapping the prototype covers `http.createServer(fn)`,
 * `new http.Server()`, listeners added later and frameworks (express, koa, fastify…) that
 * hand node a server listener. Each request gets its own context (an empty one when it carries
 * nothing), so nothing leaks from the connection or from a previous request on it.
 *
 * The request and response objects get their own `emit` bound to the context too: their
 * events ('data', 'end', 'finish', 'close') are emitted from the socket, outside the handler's
 * async context, and a handler that reads the body and calls downstream from `req.on('end')`
 * (body parsers, express middleware) must still see its request's context.
 */
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { contextStorage, extractContext } from './context.js';
import type { PropagationContext } from './context.js';

type Emit = EventEmitter['emit'];

/** Events whose first argument is an inbound request (http/https, http2 compat). */
const REQUEST_EVENTS = new Set(['request', 'checkContinue', 'checkExpectation', 'upgrade', 'connect']);
/** http2 core API: 'stream' (stream, headers). */
const STREAM_EVENT = 'stream';

const wrapped = Symbol.for('strata.propagate.emit');

function bindEmitter(emitter: unknown, ctx: PropagationContext): void {
  if (typeof emitter !== 'object' || emitter === null) return;
  const e = emitter as EventEmitter;
  if (typeof e.emit !== 'function') return;
  const orig = e.emit;
  e.emit = function boundEmit(this: EventEmitter, ...args: Parameters<Emit>): boolean {
    return contextStorage.run(ctx, () => orig.apply(this, args));
  };
}

function headersOf(req: unknown): Record<string, string | string[] | undefined> | undefined {
  if (typeof req !== 'object' || req === null) return undefined;
  const h = (req as { headers?: unknown }).headers;
  return typeof h === 'object' && h !== null ? (h as Record<string, string | string[] | undefined>) : undefined;
}

/** Wrap `emit` of one server prototype (once). */
export function wrapServerEmit(proto: object): void {
  const p = proto as { emit: Emit; [wrapped]?: true };
  if (Object.prototype.hasOwnProperty.call(p, wrapped)) return;
  const orig = p.emit;
  Object.defineProperty(p, 'emit', {
    configurable: true,
    writable: true,
    value: function propagatingEmit(this: EventEmitter, event: string | symbol, ...args: unknown[]): boolean {
      if (event === STREAM_EVENT && typeof args[1] === 'object' && args[1] !== null) {
        const ctx = extractContext(args[1] as Record<string, string | string[] | undefined>);
        bindEmitter(args[0], ctx);
        return contextStorage.run(ctx, () => orig.call(this, event, ...args));
      }
      if (typeof event !== 'string' || !REQUEST_EVENTS.has(event)) return orig.call(this, event, ...args);
      const headers = headersOf(args[0]);
      if (!headers) return orig.call(this, event, ...args);
      const ctx = extractContext(headers);
      bindEmitter(args[0], ctx);
      if (event === 'request' || event === 'checkContinue' || event === 'checkExpectation') bindEmitter(args[1], ctx);
      return contextStorage.run(ctx, () => orig.call(this, event, ...args));
    },
  });
  Object.defineProperty(p, wrapped, { value: true });
}

/** Wrap the http, https and http2 servers (core 'stream' and compat 'request' events). */
export function installServers(): void {
  wrapServerEmit(http.Server.prototype);
  wrapServerEmit(https.Server.prototype);
  // node:http2 does not export its server classes: take the prototypes from unstarted instances.
  const plain = http2.createServer();
  wrapServerEmit(Object.getPrototypeOf(plain) as object);
  const secure = http2.createSecureServer();
  wrapServerEmit(Object.getPrototypeOf(secure) as object);
}
