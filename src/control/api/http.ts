/**
 * @module control/api/http
 * The small HTTP pieces of the API: the error shape and its stable codes, bounded body
 * reading, JSON responses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FieldError } from '../../errors.js';
import { StoreError } from '../store/store.js';

export type ApiErrorCode =
  | 'STRATA_API_INVALID'
  | 'STRATA_API_NOT_FOUND'
  | 'STRATA_API_METHOD_NOT_ALLOWED'
  | 'STRATA_API_CONFLICT'
  | 'STRATA_API_GONE'
  | 'STRATA_API_BODY_TOO_LARGE'
  | 'STRATA_API_UNSUPPORTED_MEDIA_TYPE'
  | 'STRATA_API_UNAVAILABLE'
  | 'STRATA_API_INTERNAL';

const STATUS: Record<ApiErrorCode, number> = {
  STRATA_API_INVALID: 400,
  STRATA_API_NOT_FOUND: 404,
  STRATA_API_METHOD_NOT_ALLOWED: 405,
  STRATA_API_CONFLICT: 409,
  STRATA_API_GONE: 410,
  STRATA_API_BODY_TOO_LARGE: 413,
  STRATA_API_UNSUPPORTED_MEDIA_TYPE: 415,
  STRATA_API_UNAVAILABLE: 503,
  STRATA_API_INTERNAL: 500,
};

/** The body of every error response. */
export interface ApiErrorBody {
  error: { code: ApiErrorCode; message: string; errors: FieldError[] };
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = STATUS[code];
  }
}

/** Map anything a handler threw to an ApiError. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'STRATA_STORE_INVALID':
        return new ApiError('STRATA_API_INVALID', err.message, err.errors);
      case 'STRATA_STORE_NOT_FOUND':
        return new ApiError('STRATA_API_NOT_FOUND', err.message);
      case 'STRATA_STORE_CONFLICT':
        return new ApiError('STRATA_API_CONFLICT', err.message, err.errors);
      case 'STRATA_STORE_COMPACTED':
        return new ApiError('STRATA_API_GONE', err.message);
      case 'STRATA_STORE_UNAVAILABLE':
      case 'STRATA_STORE_CLOSED':
        return new ApiError('STRATA_API_UNAVAILABLE', `store unavailable: ${err.message}`);
    }
  }
  return new ApiError('STRATA_API_INTERNAL', `internal error: ${err instanceof Error ? err.message : String(err)}`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  const body: ApiErrorBody = { error: { code: err.code, message: err.message, errors: err.errors } };
  sendJson(res, err.status, body, err.headers);
}

/** The media type of a request, lower-cased, without parameters ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Bytes of an over-limit body still read (and discarded) so the client sees the 413. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * Read the body as UTF-8 text of at most `limit` bytes. Over the limit: the rest is drained
 * (up to a bound, then the connection is dropped) and a 413 ApiError is thrown.
 */
export function readText(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = (): ApiError =>
      new ApiError('STRATA_API_BODY_TOO_LARGE', `request body over ${limit} bytes`, [], { connection: 'close' });
    if (Number.isFinite(declared) && declared > DRAIN_LIMIT) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > DRAIN_LIMIT) {
        req.destroy();
        return;
      }
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) return reject(tooLarge());
      try {
        resolve(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
      } catch {
        reject(new ApiError('STRATA_API_INVALID', 'request body is not valid UTF-8'));
      }
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new ApiError('STRATA_API_INVALID', 'request body incomplete'));
    });
  });
}
