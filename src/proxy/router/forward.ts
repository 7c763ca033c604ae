/**
 * @module proxy/router/forward
 * The router's terminal stage: send a routed request to its cluster, with per-try and
 * overall timeouts, retries (exponential backoff with jitter, bounded by a retry budget),
 * circuit breaking and outlier reporting, then stream the response (and trailers) back.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { RetrySpec } from '../../config/snapshot.js';
import type { ProxyErrorCode } from '../../errors.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Endpoint } from '../cluster/endpoint.js';
import type { AttemptOutcome } from '../cluster/retry.js';
import { shouldRetry } from '../cluster/retry.js';
import { backoffMs } from '../cluster/backoff.js';
import type { HttpFilter, RequestHead, ResponseHead } from '../filters/filter.js';
import { forwardRequestHeaders, forwardResponseHeaders } from '../http/headers.js';
import type { DownstreamResponse } from '../http/local-reply.js';
import { destroyResponse } from '../http/local-reply.js';
import type { UpstreamCall, UpstreamFailure } from '../pool/upstream.js';
import type { ProxyMetrics, Direction } from '../../stats/metrics.js';

export interface ForwardRequest {
  readonly head: RequestHead;
  /** The downstream request body (already known to be empty when `bodyless`). */
  readonly body: Readable;
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
  const { cluster, req, res } = ctx;
  if (!cluster.breaker.tryStartRequest()) {
    ctx.metrics.overflowed(cluster.spec.name, 'requests');
    ctx.reply(503, `upstream overflow: cluster ${cluster.spec.name} has ${cluster.spec.circuitBreaker.maxRequests} requests in flight (circuit breaker maxRequests)\n`, 'STRATA_OVERFLOW');
    ctx.done(503);
    return;
  }
  cluster.active++;
  let retries = 0;
  let call: UpstreamCall | undefined;
  let endpoint: Endpoint | undefined;
  let attemptStart = 0;
  let perTryTimer: NodeJS.Timeout | undefined;
  let overallTimer: NodeJS.Timeout | undefined;
  let backoffTimer: NodeJS.Timeout | undefined;
  let finished = false;
  let inRetryBudget = false;
  /** Streaming bodies can only be sent once: no retry after the body started flowing. */
  const replayable = req.bodyless || req.buffered !== undefined;
  let bodyConsumed = false;

  const finish = (status: number): void => {
    if (finished) return;
    finished = true;
    clearTimers();
    if (inRetryBudget) cluster.retryBudget.release();
    cluster.breaker.endRequest();
    cluster.active--;
    ctx.done(status);
  };
  const clearTimers = (): void => {
    if (perTryTimer) clearTimeout(perTryTimer);
    if (overallTimer) clearTimeout(overallTimer);
    if (backoffTimer) clearTimeout(backoffTimer);
    perTryTimer = overallTimer = backoffTimer = undefined;
  };
  const endAttempt = (failed: boolean): void => {
    if (endpoint) endpoint.onEnd(performance.now() - attemptStart, failed, Date.now());
    endpoint = undefined;
    if (perTryTimer) clearTimeout(perTryTimer);
    perTryTimer = undefined;
  };
  const failWith = (status: number, message: string, code: ProxyErrorCode): void => {
    ctx.reply(status, message, code);
    finish(status);
  };

  // The downstream went away: stop everything upstream.
  res.once('close', () => {
    if (finished) return;
    call?.abort();
    endAttempt(false);
    finish(499);
  });

  if (ctx.timeoutMs > 0) {
    overallTimer = setTimeout(() => {
      if (finished || res.headersSent) return;
      call?.abort();
      const ep = endpoint;
      endAttempt(true);
      ctx.metrics.upstreamFailure(cluster.spec.name, 'timeout');
      failWith(
        504,
        `upstream request timeout: no response within ${ctx.timeoutMs} ms (route ${ctx.routeName}, cluster ${cluster.spec.name}${ep ? `, endpoint ${ep.key}` : ''})\n`,
        'STRATA_UPSTREAM_TIMEOUT',
      );
    }, ctx.timeoutMs);
  }

  const maybeRetry = (outcome: AttemptOutcome): boolean => {
    const spec = ctx.retry;
    if (!spec || finished) return false;
    if (!replayable && bodyConsumed) return false;
    if (!shouldRetry(spec, req.head.method, outcome, retries)) return false;
    if (!inRetryBudget) {
      if (!cluster.retryBudget.tryAcquire(cluster.active)) {
        ctx.metrics.overflowed(cluster.spec.name, 'retry-budget');
        return false;
      }
      inRetryBudget = true;
    }
    retries++;
    ctx.metrics.retry(cluster.spec.name);
    backoffTimer = setTimeout(() => {
      backoffTimer = undefined;
      attempt();
    }, backoffMs(retries, spec.backoff.baseMs, spec.backoff.maxMs));
    return true;
  };

  const onFailure = (kind: UpstreamFailure | 'timeout', err: Error, ep: Endpoint): void => {
    ctx.metrics.upstreamFailure(cluster.spec.name, kind);
    cluster.report(ep, kind === 'connect-failure' ? 'connect-failure' : 'gateway-error');
    if (maybeRetry({ kind })) return;
    const tries = retries > 0 ? ` after ${retries + 1} attempts` : '';
    if (kind === 'connect-failure') {
      failWith(503, `upstream connect error: ${describe(err)} (cluster ${cluster.spec.name}, endpoint ${ep.key}${tries})\n`, 'STRATA_UPSTREAM_CONNECT_FAILED');
    } else if (kind === 'timeout') {
      failWith(504, `upstream per-try timeout: ${describe(err)} (cluster ${cluster.spec.name}, endpoint ${ep.key}${tries})\n`, 'STRATA_UPSTREAM_TIMEOUT');
    } else {
      failWith(502, `upstream reset before response: ${describe(err)} (cluster ${cluster.spec.name}, endpoint ${ep.key}${tries})\n`, 'STRATA_UPSTREAM_RESET');
    }
  };

  const onResponse = (ep: Endpoint, status: number, headers: IncomingHttpHeaders, body: Readable, trailers: () => IncomingHttpHeaders | undefined): void => {
    if (finished) {
      body.resume();
      return;
    }
    const gateway = status === 502 || status === 503 || status === 504;
    cluster.report(ep, gateway ? 'gateway-error' : status >= 500 ? '5xx' : 'success');
    if (ctx.retry !== undefined && status >= 400 && maybeRetry({ kind: 'response', status })) {
      endAttempt(true);
      body.resume();
      return;
    }
    if (perTryTimer) clearTimeout(perTryTimer);
    perTryTimer = undefined;
    if (overallTimer) clearTimeout(overallTimer);
    overallTimer = undefined;
    const out = res as ServerResponse;
    const head: ResponseHead = { status, headers: forwardResponseHeaders(headers) as ResponseHead['headers'] };
    for (let i = ctx.filters.length - 1; i >= 0; i--) ctx.filters[i]?.onResponseHeaders?.(head, req.head);
    try {
      out.writeHead(head.status, head.headers as OutgoingHttpHeaders);
    } catch (err) {
      endAttempt(true);
      body.resume();
      failWith(502, `invalid upstream response headers: ${describe(err as Error)} (cluster ${cluster.spec.name})\n`, 'STRATA_UPSTREAM_RESET');
      return;
    }
    body.on('data', (chunk: Buffer) => {
      if (!out.write(chunk)) {
        body.pause();
        out.once('drain', () => body.resume());
      }
    });
    body.once('end', () => {
      const t = trailers();
      if (t) {
        const out = forwardResponseHeaders(t);
        if (Object.keys(out).length > 0) res.addTrailers(out as Record<string, string>);
      }
      endAttempt(status >= 500);
      res.end();
      finish(head.status);
    });
    body.once('error', () => {
      endAttempt(true);
      destroyResponse(res);
      finish(502);
    });
  };

  const attempt = (): void => {
    if (finished) return;
    const ep = cluster.pick(ctx.hashKey);
    if (ep === undefined) {
      failWith(503, `no healthy upstream: cluster ${cluster.spec.name} has ${cluster.endpoints.length} endpoints and none is available\n`, 'STRATA_NO_HEALTHY_UPSTREAM');
      return;
    }
    const pool = cluster.pool(ep);
    if (pool.pending() >= cluster.spec.circuitBreaker.maxPending) {
      ctx.metrics.overflowed(cluster.spec.name, 'pending');
      failWith(
        503,
        `upstream overflow: ${pool.pending()} requests already wait for a connection to ${ep.key} (cluster ${cluster.spec.name}, circuit breaker maxPending)\n`,
        'STRATA_OVERFLOW',
      );
      return;
    }
    endpoint = ep;
    ep.onStart();
    attemptStart = performance.now();
    const headers = forwardRequestHeaders(req.head.headers);
    const sendBodyNow = !req.expectContinue || pool.protocol === 'h2';
    const thisCall = pool.request(
      {
        method: req.head.method,
        path: req.head.path,
        authority: req.head.authority,
        headers,
        endStream: req.bodyless,
        expectContinue: req.expectContinue && pool.protocol === 'http1',
      },
      {
        onResponse: (status, h, body, trailers) => {
          if (call !== thisCall) return body.resume() as unknown as void;
          onResponse(ep, status, h, body, trailers);
        },
        onError: (kind, err) => {
          if (call !== thisCall || finished) return;
          endAttempt(true);
          onFailure(kind, err, ep);
        },
        onContinue: () => {
          req.writeContinue();
          sendBody(thisCall);
        },
      },
    );
    call = thisCall;
    if (ctx.retry && ctx.retry.perTryTimeoutMs > 0) {
      perTryTimer = setTimeout(() => {
        if (call !== thisCall || finished || res.headersSent) return;
        thisCall.abort();
        endAttempt(true);
        onFailure('timeout', new Error(`no response within ${ctx.retry?.perTryTimeoutMs} ms`), ep);
      }, ctx.retry.perTryTimeoutMs);
    }
    if (req.expectContinue && pool.protocol === 'h2') req.writeContinue();
    if (sendBodyNow) sendBody(thisCall);
  };

  const sendBody = (c: UpstreamCall): void => {
    if (req.bodyless) return;
    if (req.buffered !== undefined) {
      c.body.end(req.buffered);
      return;
    }
    if (bodyConsumed) return;
    bodyConsumed = true;
    req.body.pipe(c.body);
  };

  attempt();
}
