/**
 * @module proxy/pool/upstream
 * The connection-pool contract: send one request to one endpoint and report the response,
 * whatever the wire protocol (HTTP/1.1 keep-alive pool or multiplexed HTTP/2 sessions).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { markUpstreamSocket } from '../priority/socket-hook.js';
import type { ClassSocketOptions } from '../priority/socket-hook.js';
import { logger } from '../../util/log.js';

export interface UpstreamRequest {
  method: string;
  path: string;
  authority: string;
  /** Already cleaned for the next hop (no hop-by-hop, no pseudo-headers). */
  headers: OutgoingHttpHeaders;
  /** True when the request has no body (the stream is ended right away). */
  endStream: boolean;
  /** The client sent `Expect: 100-continue` (HTTP/1.1 only). */
  expectContinue?: boolean;
}

/** Why an attempt failed before a response arrived. */
export type UpstreamFailure = 'connect-failure' | 'reset';

export interface UpstreamHandlers {
  onResponse(status: number, headers: IncomingHttpHeaders, body: Readable, trailers: () => IncomingHttpHeaders | undefined): void;
  onError(kind: UpstreamFailure, err: Error): void;
  /** The upstream said 100 Continue. */
  onContinue?(): void;
}

export interface UpstreamCall {
  /** Request body sink; end() it when the body is complete. */
  readonly body: Writable;
  /** Abort the attempt (timeouts, downstream gone). No handler fires after this. */
  abort(): void;
}

export interface ConnectionPool {
  readonly protocol: 'http1' | 'h2';
  request(req: UpstreamRequest, handlers: UpstreamHandlers): UpstreamCall;
  /** Connections open now (for stats and circuit breaking). */
  connections(): number;
  /** Requests waiting for a connection. */
  pending(): number;
  close(): void;
}

const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL', 'STRATA_CONNECT_TIMEOUT']);

export function isConnectError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && CONNECT_ERRORS.has(code);
}

export function connectTimeoutError(ms: number, target: string): Error {
  const err = new Error(`connect timeout after ${ms} ms to ${target}`) as Error & { code: string };
  err.code = 'STRATA_CONNECT_TIMEOUT';
  return err;
}

const log = logger('pool');
/** Targets whose marking failure was logged already (one warning per target and class). */
const markWarned = new Set<string>();

/**
 * Apply a priority class's socket options to a new upstream socket (kernel layer hook). A
 * failure is logged once per target and class and the connection goes on unmarked: the
 * request matters more than its DSCP.
 */
export function markPoolSocket(socket: Socket, options: ClassSocketOptions, target: string): void {
  try {
    markUpstreamSocket(socket, options);
  } catch (err) {
    const key = `${target}|${options.className}`;
    if (markWarned.has(key)) return;
    markWarned.add(key);
    log.warn('cannot mark upstream socket for its priority class', { target, class: options.className, error: (err as Error).message });
  }
}
