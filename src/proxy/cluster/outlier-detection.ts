/**
 * @module proxy/cluster/outlier-detection
 * Passive health: the cluster reports how each request to an endpoint ended, and an
 * endpoint that fails too many times in a row is ejected (taken out of load balancing) for
 * a while. After Envoy's consecutive-5xx and consecutive-gateway-failure detectors.
 *
 * - Counting, per endpoint: every failure ('5xx', 'gateway-error', 'connect-failure') adds
 *   to the consecutive-5xx count; 'gateway-error' and 'connect-failure' also add to the
 *   consecutive-gateway-error count, while a plain '5xx' (e.g. 500) resets that one;
 *   'success' resets both. A threshold of 0 disables its detector. When a count reaches
 *   its threshold both counts restart from zero, whether or not the ejection happens.
 * - Ejecting: `ejectedUntil = now + min(baseEjectionMs · (ejections + 1), maxEjectionMs)`,
 *   then `ejections++` and `onChange()`. An endpoint already ejected is left alone.
 * - maxEjectionPercent, with Envoy's long-standing rule: an ejection is allowed while the
 *   share of endpoints currently ejected is strictly below the percentage. So any
 *   percentage above 0 allows at least one ejection even when one endpoint is a larger
 *   share than that (3 endpoints, 10%: one may be ejected), the cap may be passed by one
 *   endpoint, and 0 disables ejection. A refused ejection counts in `stats.overflow`.
 * - Every `intervalMs` a sweep (`tick`) returns endpoints whose time is up (`ejectedUntil`
 *   back to 0, `onChange()`), and for each endpoint that was not ejected at any point since
 *   the previous sweep, decrements `ejections` by one (never below 0), so an endpoint that
 *   stays healthy is ejected for shorter and shorter times if it fails again.
 *
 * Ejection only makes an endpoint unavailable to the balancer; when every endpoint is
 * unavailable the cluster decides what to do (panic mode). Errors thrown by `onChange` are
 * caught and published on the `strata:outlier-detection` diagnostics channel, with the
 * ejection and return events.
 */
import { channel } from 'node:diagnostics_channel';
import type { OutlierDetectionSpec } from '../../config/snapshot.js';
import type { Endpoint } from './endpoint.js';

export type OutlierOutcome = 'success' | '5xx' | 'gateway-error' | 'connect-failure';
export type EjectionReason = 'consecutive-5xx' | 'consecutive-gateway-error';

/** Messages on the `strata:outlier-detection` diagnostics channel. */
export type OutlierEvent =
  | { type: 'eject'; endpoint: string; reason: EjectionReason; until: number; ejections: number }
  | { type: 'overflow'; endpoint: string; reason: EjectionReason }
  | { type: 'uneject'; endpoint: string }
  | { type: 'error'; error: unknown };

export const OUTLIER_CHANNEL = 'strata:outlier-detection';
const events = channel(OUTLIER_CHANNEL);

export interface OutlierStats {
  /** Ejections made, by reason. */
  ejectedConsecutive5xx: number;
  ejectedConsecutiveGatewayError: number;
  /** Ejections refused by maxEjectionPercent. */
  overflow: number;
}

interface Consecutive {
  fiveXx: number;
  gateway: number;
}

export class OutlierDetector {
  private spec: OutlierDetectionSpec;
  private readonly counts = new WeakMap<Endpoint, Consecutive>();
  private timer: NodeJS.Timeout | undefined;
  readonly stats: OutlierStats = { ejectedConsecutive5xx: 0, ejectedConsecutiveGatewayError: 0, overflow: 0 };

  constructor(
    spec: OutlierDetectionSpec,
    private readonly endpoints: () => readonly Endpoint[],
    private readonly onChange: () => void,
    private readonly clock: () => number = Date.now,
  ) {
    this.spec = spec;
  }

  /** How the last request to `ep` ended. Cheap; runs once per upstream response. */
  report(ep: Endpoint, outcome: OutlierOutcome): void {
    let c = this.counts.get(ep);
    if (outcome === 'success') {
      if (c) c.fiveXx = c.gateway = 0;
      return;
    }
    if (!c) {
      c = { fiveXx: 0, gateway: 0 };
      this.counts.set(ep, c);
    }
    c.fiveXx++;
    c.gateway = outcome === '5xx' ? 0 : c.gateway + 1;

    const { consecutive5xx, consecutiveGatewayErrors } = this.spec;
    let reason: EjectionReason | undefined;
    if (consecutiveGatewayErrors > 0 && c.gateway >= consecutiveGatewayErrors) reason = 'consecutive-gateway-error';
    else if (consecutive5xx > 0 && c.fiveXx >= consecutive5xx) reason = 'consecutive-5xx';
    if (!reason) return;
    c.fiveXx = c.gateway = 0;
    this.eject(ep, reason, this.clock());
  }

  /** How many of the current endpoints are ejected at `now`. */
  ejectedCount(now: number = this.clock()): number {
    let n = 0;
    for (const ep of this.endpoints()) if (ep.ejectedUntil > now) n++;
    return n;
  }

  /**
   * The interval sweep: return endpoints whose ejection has expired and decay the ejection
   * multiplier of endpoints that stayed in service. The timer calls it; tests call it directly.
   */
  tick(now: number = this.clock()): void {
    let changed = false;
    for (const ep of this.endpoints()) {
      if (ep.ejectedUntil > now) continue;
      if (ep.ejectedUntil > 0) {
        ep.ejectedUntil = 0;
        changed = true;
        publish({ type: 'uneject', endpoint: ep.key });
      } else if (ep.ejections > 0) {
        ep.ejections--;
      }
    }
    if (changed) this.notify();
  }

  /** Start the interval sweep (unref'd: it never keeps the process alive). Idempotent. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (error) {
        publish({ type: 'error', error });
      }
    }, Math.max(1, this.spec.intervalMs));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** New settings. Counts and current ejections are kept; a new interval restarts the sweep. */
  update(spec: OutlierDetectionSpec): void {
    const restart = this.timer !== undefined && spec.intervalMs !== this.spec.intervalMs;
    this.spec = spec;
    if (restart) {
      this.stop();
      this.start();
    }
  }

  private eject(ep: Endpoint, reason: EjectionReason, now: number): void {
    const all = this.endpoints();
    if (!all.includes(ep) || ep.ejectedUntil > now) return;
    const duration = Math.min(this.spec.baseEjectionMs * (ep.ejections + 1), this.spec.maxEjectionMs);
    if (!(duration > 0)) return;
    let ejected = 0;
    for (const e of all) if (e.ejectedUntil > now) ejected++;
    if (!((100 * ejected) / all.length < this.spec.maxEjectionPercent)) {
      this.stats.overflow++;
      publish({ type: 'overflow', endpoint: ep.key, reason });
      return;
    }
    ep.ejectedUntil = now + duration;
    ep.ejections++;
    if (reason === 'consecutive-5xx') this.stats.ejectedConsecutive5xx++;
    else this.stats.ejectedConsecutiveGatewayError++;
    publish({ type: 'eject', endpoint: ep.key, reason, until: ep.ejectedUntil, ejections: ep.ejections });
    this.notify();
  }

  private notify(): void {
    try {
      this.onChange();
    } catch (error) {
      publish({ type: 'error', error });
    }
  }
}

function publish(event: OutlierEvent): void {
  if (events.hasSubscribers) events.publish(event);
}
