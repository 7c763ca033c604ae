/**
 * @module control/api/client
 * A small typed client of the control plane's REST API (`server.ts`), used by the CLI.
 * Failures are ApiClientError: the server's error (code, message, field errors) or, when the
 * server cannot be reached, code `STRATA_API_UNREACHABLE`.
 */
import type { Resource } from '../../config/resources.js';
import type { FieldError } from '../../errors.js';
import type { DeleteResult, Listing, RegisteredEndpoint, ResourceKey } from '../store/store.js';
import type { ApiErrorBody } from './http.js';
import { FILE_BATCH_MEDIA_TYPE } from './server.js';
import type { ApplyItemResult, StatusReport } from './server.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:15080';

/** The server URL: the given one, else STRATA_SERVER, else the default. */
export function serverUrl(given?: string): string {
  return given || process.env['STRATA_SERVER'] || DEFAULT_SERVER;
}

export interface ApplyResponse {
  revision: number;
  changed: ResourceKey[];
  results: ApplyItemResult[];
}

export class ApiClientError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'ApiClientError';
  }
}

export class ApiClient {
  readonly base: string;

  constructor(base: string) {
    this.base = base.replace(/\/+$/, '');
  }

  /** Apply named files as one batch: all or nothing. */
  apply(files: { source: string; text: string }[]): Promise<ApplyResponse> {
    return this.call('POST', '/api/v1/apply', { body: JSON.stringify({ files }), type: FILE_BATCH_MEDIA_TYPE });
  }

  /** Apply one text (YAML or JSON); `source` names it in errors. */
  applyText(text: string, source?: string): Promise<ApplyResponse> {
    return this.call('POST', '/api/v1/apply', { body: text, type: 'application/yaml', ...(source ? { headers: { 'x-strata-source': source } } : {}) });
  }

  list(kind?: string, namespace?: string): Promise<Listing<Resource>> {
    const q = new URLSearchParams();
    if (kind) q.set('kind', kind);
    if (namespace) q.set('namespace', namespace);
    const qs = q.toString();
    return this.call('GET', `/api/v1/resources${qs ? `?${qs}` : ''}`);
  }

  get(kind: string, namespace: string, name: string): Promise<Resource> {
    return this.call('GET', resourcePath(kind, namespace, name));
  }

  delete(kind: string, namespace: string, name: string): Promise<DeleteResult> {
    return this.call('DELETE', resourcePath(kind, namespace, name));
  }

  register(e: { service: string; address: string; port: number; ttlMs?: number; metadata?: Record<string, unknown> }): Promise<{ id: string }> {
    return this.call('POST', '/api/v1/endpoints', { body: JSON.stringify(e), type: 'application/json' });
  }

  heartbeat(id: string): Promise<{ id: string }> {
    return this.call('POST', `/api/v1/endpoints/${encodeURIComponent(id)}/heartbeat`);
  }

  deregister(id: string): Promise<{ id: string }> {
    return this.call('DELETE', `/api/v1/endpoints/${encodeURIComponent(id)}`);
  }

  listEndpoints(service?: string): Promise<Listing<RegisteredEndpoint>> {
    return this.call('GET', `/api/v1/endpoints${service ? `?service=${encodeURIComponent(service)}` : ''}`);
  }

  /** The control plane's status: served revision, store health and connected xDS clients. */
  status(): Promise<StatusReport> {
    return this.call('GET', '/api/v1/status');
  }

  private async call<T>(method: string, path: string, opts: { body?: string; type?: string; headers?: Record<string, string> } = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { accept: 'application/json', ...(opts.type ? { 'content-type': opts.type } : {}), ...opts.headers },
        ...(opts.body !== undefined ? { body: opts.body } : {}),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const detail = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new ApiClientError('STRATA_API_UNREACHABLE', 0, `cannot reach the control plane at ${this.base}: ${detail}`);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ApiClientError('STRATA_API_BAD_RESPONSE', res.status, `unexpected response from ${this.base} (HTTP ${res.status}): ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = (body as Partial<ApiErrorBody>).error;
      throw new ApiClientError(e?.code ?? `HTTP_${res.status}`, res.status, e?.message ?? `HTTP ${res.status}`, e?.errors ?? []);
    }
    return body as T;
  }
}

function resourcePath(kind: string, namespace: string, name: string): string {
  return `/api/v1/resources/${[kind, namespace, name].map(encodeURIComponent).join('/')}`;
}

/**
 * The kind a user typed (`route`, `routes`, `Route`, `trafficpolicies`…) as registered, or
 * undefined when no kind matches.
 */
export function resolveKind(typed: string, known: readonly string[]): string | undefined {
  const t = typed.toLowerCase();
  return known.find((k) => {
    const l = k.toLowerCase();
    return t === l || t === `${l}s` || (/(s|x|ch|sh)$/.test(l) && t === `${l}es`) || (l.endsWith('y') && t === `${l.slice(0, -1)}ies`);
  });
}
