/**
 * @module proxy/cluster/health-check
 * Active health checking: an HTTP/1.1 `GET spec.path` to every endpoint each interval.
 *
 * - Rounds: the first runs at `start()`, the next ones every `intervalMs` ± 10% (jitter, so
 *   many sidecars do not probe in step). An endpoint whose previous check is still running
 *   is skipped in that round. Membership is read from `endpoints()` each round; state for
 *   endpoints that left is dropped and their check aborted.
 * - One check: a fresh connection (`agent: false`, so `Connection: close`) to the
 *   endpoint's address and port, headers `Host: opts.host` and `x-strata-health-check: 1`.
 *   A status inside `expectedStatuses` (inclusive) passes; any other status, a connection
 *   error or no response head within `timeoutMs` fails.
 * - Verdicts: `unhealthyThreshold` consecutive failures set `ep.healthy = false`,
 *   `healthyThreshold` consecutive passes set it back to true; each flip calls `onChange()`.
 *   Endpoints start from whatever `ep.healthy` says (true for a new Endpoint).
 * - `stop()` clears the timer and aborts checks in flight; their results are discarded.
 *
 * Nothing throws out of a timer or socket callback: errors (including from `onChange` and
 * `endpoints`) are published on the `strata:health-check` diagnostics channel, with the
 * health transitions.
 */
import { channel } from 'node:diagnostics_channel';
import { request } from 'node:http';
import type { ClientRequest } from 'node:http';
import type { HealthCheckSpec } from '../../config/snapshot.js';
import type { Endpoint } from './endpoint.js';

export const HEALTH_CHECK_HEADER = 'x-strata-health-check';
export const HEALTH_CHECK_CHANNEL = 'strata:health-check';
const events = channel(HEALTH_CHECK_CHANNEL);

/** Messages on the `strata:health-check` diagnostics channel. */
export type HealthCheckEvent =
  | { type: 'healthy'; endpoint: string }
  | { type: 'unhealthy'; endpoint: string; reason: CheckFailure }
  | { type: 'error'; error: unknown };

/** Why one check failed. */
export type CheckFailure = 'status' | 'network' | 'timeout';

export interface HealthCheckOptions {
  /** Host header of every check (the cluster's service name, typically). */
  host: string;
  /** Uniform [0, 1) source for the interval jitter; injectable for tests. */
  random?: () => number;
}

export interface HealthCheckStats {
  attempts: number;
  successes: number;
  /** All failed checks; `networkFailures` and `timeouts` are two disjoint parts of them. */
  failures: number;
  networkFailures: number;
  timeouts: number;
}

/** Fraction of the interval the delay may move either way. */
const JITTER = 0.1;

/** Delay to the next round: uniform in [0.9, 1.1] × `intervalMs`, at least 1 ms. */
export function jitteredDelay(intervalMs: number, random: () => number = Math.random): number {
  const r = random();
  const u = r >= 0 && r < 1 ? r : 0.5;
  return Math.max(1, Math.round(intervalMs * (1 - JITTER + 2 * JITTER * u)));
}

interface CheckState {
  successes: number;
  failures: number;
  /** The check running now, if any. */
  inFlight: ClientRequest | undefined;
}

export class HealthChecker {
  private readonly states = new Map<Endpoint, CheckState>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** Bumped by stop(): results of checks started before it are discarded. */
  private generation = 0;
  private readonly random: () => number;
  readonly stats: HealthCheckStats = { attempts: 0, successes: 0, failures: 0, networkFailures: 0, timeouts: 0 };

  constructor(
    private readonly spec: HealthCheckSpec,
    private readonly endpoints: () => readonly Endpoint[],
    private readonly onChange: () => void,
    private readonly opts: HealthCheckOptions,
  ) {
    this.random = opts.random ?? Math.random;
  }

  /** Check every endpoint now, then every interval. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.round();
  }

  /** Cancel the timer and every check in flight. `start()` may be called again later. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const st of this.states.values()) st.inFlight?.destroy();
    this.states.clear();
  }

  private round(): void {
    this.timer = undefined;
    if (!this.running) return;
    try {
      const eps = this.endpoints();
      const live = new Set(eps);
      for (const [ep, st] of this.states) {
        if (live.has(ep)) continue;
        this.states.delete(ep);
        st.inFlight?.destroy();
      }
      for (const ep of eps) {
        let st = this.states.get(ep);
        if (!st) {
          st = { successes: 0, failures: 0, inFlight: undefined };
          this.states.set(ep, st);
        }
        if (!st.inFlight) this.check(ep, st);
      }
    } catch (error) {
      publish({ type: 'error', error });
    }
    this.timer = setTimeout(() => this.round(), jitteredDelay(this.spec.intervalMs, this.random));
    this.timer.unref();
  }

  private check(ep: Endpoint, st: CheckState): void {
    const generation = this.generation;
    let settled = false;
    const settle = (failure: CheckFailure | undefined): void => {
      if (settled) return;
      settled = true;
      if (generation !== this.generation || this.states.get(ep) !== st) return;
      this.record(ep, st, failure);
    };

    this.stats.attempts++;
    let req: ClientRequest;
    try {
      req = request({
        host: ep.spec.address,
        port: ep.spec.port,
        method: 'GET',
        path: this.spec.path,
        agent: false,
        headers: { host: this.opts.host, [HEALTH_CHECK_HEADER]: '1', 'user-agent': 'strata-health-check' },
      });
    } catch (error) {
      // Invalid port, path or header value: the check cannot even be sent.
      publish({ type: 'error', error });
      settle('network');
      return;
    }
    st.inFlight = req;
    // The deadline covers the response head; it stays armed until the socket closes so a
    // body that never ends cannot hold the connection (and block later checks) forever.
    const deadline = setTimeout(() => {
      settle('timeout');
      req.destroy();
    }, Math.max(1, this.spec.timeoutMs));
    deadline.unref();

    req.on('response', (res) => {
      const [lo, hi] = this.spec.expectedStatuses;
      const status = res.statusCode ?? 0;
      settle(status >= lo && status <= hi ? undefined : 'status');
      res.on('error', () => {});
      res.resume();
    });
    req.on('error', () => settle('network'));
    req.on('close', () => {
      clearTimeout(deadline);
      if (st.inFlight === req) st.inFlight = undefined;
      settle('network');
    });
    req.end();
  }

  private record(ep: Endpoint, st: CheckState, failure: CheckFailure | undefined): void {
    if (failure === undefined) {
      this.stats.successes++;
      st.failures = 0;
      st.successes++;
      if (!ep.healthy && st.successes >= Math.max(1, this.spec.healthyThreshold)) {
        ep.healthy = true;
        publish({ type: 'healthy', endpoint: ep.key });
        this.notify();
      }
      return;
    }
    this.stats.failures++;
    if (failure === 'timeout') this.stats.timeouts++;
    else if (failure === 'network') this.stats.networkFailures++;
    st.successes = 0;
    st.failures++;
    if (ep.healthy && st.failures >= Math.max(1, this.spec.unhealthyThreshold)) {
      ep.healthy = false;
      publish({ type: 'unhealthy', endpoint: ep.key, reason: failure });
      this.notify();
    }
  }

  private notify(): void {
    try {
      this.onChange();
    } catch (error) {
      publish({ type: 'error', error });
    }
  }
}

function publish(event: HealthCheckEvent): void {
  if (events.hasSubscribers) events.publish(event);
}
