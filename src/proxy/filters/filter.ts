/**
 * @module proxy/filters/filter
 * The HTTP filter contract, shaped like Envoy's: a filter sees the request side
 * (onRequestHeaders) and the response side (onResponseHeaders). The request side returns
 * an explicit status: 'continue' runs the next filter; 'stop' pauses the chain until the
 * filter calls cb.resume(), or ends it if the filter called cb.respond() (a local reply).
 * The router is the terminal stage after the chain. Config is decoded and built once
 * (shared, read-only); newStream() makes the per-request instance.
 */
import type { Decoded, ProxyErrorCode } from '../../errors.js';

export type FilterStatus = 'continue' | 'stop';

/** Lower-case header names → values, as Node gives them. */
export type Headers = Record<string, string | string[] | undefined>;

export interface RequestHead {
  method: string;
  /** Host/:authority as received. */
  authority: string;
  /** Path + query. Filters may rewrite it. */
  path: string;
  headers: Headers;
}

export interface ResponseHead {
  status: number;
  headers: Headers;
}

export interface FilterCallbacks {
  /** End the chain with a local reply; the request is not forwarded. */
  respond(status: number, body: string, headers?: Record<string, string>, code?: ProxyErrorCode): void;
  /** Resume a chain paused with 'stop'. */
  resume(): void;
  /** Milliseconds clock (performance.now based) for token buckets, delays… */
  now(): number;
  /** Route and service names, for stats and logs. */
  readonly routeName: string;
  readonly serviceName: string;
}

export interface HttpFilter {
  onRequestHeaders?(req: RequestHead, cb: FilterCallbacks): FilterStatus;
  /** Response side: may mutate status/headers; always continues. */
  onResponseHeaders?(res: ResponseHead, req: RequestHead): void;
}

export interface FilterFactory<C = unknown> {
  readonly name: string;
  /** Validate raw config; every error carries its field path under `path`. */
  decode(raw: unknown, path: string): Decoded<C>;
  /** Build shared state once per config; returns the per-stream constructor. */
  build(config: C): () => HttpFilter;
}
