/**
 * @module demo/priority/app
 * The mixed-workload demo application of `strata experiment priority`: one Node program, five
 * roles. It is an ordinary app: it knows service URLs and a broker URL from its environment and
 * nothing of Strata. Run it as `node --import strata/propagate app.js ROLE` (or the absolute path
 * of dist/src/propagate/register.js) so the class of each inbound request reaches the HTTP
 * calls it makes. amqplib is a devDependency of Strata: the demo runs from the repository.
 *
 *   frontend  GET /item?id=N  → catalog GET /item/N  ∥  search GET /lookup?id=N      (interactive)
 *             POST /batch     → catalog POST /batch  ∥  search POST /index (the body) (batch)
 *   catalog   a service with CAPACITY slots; GET holds one WORK_MS[0] ms, POST WORK_MS[1] ms
 *   search    GET: publishes a lookup job to QUEUE (RabbitMQ); POST: splits the body into INDEX_CHUNKS
 *             index jobs; answers when the worker has replied to each
 *   worker    consumes QUEUE (prefetch CAPACITY), works, writes to / reads from the store, replies
 *   store     a document store with CAPACITY slots; GET / PUT /doc/ID
 *
 * Like tracing instrumentation, search copies the inbound request's context headers
 * (traceparent, tracestate, baggage, x-strata-priority) into each message's headers, and the
 * worker copies them from the message onto its store call. Environment: PORT, HOST, CAPACITY,
 * WORK_MS ("interactive,batch" ms; the worker's batch time is per index job), CATALOG_URL,
 * SEARCH_URL, STORE_URL, AMQP_URL, QUEUE, INDEX_CHUNKS (default 1), REPLY_TIMEOUT_MS,
 * DEMO_DEBUG=1 (worker: a line per job). Prints `listening PORT` (HTTP roles) or
 * `consuming QUEUE` (worker).
 */
import http from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import type { Channel, ConsumeMessage } from 'amqplib';
import { Capacity, sleep } from './capacity.js';

const CONTEXT_HEADERS = ['traceparent', 'tracestate', 'baggage', 'x-strata-priority'] as const;

const env = process.env;
const role = process.argv[2] ?? env['ROLE'] ?? '';
const port = Number(env['PORT'] ?? 0);
const host = env['HOST'] ?? '127.0.0.1';
const capacity = new Capacity(Number(env['CAPACITY'] ?? 0));
const [interactiveMs, batchMs] = (env['WORK_MS'] ?? '1,10').split(',').map(Number) as [number, number];
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const served = { interactive: 0, batch: 0, failed: 0 };

const debugOn = env['DEMO_DEBUG'] === '1';
function debug(msg: string): void {
  if (debugOn) process.stderr.write(`${new Date().toISOString()} ${role}: ${msg}\n`);
}

function need(name: string): string {
  const v = env[name];
  if (!v) throw new Error(`${role}: ${name} must be set`);
  return v;
}

interface Reply {
  status: number;
  body: Buffer;
}

/** One HTTP call (keep-alive); rejects only on network errors. */
function call(url: string, method: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const bodyHeaders = body && { 'content-type': 'application/octet-stream', 'content-length': String(body.length) };
    const req = http.request(url, { method, agent, headers: { ...headers, ...bodyHeaders } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout calling ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function contextOf(headers: IncomingHttpHeaders | Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of CONTEXT_HEADERS) {
    const v = headers?.[h];
    if (typeof v === 'string') out[h] = v;
    else if (Buffer.isBuffer(v)) out[h] = v.toString();
  }
  return out;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

function serve(handler: Handler): void {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname === '/healthz') return send(res, 200, { role, ...served, capacityQueued: capacity.queued });
    handler(req, res, url).catch((err: unknown) => {
      served.failed += 1;
      if (!res.headersSent) send(res, 502, { role, error: (err as Error).message });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, host, () => {
    const a = server.address();
    process.stdout.write(`listening ${typeof a === 'object' && a ? a.port : port}\n`);
  });
}

/** Answer with the first failing status (503 wins: the caller may retry later), else 200. */
function combine(res: ServerResponse, parts: Record<string, Reply>): void {
  const statuses = Object.values(parts).map((p) => p.status);
  const bad = statuses.filter((s) => s < 200 || s >= 300);
  const status = bad.length === 0 ? 200 : bad.includes(503) ? 503 : 502;
  send(res, status, { role, calls: Object.fromEntries(Object.entries(parts).map(([k, p]) => [k, p.status])) });
}

async function frontend(): Promise<void> {
  const catalog = need('CATALOG_URL');
  const search = need('SEARCH_URL');
  serve(async (req, res, url) => {
    if (req.method === 'GET' && url.pathname === '/item') {
      const id = url.searchParams.get('id') ?? '1';
      const [c, s] = await Promise.all([call(`${catalog}/item/${id}`, 'GET'), call(`${search}/lookup?id=${id}`, 'GET')]);
      served.interactive += 1;
      return combine(res, { catalog: c, search: s });
    }
    if (req.method === 'POST' && url.pathname === '/batch') {
      const body = await readBody(req);
      const summary = Buffer.from(JSON.stringify({ items: Math.ceil(body.length / 1024) }));
      const [c, s] = await Promise.all([call(`${catalog}/batch`, 'POST', summary), call(`${search}/index`, 'POST', body)]);
      served.batch += 1;
      return combine(res, { catalog: c, search: s });
    }
    send(res, 404, { role, error: `no route for ${req.method} ${url.pathname}` });
  });
}

/** A service whose cost is its capacity: GET is interactive work, anything else batch work. */
function workService(): void {
  serve(async (req, res, url) => {
    const batch = req.method !== 'GET';
    if (batch) await readBody(req);
    await capacity.work(batch ? batchMs : interactiveMs);
    served[batch ? 'batch' : 'interactive'] += 1;
    send(res, 200, { role, path: url.pathname });
  });
}

async function openChannel(): Promise<Channel> {
  const conn = await amqp.connect(need('AMQP_URL'), { noDelay: true });
  conn.on('error', (err: Error) => process.stderr.write(`${role}: broker connection error: ${err.message}\n`));
  conn.on('close', () => {
    process.stderr.write(`${role}: broker connection closed\n`);
    process.exit(1);
  });
  return conn.createChannel();
}

async function search(): Promise<void> {
  const queue = need('QUEUE');
  const timeoutMs = Number(env['REPLY_TIMEOUT_MS'] ?? 30_000);
  const chunks = Math.max(1, Number(env['INDEX_CHUNKS'] ?? 1));
  const ch = await openChannel();
  await ch.assertQueue(queue, { durable: false });
  const replies = await ch.assertQueue('', { exclusive: true, autoDelete: true });
  const pending = new Map<string, (m: ConsumeMessage) => void>();
  await ch.consume(replies.queue, (m) => {
    if (!m) return;
    const id = m.properties.correlationId as string | undefined;
    const done = id === undefined ? undefined : pending.get(id);
    if (done && id !== undefined) {
      pending.delete(id);
      done(m);
    }
  }, { noAck: true });
  const job = (kind: string, body: Buffer, context: Record<string, string>): Promise<ConsumeMessage> => {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`no reply to job ${kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      ch.sendToQueue(queue, body, { correlationId: id, replyTo: replies.queue, headers: { ...context, kind } });
    });
  };
  serve(async (req, res, url) => {
    const context = contextOf(req.headers);
    if (req.method === 'GET' && url.pathname === '/lookup') {
      await job('lookup', Buffer.from(url.searchParams.get('id') ?? '1'), context);
      served.interactive += 1;
      return send(res, 200, { role, job: 'lookup' });
    }
    if (req.method === 'POST' && url.pathname === '/index') {
      const body = await readBody(req);
      const size = Math.ceil(body.length / chunks);
      await Promise.all(Array.from({ length: chunks }, (_, i) => job('index', body.subarray(i * size, (i + 1) * size), context)));
      served.batch += 1;
      return send(res, 200, { role, job: 'index', bytes: body.length });
    }
    send(res, 404, { role, error: `no route for ${req.method} ${url.pathname}` });
  });
}

async function worker(): Promise<void> {
  const queue = need('QUEUE');
  const store = need('STORE_URL');
  const ch = await openChannel();
  await ch.assertQueue(queue, { durable: false });
  await ch.prefetch(Math.max(1, capacity.slots));
  await ch.consume(queue, (m) => {
    if (!m) return;
    const headers = (m.properties.headers ?? {}) as Record<string, unknown>;
    const batch = headers['kind'] === 'index';
    const context = contextOf(headers);
    const id = randomUUID();
    debug(`got ${m.fields.deliveryTag} ${String(headers['kind'])}`);
    void (async () => {
      let ok = true;
      try {
        await sleep(batch ? batchMs : interactiveMs);
        const r = batch ? await call(`${store}/doc/${id}`, 'PUT', m.content, context) : await call(`${store}/doc/${m.content.toString()}`, 'GET', undefined, context);
        ok = r.status >= 200 && r.status < 300;
      } catch {
        ok = false;
      }
      debug(`done ${m.fields.deliveryTag} ${ok}`);
      served[ok ? (batch ? 'batch' : 'interactive') : 'failed'] += 1;
      const replyTo = m.properties.replyTo as string | undefined;
      if (replyTo) ch.sendToQueue(replyTo, Buffer.from(ok ? 'ok' : 'failed'), { correlationId: m.properties.correlationId as string, headers: context });
      ch.ack(m);
    })();
  });
  process.stdout.write(`consuming ${queue}\n`);
}

async function main(): Promise<void> {
  switch (role) {
    case 'frontend':
      return frontend();
    case 'catalog':
    case 'store':
      return workService();
    case 'search':
      return search();
    case 'worker':
      return worker();
    default:
      throw new Error(`unknown role '${role}': frontend | catalog | search | worker | store`);
  }
}

process.on('SIGTERM', () => process.exit(0));
main().catch((err: unknown) => {
  process.stderr.write(`${role}: ${(err as Error).message}\n`);
  process.exit(1);
});
