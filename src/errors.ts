/**
 * @module errors
 * Stable error codes and the field-path error shape that every decoder returns.
 */

/** One validation problem, located by a field path such as `spec.rules[2].match.path.regex`. */
export interface FieldError {
  /** Where the value came from: a file path, `xds`, `cli`… (optional for pure decoders). */
  source?: string;
  /** `Kind/name` of the resource, when known. */
  resource?: string;
  /** Dotted/indexed path to the offending field inside the resource. */
  path: string;
  message: string;
}

export function formatFieldError(e: FieldError): string {
  const where = [e.source, e.resource].filter(Boolean).join(': ');
  return `${where ? `${where}: ` : ''}${e.path || '(root)'}: ${e.message}`;
}

/** A typed result for expected outcomes: either a value or every error found. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
export const fail = <T = never>(errors: FieldError[]): Decoded<T> => ({ ok: false, errors });

/** Stable codes for errors the data plane reports to clients (in `x-strata-error` and the body). */
export type ProxyErrorCode =
  | 'STRATA_BAD_REQUEST'
  | 'STRATA_HEADERS_TOO_LARGE'
  | 'STRATA_BODY_TOO_LARGE'
  | 'STRATA_HEADER_TIMEOUT'
  | 'STRATA_NO_ROUTE'
  | 'STRATA_NO_HEALTHY_UPSTREAM'
  | 'STRATA_UPSTREAM_CONNECT_FAILED'
  | 'STRATA_UPSTREAM_RESET'
  | 'STRATA_UPSTREAM_TIMEOUT'
  | 'STRATA_OVERFLOW'
  | 'STRATA_RATE_LIMITED'
  | 'STRATA_FAULT_ABORT'
  | 'STRATA_DRAINING'
  /** Request priority: shed by admission (its class's queue was full, or a higher class took its place). */
  | 'STRATA_SHED'
  /** Request priority: waited longer than queueTimeoutMs for admission. */
  | 'STRATA_QUEUE_TIMEOUT';

export class ProxyError extends Error {
  constructor(
    readonly code: ProxyErrorCode,
    readonly status: number,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'ProxyError';
  }
}

export class ConfigError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid configuration:\n  ${errors.map(formatFieldError).join('\n  ')}`);
    this.name = 'ConfigError';
  }
}
