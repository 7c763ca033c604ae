/**
 * @module proxy/http/pipeline
 * The HTTP request path of a sidecar, the same for HTTP/1.1 and HTTP/2 downstreams:
 *   listener role → virtual host → route → [priority: classify + mark] → filter chain
 *   (request side) → router stage (cluster → [priority: admission] → balancer → pool of the
 *   class) → response filters → client.
 * Without priority configured (host.priority() undefined) the bracketed steps cost nothing.
 * With it, inbound requests handed to the app are counted by class while they last, and an
 * outbound request without a class takes the class they all share (priority/infer.ts).
 */
import type { ProxyErrorCode } from '../../errors.js';
import type { Limits, RouteAction } from '../../config/snapshot.js';
import type { Cluster, ClusterManager, PoolClass } from '../cluster/cluster.js';
import type { FilterCallbacks, HttpFilter, RequestHead } from '../filters/filter.js';
import type { CompiledRoute } from '../router/route-table.js';
import { RouteTable, pickBackend, rewritePath } from '../router/route-table.js';
import { forward } from '../router/forward.js';
import type { Runtime } from '../runtime.js';
import type { ProxyMetrics } from '../../stats/metrics.js';
import type { AdmissionController, ShedReason } from '../priority/admission.js';
import type { PriorityState } from '../priority/state.js';
import { hostOnly, splitAbsoluteForm } from './headers.js';
import type { DownstreamRequest, DownstreamResponse } from './downstream.js';
import { sendLocalReply } from './local-reply.js';

export type { DownstreamRequest, DownstreamResponse } from './downstream.js';

/** What a listener is for; decides how a request finds its virtual host. */
export type ListenerRole =
  | { kind: 'outbound-proxy' }
  | { kind: 'outbound-port'; service: string }
  | { kind: 'inbound' }
  /** Ingress from outside the mesh: routed like the outbound proxy; a class the client sent is not trusted. */
  | { kind: 'gateway'; defaultService?: string | undefined };

export interface PipelineHost {
  runtime(): Runtime;
  readonly clusters: ClusterManager;
  readonly metrics: ProxyMetrics;
  limits(): Limits;
  draining(): boolean;
  /** In-flight accounting for graceful drain. */
  requestStarted(): void;
  requestFinished(): void;
  /**
   * On-demand discovery: ask the control plane for a service this sidecar does not know.
   * Resolves to whether it became known; undefined when it cannot be asked for.
   */
  discover?(name: string): Promise<boolean> | undefined;
  /** Request priority of the running config; undefined when none is configured. */
  priority?(): PriorityState | undefined;
}

const NO_FILTERS: readonly HttpFilter[] = [];

/** Bodies up to this size are buffered when the route retries, so a retry can resend them. */
const RETRY_BUFFER_BYTES = 64 * 1024;

export function handleRequest(host: PipelineHost, role: ListenerRole, req: DownstreamRequest, res: DownstreamResponse, expectContinue = false): void {
  const start = performance.now();
  const rt = host.runtime();
  const limits = host.limits();
  const direction = role.kind === 'inbound' ? 'inbound' : 'outbound';
  let destination = '-';
  let completed = false;
  /** The request's priority class name once classified (undefined: priority off, or not classified yet). */
  let className: string | undefined;
  host.requestStarted();
  const done = (status: number): void => {
    if (completed) return;
    completed = true;
    const seconds = (performance.now() - start) / 1000;
    host.metrics.request(direction, destination, status, seconds);
    if (className !== undefined) host.metrics.priorityRequest(direction, className, seconds);
    host.requestFinished();
  };
  const reply = (status: number, body: string, code: ProxyErrorCode | undefined, extra?: Record<string, string>): void => {
    if (code) host.metrics.localReply(code);
    sendLocalReply(res, status, body, code, extra);
  };
  const fail = (status: number, body: string, code: ProxyErrorCode, extra?: Record<string, string>): void => {
    reply(status, body, code, extra);
    req.resume();
    done(status);
  };

  // ── request line and authority ────────────────────────────────────────────────
  const method = req.method ?? 'GET';
  const headers = req.headers;
  let path = req.url ?? '/';
  let authority = (headers[':authority'] as string | undefined) ?? headers.host ?? '';
  if (path.charCodeAt(0) !== 47 /* / */) {
    const abs = splitAbsoluteForm(path);
    if (abs === undefined) {
      fail(400, `bad request: unsupported request target '${path.slice(0, 200)}'\n`, 'STRATA_BAD_REQUEST', { connection: 'close' });
      return;
    }
    authority = abs.authority;
    path = abs.path;
  }
  if (authority === '' && (role.kind === 'outbound-proxy' || (role.kind === 'gateway' && role.defaultService === undefined))) {
    fail(400, 'bad request: no Host header or absolute URL to route by\n', 'STRATA_BAD_REQUEST', { connection: 'close' });
    return;
  }
  if (host.draining()) res.setHeader('connection', 'close');

  // ── body size (declared) ──────────────────────────────────────────────────────
  const cl = headers['content-length'];
  const declared = cl === undefined ? -1 : Number(cl);
  if (limits.maxBodyBytes > 0 && declared > limits.maxBodyBytes) {
    fail(413, `request body too large: ${declared} bytes, limit ${limits.maxBodyBytes}\n`, 'STRATA_BODY_TOO_LARGE', { connection: 'close' });
    return;
  }
  const bodyless = req.endedWithHeaders !== undefined ? req.endedWithHeaders || declared === 0 : declared <= 0 && headers['transfer-encoding'] === undefined;

  // ── virtual host and route ────────────────────────────────────────────────────
  let route: CompiledRoute | undefined;
  if (role.kind === 'inbound') {
    route = rt.inboundRoute;
    destination = rt.snapshot.sidecar.service || 'app';
    if (!route) {
      fail(404, 'no inbound route: this sidecar has no local app configured\n', 'STRATA_NO_ROUTE');
      return;
    }
  } else {
    let vh;
    if (role.kind === 'outbound-port') {
      vh = rt.virtualHostForService(role.service);
      // The app dialled a local port: it means the service, whatever Host it sent.
      if (isLocalAuthority(authority)) authority = role.service;
    } else {
      vh = rt.table.virtualHost(authority);
      if (!vh && role.kind === 'gateway' && role.defaultService !== undefined) vh = rt.virtualHostForService(role.defaultService);
    }
    if (!vh && (role.kind === 'outbound-proxy' || role.kind === 'gateway') && host.discover) {
      const asked = host.discover(hostOnly(authority));
      if (asked) {
        // The request waits (its body unread) while the control plane is asked, then starts over.
        asked.then(
          () => {
            completed = true; // accounted again by the second pass
            host.requestFinished();
            handleRequest(host, role, req, res, expectContinue);
          },
          () => fail(404, `no route: '${authority}' is not a known service\n`, 'STRATA_NO_ROUTE'),
        );
        return;
      }
    }
    if (!vh) {
      fail(404, `no route: '${authority}' is not a known service (known: ${rt.knownServices().join(', ') || 'none'})\n`, 'STRATA_NO_ROUTE');
      return;
    }
    destination = vh.spec.name;
    route = RouteTable.match(vh, method, path, headers);
    if (!route) {
      fail(404, `no route: no rule of service '${vh.spec.name}' matches ${method} ${path.slice(0, 200)}\n`, 'STRATA_NO_ROUTE');
      return;
    }
  }

  const head: RequestHead = { method, authority, path, headers };
  // ── request priority: classify (honouring a trusted incoming class) and mark the headers ──
  const prio = host.priority?.();
  const cls = prio === undefined ? -1 : prio.classifyAndMark(method, path, headers, destination, role.kind === 'inbound' ? 'inbound' : role.kind === 'gateway' ? 'gateway' : 'outbound');
  if (prio !== undefined) className = prio.policy.names[cls];
  const factories = rt.chain(route.spec);
  const filters: readonly HttpFilter[] = factories.length === 0 ? NO_FILTERS : factories.map((f) => f());
  const theRoute = route;

  let ended = false;

  // ── router stage ──────────────────────────────────────────────────────────────
  const terminal = (): void => {
    if (ended) return;
    ended = true;
    const action = theRoute.spec.action;
    if (action.kind === 'direct') {
      reply(action.status, action.body, undefined, action.headers);
      req.resume();
      done(action.status);
      return;
    }
    const backend = pickBackend(theRoute);
    const cluster = backend ? host.clusters.get(backend.cluster) : undefined;
    if (!cluster) {
      fail(503, `no cluster '${backend?.cluster ?? '?'}' for route ${theRoute.spec.name}\n`, 'STRATA_NO_HEALTHY_UPSTREAM');
      return;
    }
    if (prio !== undefined) {
      const ctrl = role.kind === 'inbound' ? prio.inbound : prio.forCluster(cluster.spec.name);
      const poolClass = prio.poolClasses[cls];
      const name = prio.policy.names[cls] as string;
      // Inbound: counted at the app from the moment it is sent (after any admission wait) until it ends.
      const go =
        role.kind === 'inbound'
          ? (finish: (status: number) => void): void => {
              const inFlight = prio.inFlight;
              inFlight.enter(name);
              let left = false;
              send(
                cluster,
                (status) => {
                  if (!left) {
                    left = true;
                    inFlight.leave(name);
                  }
                  finish(status);
                },
                poolClass,
              );
            }
          : (finish: (status: number) => void): void => send(cluster, finish, poolClass);
      if (ctrl !== undefined) {
        admitThen(ctrl, cls, name, cluster.spec.name, req, res, fail, done, go);
        return;
      }
      go(done);
      return;
    }
    send(cluster, done, undefined);
  };

  const send = (cluster: Cluster, finish: (status: number) => void, poolClass: PoolClass | undefined): void => {
    const action = theRoute.spec.action as Extract<RouteAction, { kind: 'forward' }>;
    head.path = rewritePath(theRoute, head.path);
    if (action.hostRewrite) head.authority = action.hostRewrite;
    const lb = cluster.spec.loadBalancer;
    let hashKey: string | undefined;
    if (lb.hashOn) {
      if ('header' in lb.hashOn) {
        const v = headers[lb.hashOn.header];
        hashKey = Array.isArray(v) ? v[0] : v;
      } else {
        hashKey = cookieValue(headers.cookie, lb.hashOn.cookie);
      }
    }
    const timeoutMs = theRoute.spec.timeoutMs > 0 ? theRoute.spec.timeoutMs : limits.requestTimeoutMs;
    const go = (buffered: Buffer | undefined): void =>
      forward({
        req: {
          head,
          body: req,
          bodyless,
          buffered,
          expectContinue,
          writeContinue: () => res.writeContinue?.(),
        },
        res,
        cluster,
        routeName: theRoute.spec.name,
        retry: theRoute.spec.retry,
        timeoutMs,
        hashKey,
        filters,
        metrics: host.metrics,
        direction,
        startTime: start,
        poolClass,
        reply: (status, body, code) => reply(status, body, code),
        done: finish,
      });
    if (!bodyless && theRoute.spec.retry && !expectContinue && declared > 0 && declared <= RETRY_BUFFER_BYTES) {
      bufferBody(req, declared, (buf) => (buf ? go(buf) : finish(499)));
    } else {
      if (!bodyless && limits.maxBodyBytes > 0 && declared < 0) limitStreamingBody(req, res, limits.maxBodyBytes, reply);
      go(undefined);
    }
  };

  // Most routes have no filters: no chain machinery for them.
  if (filters.length === 0) {
    terminal();
    return;
  }

  // ── filter chain (request side) ───────────────────────────────────────────────
  let paused = -1;
  const cb: FilterCallbacks = {
    respond(status, body, extra, code) {
      if (ended) return;
      ended = true;
      reply(status, body, code, extra);
      req.resume();
      done(status);
    },
    resume() {
      if (ended || paused < 0) return;
      const next = paused + 1;
      paused = -1;
      runChain(next);
    },
    now: () => performance.now(),
    routeName: theRoute.spec.name,
    serviceName: destination,
  };
  const runChain = (from: number): void => {
    for (let i = from; i < filters.length; i++) {
      const f = filters[i] as HttpFilter;
      if (f.onRequestHeaders === undefined) continue;
      paused = i;
      let status;
      try {
        status = f.onRequestHeaders(head, cb);
      } catch (err) {
        cb.respond(500, `filter error in route ${theRoute.spec.name}: ${(err as Error).message}\n`);
        return;
      }
      if (ended) return;
      if (status === 'stop') {
        watchClientWhilePaused();
        return;
      }
      paused = -1;
    }
    terminal();
  };

  // A client that leaves while a filter holds the request (a fault delay, say) ends the
  // exchange here, so in-flight accounting and drain do not wait for it; a late resume()
  // or respond() is then ignored.
  let watching = false;
  const watchClientWhilePaused = (): void => {
    if (watching) return;
    watching = true;
    res.once('close', () => {
      if (ended) return;
      ended = true;
      done(499);
    });
  };

  runChain(0);
}

/**
 * Admission by priority class: forward at once when there is room, else wait in the class's
 * queue; a shed or timed-out request is answered 503 with Retry-After. The ticket is
 * released when the exchange ends (a client that leaves while waiting just leaves the queue).
 */
function admitThen(
  ctrl: AdmissionController,
  cls: number,
  className: string,
  clusterName: string,
  req: DownstreamRequest,
  res: DownstreamResponse,
  fail: (status: number, body: string, code: ProxyErrorCode, extra?: Record<string, string>) => void,
  done: (status: number) => void,
  send: (finish: (status: number) => void) => void,
): void {
  const t = ctrl.acquire(cls, {
    admitted: (ticket) =>
      send((status) => {
        ticket.release(status === 503 || status === 504);
        done(status);
      }),
    rejected: (reason: ShedReason) => {
      const retryAfter = { 'retry-after': String(ctrl.spec.retryAfterSeconds) };
      const where = `${ctrl.limit.limit} in flight to ${clusterName}, ${ctrl.queued()} waiting`;
      if (reason === 'timeout') {
        fail(503, `priority queue timeout: class ${className} waited ${ctrl.spec.queueTimeoutMs} ms for admission (${where})\n`, 'STRATA_QUEUE_TIMEOUT', retryAfter);
      } else {
        const why = reason === 'evicted' ? 'its place in the queue was taken by a higher class' : 'the admission queue is full';
        fail(503, `shed: class ${className} at the concurrency limit, ${why} (${where})\n`, 'STRATA_SHED', retryAfter);
      }
    },
  });
  if (t.state === 'queued') {
    res.once('close', () => {
      if (t.state !== 'queued') return;
      t.cancel();
      req.resume();
      done(499);
    });
  }
}

function bufferBody(req: DownstreamRequest, size: number, then: (buf: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let n = 0;
  req.on('data', (c: Buffer) => {
    chunks.push(c);
    n += c.length;
  });
  req.once('end', () => then(Buffer.concat(chunks, Math.min(n, size))));
  req.once('error', () => then(undefined));
}

/** Count a streamed (chunked) body and cut it off at the limit. */
function limitStreamingBody(
  req: DownstreamRequest,
  res: DownstreamResponse,
  max: number,
  reply: (status: number, body: string, code: ProxyErrorCode, extra?: Record<string, string>) => void,
): void {
  let n = 0;
  req.on('data', (c: Buffer) => {
    n += c.length;
    if (n > max && n - c.length <= max) {
      reply(413, `request body too large: more than ${max} bytes\n`, 'STRATA_BODY_TOO_LARGE', { connection: 'close' });
      req.unpipe();
      req.destroy();
    }
  });
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function isLocalAuthority(authority: string): boolean {
  const h = hostOnly(authority);
  return h === '' || h === 'localhost' || h.startsWith('127.') || h === '[::1]';
}
