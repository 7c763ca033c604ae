/**
 * @module proxy/http/downstream
 * The downstream side of an exchange as the request path sees it: the few members of
 * node's IncomingMessage / ServerResponse (HTTP/1.1, the requests node:http serves), the
 * lean HTTP/1.1 server's request and response (`h1-server/`) and the HTTP/2 adapters on
 * node:http2's core API (`h2-downstream.ts`) that the pipeline, the router and local replies
 * use. All three satisfy these interfaces structurally.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** A request: its head, and its body as a readable stream (pausing it stops reading the client). */
export interface DownstreamRequest {
  readonly method?: string | undefined;
  /** Request target as received (origin-form or absolute-form). */
  readonly url?: string | undefined;
  /** Lower-case names; repeated fields joined like node:http (set-cookie as an array). */
  readonly headers: IncomingHttpHeaders;
  /** HTTP/2: the stream ended with its headers (END_STREAM), so there is no body. Absent on
   * HTTP/1.1, where the framing headers tell. */
  readonly endedWithHeaders?: boolean;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'data', listener: (chunk: Buffer) => void): unknown;
  once(event: 'end', listener: () => void): unknown;
  once(event: 'error', listener: (err: Error) => void): unknown;
  pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean | undefined }): T;
  unpipe(destination?: NodeJS.WritableStream): unknown;
  /** Discard the body (what is not read is drained). */
  resume(): unknown;
  destroy(error?: Error): unknown;
}

/** A response: head once, body, trailers; 'close' when it is over (finished or the client went away). */
export interface DownstreamResponse {
  /** writeHead() was called: a status can no longer be chosen. */
  readonly headersSent: boolean;
  setHeader(name: string, value: string | number | readonly string[]): unknown;
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  /** False: wait for 'drain' before writing more. */
  write(chunk: Buffer): boolean;
  end(): unknown;
  end(chunk: Buffer): unknown;
  addTrailers(headers: OutgoingHttpHeaders): void;
  once(event: 'close' | 'drain', listener: () => void): unknown;
  /** Send `100 Continue` (HTTP/1.1 only). */
  writeContinue?(): void;
  /** Abort: the client sees a failed response, not a truncated one. */
  destroy(error?: Error): unknown;
}
