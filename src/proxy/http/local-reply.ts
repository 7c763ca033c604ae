/**
 * @module proxy/http/local-reply
 * Responses the sidecar makes itself. Every error names its cause in the body and carries a
 * stable code in `x-strata-error`, so an operator never has to guess what a bare 503 meant.
 */
import { Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { ProxyErrorCode } from '../../errors.js';
import type { DownstreamResponse } from './downstream.js';

export function sendLocalReply(
  res: DownstreamResponse,
  status: number,
  body: string,
  code: ProxyErrorCode | undefined,
  extra?: Record<string, string>,
): void {
  if (res.headersSent) {
    // Too late for a status: cut the stream so the client sees a failure, not a truncation.
    destroyResponse(res);
    return;
  }
  const payload = Buffer.from(body);
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': payload.length,
  };
  if (code) headers['x-strata-error'] = code;
  if (extra) for (const k in extra) headers[k] = extra[k] as string;
  try {
    res.writeHead(status, headers);
    res.end(payload);
  } catch {
    destroyResponse(res);
  }
}

export function destroyResponse(res: DownstreamResponse): void {
  if (res instanceof Http2ServerResponse) {
    if (!res.stream.destroyed) res.stream.close(0x2 /* INTERNAL_ERROR */);
  } else {
    // HTTP/1.1: the connection goes (node's ServerResponse destroys its socket, as the lean server's does).
    res.destroy();
  }
}

/** A reply written straight to a socket that has no response object (parse errors, tunnels). */
export function sendRawReply(socket: Duplex, status: number, reason: string, body: string, code: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\nx-strata-error: ${code}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
