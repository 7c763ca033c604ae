/**
 * @module control/api/server
 * The control plane's REST/JSON API on node:http:
 *
 * ```
 * POST   /api/v1/apply                               YAML/JSON text (or a file batch) → { revision, changed, results }
 * GET    /api/v1/resources?kind=&namespace=          list
 * GET    /api/v1/resources/:kind/:namespace/:name    one resource
 * DELETE /api/v1/resources/:kind/:namespace/:name    409 while a Route/TrafficPolicy refers to a Service
 * POST   /api/v1/endpoints                           { service, address, port, ttlMs?, metadata? } → { id }
 * POST   /api/v1/endpoints/:id/heartbeat
 * DELETE /api/v1/endpoints/:id
 * GET    /api/v1/endpoints?service=
 * GET    /api/v1/watch?from=REV                      Server-Sent Events of store events after REV
 * GET    /api/v1/status                              { revision, store: { kind, ok, detail }, xds?: [...] }
 * ```
 *
 * The status route reports the store part alone unless a `status` provider (the ControlPlane,
 * which also knows the connected xDS clients) is given.
 *
 * Errors are `{ error: { code, message, errors: FieldError[] } }` with the status of the code
 * (`http.ts`). Nothing is stored from an apply that has any error.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeResources } from '../../config/decode.js';
import { getKind, kindNames, originOf } from '../../config/resources.js';
import type { Resource } from '../../config/resources.js';
import type { FieldError } from '../../errors.js';
import type { Store, StoreEvent } from '../store/store.js';
import { ApiError, mediaType, readText, sendError, sendJson, toApiError } from './http.js';
import { checkBatch, referrersOf } from './references.js';

export const DEFAULT_API_PORT = 15080;
/** The largest request body accepted. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
export const DEFAULT_ENDPOINT_TTL_MS = 15_000;
/** The media type of a batch of named files: `{ files: [{ source, text }] }`, applied as one. */
export const FILE_BATCH_MEDIA_TYPE = 'application/vnd.strata.files+json';

const TEXT_MEDIA_TYPES = new Set(['', 'application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml', 'application/json', 'text/plain']);
const JSON_MEDIA_TYPES = new Set(['', 'application/json']);
const SSE_KEEPALIVE_MS = 15_000;

export interface ApiServerOptions {
  store: Store;
  /** The full `GET /api/v1/status` report; without it the route reports the store part only. */
  status?: () => Promise<StatusReport>;
}

/** The store as `GET /api/v1/status` reports it. */
export interface StoreStatus {
  kind: string;
  ok: boolean;
  detail: string;
}

/** One xDS type of a connected client, as `GET /api/v1/status` reports it. */
export interface XdsTypeStatusReport {
  typeUrl: string;
  ackedVersion: string;
  sentVersion: string;
  lastNack?: string;
}

/** One connected xDS client, as `GET /api/v1/status` reports it (times as ISO 8601). */
export interface XdsClientStatusReport {
  nodeId: string;
  workload: string;
  group: string;
  kind: 'sotw' | 'delta';
  peer: string;
  connectedSince: string;
  types: XdsTypeStatusReport[];
  lastNack?: { typeUrl: string; reason: string; at: string };
}

export interface StatusReport {
  /** The store revision being served (the store's current revision without a provider). */
  revision: number;
  store: StoreStatus;
  /** Connected xDS clients; absent when the server has no status provider. */
  xds?: XdsClientStatusReport[];
}

/** A short name of a store implementation: `SqliteStore` → `sqlite`. */
export function storeKindOf(store: Store): string {
  const name = (store as object).constructor?.name ?? '';
  return name.replace(/Store$/, '').toLowerCase() || 'unknown';
}

/** The store's kind and health; a failing health check reads as not ok. */
export async function storeStatus(store: Store): Promise<StoreStatus> {
  const kind = storeKindOf(store);
  try {
    const h = await store.health();
    return { kind, ok: h.ok, detail: h.detail };
  } catch (err) {
    return { kind, ok: false, detail: (err as Error).message };
  }
}

/** What an apply reports for each submitted resource. */
export interface ApplyItemResult {
  kind: string;
  namespace: string;
  name: string;
  source: string;
  status: 'configured' | 'unchanged';
}

type Params = Record<string, string>;
type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => Promise<void>;

interface Route {
  pattern: RegExp;
  names: string[];
  methods: Partial<Record<string, Handler>>;
}

export class ApiServer {
  private readonly store: Store;
  private readonly statusProvider: (() => Promise<StatusReport>) | undefined;
  private readonly server: Server;
  private readonly routes: Route[];
  private readonly streams = new Set<ServerResponse>();

  constructor(opts: ApiServerOptions) {
    this.store = opts.store;
    this.statusProvider = opts.status;
    this.routes = [
      route('/api/v1/apply', { POST: (q, s) => this.apply(q, s) }),
      route('/api/v1/resources', { GET: (_q, s, _p, u) => this.list(s, u) }),
      route('/api/v1/resources/:kind/:namespace/:name', {
        GET: (_q, s, p) => this.get(s, p),
        DELETE: (_q, s, p) => this.delete(s, p),
      }),
      route('/api/v1/endpoints', { GET: (_q, s, _p, u) => this.listEndpoints(s, u), POST: (q, s) => this.register(q, s) }),
      route('/api/v1/endpoints/:id/heartbeat', { POST: (_q, s, p) => this.heartbeat(s, p) }),
      route('/api/v1/endpoints/:id', { DELETE: (_q, s, p) => this.deregister(s, p) }),
      route('/api/v1/watch', { GET: (q, s, _p, u) => this.watch(q, s, u) }),
      route('/api/v1/status', { GET: (_q, s) => this.status(s) }),
    ];
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Listen; resolves with the bound port (useful with port 0). */
  listen(address: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, address, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stop accepting, end watch streams and close every connection. */
  close(): Promise<void> {
    for (const s of this.streams) s.end();
    this.streams.clear();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ---- dispatch ---------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://api.invalid');
      } catch {
        throw new ApiError('STRATA_API_INVALID', `malformed request target ${JSON.stringify(req.url)}`);
      }
      const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
      for (const r of this.routes) {
        const m = r.pattern.exec(path);
        if (!m) continue;
        const handler = r.methods[req.method ?? ''];
        if (!handler) {
          const allow = Object.keys(r.methods).join(', ');
          throw new ApiError('STRATA_API_METHOD_NOT_ALLOWED', `${req.method} not allowed on ${path}; allowed: ${allow}`, [], { allow });
        }
        const params: Params = {};
        r.names.forEach((n, i) => {
          try {
            params[n] = decodeURIComponent(m[i + 1] ?? '');
          } catch {
            throw new ApiError('STRATA_API_INVALID', `malformed path segment ${JSON.stringify(m[i + 1])}`);
          }
        });
        await handler(req, res, params, url);
        return;
      }
      throw new ApiError('STRATA_API_NOT_FOUND', `no API at ${path}`);
    } catch (err) {
      if (!req.complete) req.resume();
      sendError(res, toApiError(err));
    }
  }

  // ---- resources --------------------------------------------------------------------------

  private async apply(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = mediaType(req);
    const isBatch = type === FILE_BATCH_MEDIA_TYPE;
    if (!isBatch && !TEXT_MEDIA_TYPES.has(type)) {
      throw new ApiError('STRATA_API_UNSUPPORTED_MEDIA_TYPE', `content-type ${type} not accepted; send YAML or JSON text (application/yaml, application/json) or ${FILE_BATCH_MEDIA_TYPE}`);
    }
    const text = await readText(req, MAX_BODY_BYTES);
    const header = req.headers['x-strata-source'];
    const files = isBatch ? parseFileBatch(text) : [{ source: typeof header === 'string' && header !== '' ? header : 'request', text }];

    const errors: FieldError[] = [];
    const submitted: Resource[] = [];
    for (const f of files) {
      const d = decodeResources(f.text, f.source);
      if (d.ok) submitted.push(...d.value);
      else errors.push(...d.errors);
    }
    const stored = await this.store.list();
    errors.push(...checkBatch(submitted, stored.items));
    if (errors.length > 0) {
      throw new ApiError('STRATA_API_INVALID', `${errors.length} error(s); nothing applied`, errors);
    }
    const result = await this.store.apply(submitted);
    const changed = new Set(result.changed.map((k) => `${k.kind}/${k.namespace}/${k.name}`));
    const results: ApplyItemResult[] = submitted.map((r) => ({
      kind: r.kind,
      namespace: r.metadata.namespace,
      name: r.metadata.name,
      source: originOf(r)?.source ?? '',
      status: changed.has(`${r.kind}/${r.metadata.namespace}/${r.metadata.name}`) ? 'configured' : 'unchanged',
    }));
    sendJson(res, 200, { revision: result.revision, changed: result.changed, results });
  }

  private async list(res: ServerResponse, url: URL): Promise<void> {
    const kind = url.searchParams.get('kind') || undefined;
    const namespace = url.searchParams.get('namespace') || undefined;
    if (kind !== undefined) checkKind(kind);
    const listing = await this.store.list(kind, namespace);
    sendJson(res, 200, listing);
  }

  private async get(res: ServerResponse, p: Params): Promise<void> {
    const { kind, namespace, name } = keyParams(p);
    const r = await this.store.get(kind, namespace, name);
    if (!r) throw new ApiError('STRATA_API_NOT_FOUND', `${kind}/${name} not found in namespace ${namespace}`);
    sendJson(res, 200, r);
  }

  private async delete(res: ServerResponse, p: Params): Promise<void> {
    const { kind, namespace, name } = keyParams(p);
    if (kind === 'Service') {
      const referrers = referrersOf(namespace, name, (await this.store.list(undefined, namespace)).items);
      if (referrers.length > 0) {
        const who = [...new Set(referrers.map((e) => e.resource))].join(', ');
        throw new ApiError('STRATA_API_CONFLICT', `Service/${name} is still referred to by ${who}; delete or change them first`, referrers);
      }
    }
    const result = await this.store.delete(kind, namespace, name);
    if (result.deleted.length === 0) throw new ApiError('STRATA_API_NOT_FOUND', `${kind}/${name} not found in namespace ${namespace}`);
    sendJson(res, 200, result);
  }

  // ---- endpoints --------------------------------------------------------------------------

  private async register(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new ApiError('STRATA_API_INVALID', 'expected a JSON object { service, address, port, ttlMs? }', [{ path: '', message: 'expected an object' }]);
    }
    const b = body as Record<string, unknown>;
    const errors: FieldError[] = [];
    for (const k of Object.keys(b)) {
      if (!['service', 'address', 'port', 'ttlMs', 'metadata'].includes(k)) errors.push({ path: k, message: `unknown field ${JSON.stringify(k)}` });
    }
    if (typeof b['service'] !== 'string') errors.push({ path: 'service', message: 'expected a string' });
    if (typeof b['address'] !== 'string') errors.push({ path: 'address', message: 'expected a string' });
    if (typeof b['port'] !== 'number') errors.push({ path: 'port', message: 'expected a number' });
    if (b['ttlMs'] !== undefined && typeof b['ttlMs'] !== 'number') errors.push({ path: 'ttlMs', message: 'expected a number' });
    const metadata = b['metadata'];
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
      errors.push({ path: 'metadata', message: 'expected an object' });
    }
    if (errors.length > 0) throw new ApiError('STRATA_API_INVALID', 'invalid endpoint registration', errors);
    const id = await this.store.register(
      {
        service: b['service'] as string,
        address: b['address'] as string,
        port: b['port'] as number,
        ...(metadata !== undefined ? { metadata: metadata as Record<string, unknown> } : {}),
      },
      (b['ttlMs'] as number | undefined) ?? DEFAULT_ENDPOINT_TTL_MS,
    );
    sendJson(res, 201, { id });
  }

  private async heartbeat(res: ServerResponse, p: Params): Promise<void> {
    await this.store.heartbeat(p['id'] ?? '');
    sendJson(res, 200, { id: p['id'] });
  }

  private async deregister(res: ServerResponse, p: Params): Promise<void> {
    await this.store.deregister(p['id'] ?? '');
    sendJson(res, 200, { id: p['id'] });
  }

  private async listEndpoints(res: ServerResponse, url: URL): Promise<void> {
    sendJson(res, 200, await this.store.listEndpoints(url.searchParams.get('service') || undefined));
  }

  // ---- status -----------------------------------------------------------------------------

  private async status(res: ServerResponse): Promise<void> {
    if (this.statusProvider) {
      sendJson(res, 200, await this.statusProvider());
      return;
    }
    const [revision, store] = await Promise.all([this.store.revision(), storeStatus(this.store)]);
    const report: StatusReport = { revision, store };
    sendJson(res, 200, report);
  }

  // ---- watch ------------------------------------------------------------------------------

  private async watch(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const raw = url.searchParams.get('from') ?? req.headers['last-event-id'];
    let from: number;
    if (raw === undefined || raw === null || raw === '') from = await this.store.revision();
    else {
      from = Number(raw);
      if (!Number.isSafeInteger(from) || from < 0) {
        throw new ApiError('STRATA_API_INVALID', `from must be a revision (an integer ≥ 0), got ${JSON.stringify(raw)}`, [{ path: 'from', message: 'expected an integer ≥ 0' }]);
      }
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(`: watching from revision ${from}\n\n`);
    this.streams.add(res);
    const keepalive = setInterval(() => res.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
    keepalive.unref();
    const handle = this.store.watch(
      from,
      (e: StoreEvent) => res.write(`id: ${e.revision}\nevent: ${e.target}.${e.type}\ndata: ${JSON.stringify(e)}\n\n`),
      (err) => {
        const e = toApiError(err);
        res.write(`event: error\ndata: ${JSON.stringify({ error: { code: e.code, message: e.message, errors: [] } })}\n\n`);
        res.end();
      },
    );
    res.on('close', () => {
      clearInterval(keepalive);
      handle.close();
      this.streams.delete(res);
    });
  }
}

// ---- helpers ------------------------------------------------------------------------------

function route(template: string, methods: Route['methods']): Route {
  const names: string[] = [];
  const source = template.replace(/:([a-z]+)/g, (_m, n: string) => {
    names.push(n);
    return '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}$`), names, methods };
}

function checkKind(kind: string): void {
  if (!getKind(kind)) {
    throw new ApiError('STRATA_API_INVALID', `unknown kind ${JSON.stringify(kind)}; known kinds: ${kindNames().join(', ')}`, [{ path: 'kind', message: `unknown kind ${JSON.stringify(kind)}` }]);
  }
}

function keyParams(p: Params): { kind: string; namespace: string; name: string } {
  const kind = p['kind'] ?? '';
  checkKind(kind);
  return { kind, namespace: p['namespace'] ?? '', name: p['name'] ?? '' };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = mediaType(req);
  if (!JSON_MEDIA_TYPES.has(type)) throw new ApiError('STRATA_API_UNSUPPORTED_MEDIA_TYPE', `content-type ${type} not accepted; send application/json`);
  const text = await readText(req, MAX_BODY_BYTES);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError('STRATA_API_INVALID', `malformed JSON: ${(err as Error).message}`);
  }
}

/** `{ files: [{ source, text }] }` → the files, or a 400 naming the bad field. */
function parseFileBatch(text: string): { source: string; text: string }[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ApiError('STRATA_API_INVALID', `malformed JSON: ${(err as Error).message}`);
  }
  const files = (body as { files?: unknown } | null)?.files;
  if (!Array.isArray(files)) throw new ApiError('STRATA_API_INVALID', 'expected { files: [{ source, text }] }', [{ path: 'files', message: 'expected an array' }]);
  const errors: FieldError[] = [];
  files.forEach((f: unknown, i) => {
    const file = f as { source?: unknown; text?: unknown } | null;
    if (typeof file?.source !== 'string') errors.push({ path: `files[${i}].source`, message: 'expected a string' });
    if (typeof file?.text !== 'string') errors.push({ path: `files[${i}].text`, message: 'expected a string' });
  });
  if (errors.length > 0) throw new ApiError('STRATA_API_INVALID', 'invalid file batch', errors);
  return files as { source: string; text: string }[];
}
