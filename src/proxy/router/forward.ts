/**
 * @module proxy/router/forward
 * The router's terminal stage: send a routed request to its cluster, with per-try and
 * overall timeouts, retries (exponential backoff with jitter, bounded by a retry budget),
 * circuit breaking and outlier reporting, then stream the response (and trailers) back.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { RetrySpec } from '../../config/snapshot.js';
import type { ProxyErrorCode } from '../../errors.js';
import type { Cluster, PoolClass } from '../cluster/cluster.js';
import type { Endpoint } from '../cluster/endpoint.js';
import type { AttemptOutcome } from '../cluster/retry.js';
import { shouldRetry } from '../cluster/retry.js';
import { backoffMs } from '../cluster/backoff.js';
import type { HttpFilter, RequestHead, ResponseHead } from '../filters/filter.js';
import { forwardRequestHeaders, forwardResponseHeaders } from '../http/headers.js';
import type { DownstreamRequest, DownstreamResponse } from '../http/downstream.js';
import { destroyResponse } from '../http/local-reply.js';
import type { UpstreamCall, UpstreamFailure, UpstreamHandlers } from '../pool/upstream.js';
import type { ProxyMetrics, Direction } from '../../stats/metrics.js';

export interface ForwardRequest {
  readonly head: RequestHead;
  /** The downstream request body (already known to be empty when `bodyless`). */
  readonly body: DownstreamRequest;
  readonly bodyless: boolean;
  /** Fully buffered body, when the request was buffered for retries. */
  readonly buffered: Buffer | undefined;
  readonly expectContinue: boolean;
  /** Send `100 Continue` downstream (HTTP/1.1). */
  writeContinue(): void;
}

export interface ForwardContext {
  readonly req: ForwardRequest;
  readonly res: DownstreamResponse;
  readonly cluster: Cluster;
  readonly routeName: string;
  readonly retry: RetrySpec | undefined;
  /** Whole-request timeout (until response headers), 0 = none. */
  readonly timeoutMs: number;
  readonly hashKey: string | undefined;
  readonly filters: readonly HttpFilter[];
  readonly metrics: ProxyMetrics;
  readonly direction: Direction;
  readonly startTime: number;
  /** Request priority: the class's own upstream pools (absent: the shared pool). */
  readonly poolClass?: PoolClass | undefined;
  /** Local reply on failure. */
  reply(status: number, body: string, code: ProxyErrorCode): void;
  /** Called once when the exchange is over (response finished or failed). */
  done(status: number): void;
}

function describe(err: Error): string {
  return err.message || String(err);
}

/** Forward one request; everything after this is callbacks. */
export function forward(ctx: ForwardContext): void {
  const cluster = ctx.cluster;
  if (!cluster.breaker.tryStartRequest()) {
    ctx.metrics.overflowed(cluster.spec.name, 'requests');
    ctx.reply(503, `upstream overflow: cluster ${cluster.spec.name} has ${cluster.spec.circuitBreaker.maxRequests} requests in flight (circuit breaker maxRequests)\n`, 'STRATA_OVERFLOW');
    ctx.done(503);
    return;
  }
  cluster.active++;
  new Exchange(ctx).start();
}

/**
 * One forwarded request, from the first attempt to the end of the response. State lives in
 * fields and the steps are methods (timers get the exchange as their argument), so the
 * common path allocates no closures beyond the downstream 'close' listener and the
 * response body's listeners.
 */
class Exchange {
  private retries = 0;
  /** The attempt in flight (handlers of older attempts are ignored). */
  call: UpstreamCall | undefined;
  private endpoint: Endpoint | undefined;
  private attemptStart = 0;
  private perTryTimer: NodeJS.Timeout | undefined;
  private overallTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  finished = false;
  private inRetryBudget = false;
  /** Streaming bodies can only be sent once: no retry after the body started flowing. */
  private readonly replayable: boolean;
  private bodyConsumed = false;

  constructor(readonly ctx: ForwardContext) {
    this.replayable = ctx.req.bodyless || ctx.req.buffered !== undefined;
  }

  start(): void {
    const ctx = this.ctx;
    // The downstream went away: stop everything upstream.
    ctx.res.once('close', () => this.downstreamClosed());
    if (ctx.timeoutMs > 0) this.overallTimer = setTimeout(overallTimeout, ctx.timeoutMs, this);
    this.attempt();
  }

  private finish(status: number): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimers();
    const cluster = this.ctx.cluster;
    if (this.inRetryBudget) cluster.retryBudget.release();
    cluster.breaker.endRequest();
    cluster.active--;
    this.ctx.done(status);
  }

  private clearTimers(): void {
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    if (this.overallTimer) clearTimeout(this.overallTimer);
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.perTryTimer = this.overallTimer = this.backoffTimer = undefined;
  }

  endAttempt(failed: boolean): void {
    if (this.endpoint) this.endpoint.onEnd(performance.now() - this.attemptStart, failed, Date.now());
    this.endpoint = undefined;
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    this.perTryTimer = undefined;
  }

  private failWith(status: number, message: string, code: ProxyErrorCode): void {
    this.ctx.reply(status, message, code);
    this.finish(status);
  }

  private downstreamClosed(): void {
    if (this.finished) return;
    this.call?.abort();
    this.endAttempt(false);
    this.finish(499);
  }

  /** The whole-request timer fired. */
  timedOut(): void {
    const ctx = this.ctx;
    if (this.finished || ctx.res.headersSent) return;
    this.call?.abort();
    const ep = this.endpoint;
    this.endAttempt(true);
    ctx.metrics.upstreamFailure(ctx.cluster.spec.name, 'timeout');
    this.failWith(
      504,
      `upstream request timeout: no response within ${ctx.timeoutMs} ms (route ${ctx.routeName}, cluster ${ctx.cluster.spec.name}${ep ? `, endpoint ${ep.key}` : ''})\n`,
      'STRATA_UPSTREAM_TIMEOUT',
    );
  }

  /** The per-try timer of `attempt` fired. */
  tryTimedOut(attempt: Attempt): void {
    const spec = this.ctx.retry;
    if (this.call !== attempt.call || this.finished || this.ctx.res.headersSent) return;
    attempt.call?.abort();
    this.endAttempt(true);
    this.onFailure('timeout', new Error(`no response within ${spec?.perTryTimeoutMs} ms`), attempt.ep);
  }

  private maybeRetry(outcome: AttemptOutcome): boolean {
    const ctx = this.ctx;
    const spec = ctx.retry;
    if (!spec || this.finished) return false;
    if (!this.replayable && this.bodyConsumed) return false;
    if (!shouldRetry(spec, ctx.req.head.method, outcome, this.retries)) return false;
    const cluster = ctx.cluster;
    if (!this.inRetryBudget) {
      if (!cluster.retryBudget.tryAcquire(cluster.active)) {
        ctx.metrics.overflowed(cluster.spec.name, 'retry-budget');
        return false;
      }
      this.inRetryBudget = true;
    }
    this.retries++;
    ctx.metrics.retry(cluster.spec.name);
    this.backoffTimer = setTimeout(backoffDone, backoffMs(this.retries, spec.backoff.baseMs, spec.backoff.maxMs), this);
    return true;
  }

  /** The backoff before a retry is over. */
  retryNow(): void {
    this.backoffTimer = undefined;
    this.attempt();
  }

  onFailure(kind: UpstreamFailure | 'timeout', err: Error, ep: Endpoint): void {
    const ctx = this.ctx;
    const name = ctx.cluster.spec.name;
    ctx.metrics.upstreamFailure(name, kind);
    ctx.cluster.report(ep, kind === 'connect-failure' ? 'connect-failure' : 'gateway-error');
    if (this.maybeRetry({ kind })) return;
    const tries = this.retries > 0 ? ` after ${this.retries + 1} attempts` : '';
    if (kind === 'connect-failure') {
      this.failWith(503, `upstream connect error: ${describe(err)} (cluster ${name}, endpoint ${ep.key}${tries})\n`, 'STRATA_UPSTREAM_CONNECT_FAILED');
    } else if (kind === 'timeout') {
      this.failWith(504, `upstream per-try timeout: ${describe(err)} (cluster ${name}, endpoint ${ep.key}${tries})\n`, 'STRATA_UPSTREAM_TIMEOUT');
    } else {
      this.failWith(502, `upstream reset before response: ${describe(err)} (cluster ${name}, endpoint ${ep.key}${tries})\n`, 'STRATA_UPSTREAM_RESET');
    }
  }

  onResponse(ep: Endpoint, status: number, headers: IncomingHttpHeaders, body: Readable, trailers: () => IncomingHttpHeaders | undefined): void {
    if (this.finished) {
      body.resume();
      return;
    }
    const ctx = this.ctx;
    const cluster = ctx.cluster;
    const gateway = status === 502 || status === 503 || status === 504;
    cluster.report(ep, gateway ? 'gateway-error' : status >= 500 ? '5xx' : 'success');
    if (ctx.retry !== undefined && status >= 400 && this.maybeRetry({ kind: 'response', status })) {
      this.endAttempt(true);
      body.resume();
      return;
    }
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    this.perTryTimer = undefined;
    if (this.overallTimer) clearTimeout(this.overallTimer);
    this.overallTimer = undefined;
    const res = ctx.res;
    const head: ResponseHead = { status, headers: forwardResponseHeaders(headers) as ResponseHead['headers'] };
    for (let i = ctx.filters.length - 1; i >= 0; i--) ctx.filters[i]?.onResponseHeaders?.(head, ctx.req.head);
    try {
      res.writeHead(head.status, head.headers as OutgoingHttpHeaders);
    } catch (err) {
      this.endAttempt(true);
      body.resume();
      this.failWith(502, `invalid upstream response headers: ${describe(err as Error)} (cluster ${cluster.spec.name})\n`, 'STRATA_UPSTREAM_RESET');
      return;
    }
    body.on('data', (chunk: Buffer) => {
      if (!res.write(chunk)) {
        body.pause();
        res.once('drain', () => body.resume());
      }
    });
    body.once('end', () => {
      const t = trailers();
      if (t) {
        const out = forwardResponseHeaders(t);
        if (Object.keys(out).length > 0) res.addTrailers(out);
      }
      this.endAttempt(status >= 500);
      res.end();
      this.finish(head.status);
    });
    body.once('error', () => {
      this.endAttempt(true);
      destroyResponse(res);
      this.finish(502);
    });
  }

  private attempt(): void {
    if (this.finished) return;
    const ctx = this.ctx;
    const cluster = ctx.cluster;
    const req = ctx.req;
    const ep = cluster.pick(ctx.hashKey);
    if (ep === undefined) {
      this.failWith(503, `no healthy upstream: cluster ${cluster.spec.name} has ${cluster.endpoints.length} endpoints and none is available\n`, 'STRATA_NO_HEALTHY_UPSTREAM');
      return;
    }
    const pool = cluster.pool(ep, ctx.poolClass);
    if (pool.pending() >= cluster.spec.circuitBreaker.maxPending) {
      ctx.metrics.overflowed(cluster.spec.name, 'pending');
      this.failWith(
        503,
        `upstream overflow: ${pool.pending()} requests already wait for a connection to ${ep.key} (cluster ${cluster.spec.name}, circuit breaker maxPending)\n`,
        'STRATA_OVERFLOW',
      );
      return;
    }
    this.endpoint = ep;
    ep.onStart();
    this.attemptStart = performance.now();
    const h2 = pool.protocol === 'h2';
    const handlers = new Attempt(this, ep);
    const call = pool.request(
      {
        method: req.head.method,
        path: req.head.path,
        authority: req.head.authority,
        headers: forwardRequestHeaders(req.head.headers),
        endStream: req.bodyless,
        expectContinue: req.expectContinue && !h2,
      },
      handlers,
    );
    handlers.call = call;
    this.call = call;
    const retry = ctx.retry;
    if (retry && retry.perTryTimeoutMs > 0) this.perTryTimer = setTimeout(perTryTimeout, retry.perTryTimeoutMs, handlers);
    if (req.expectContinue && h2) req.writeContinue();
    if (!req.expectContinue || h2) this.sendBody(call);
  }

  sendBody(c: UpstreamCall): void {
    const req = this.ctx.req;
    if (req.bodyless) return;
    if (req.buffered !== undefined) {
      c.body.end(req.buffered);
      return;
    }
    if (this.bodyConsumed) return;
    this.bodyConsumed = true;
    req.body.pipe(c.body);
  }
}

/** The pool's handlers for one attempt: reports of a superseded attempt are ignored. */
class Attempt implements UpstreamHandlers {
  call: UpstreamCall | undefined;

  constructor(
    readonly ex: Exchange,
    readonly ep: Endpoint,
  ) {}

  onResponse(status: number, headers: IncomingHttpHeaders, body: Readable, trailers: () => IncomingHttpHeaders | undefined): void {
    if (this.ex.call !== this.call) {
      body.resume();
      return;
    }
    this.ex.onResponse(this.ep, status, headers, body, trailers);
  }

  onError(kind: UpstreamFailure, err: Error): void {
    const ex = this.ex;
    if (ex.call !== this.call || ex.finished) return;
    ex.endAttempt(true);
    ex.onFailure(kind, err, this.ep);
  }

  onContinue(): void {
    this.ex.ctx.req.writeContinue();
    if (this.call !== undefined) this.ex.sendBody(this.call);
  }
}

function overallTimeout(ex: Exchange): void {
  ex.timedOut();
}

function perTryTimeout(attempt: Attempt): void {
  attempt.ex.tryTimedOut(attempt);
}

function backoffDone(ex: Exchange): void {
  ex.retryNow();
}
