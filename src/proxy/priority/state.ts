/**
 * @module proxy/priority/state
 * Request priority at runtime for one snapshot: the compiled classification policy, the
 * socket options of each class (for its upstream pools), and the admission controllers —
 * one before the local app (inbound) and one per upstream cluster (created on first use).
 * A new snapshot builds a new PriorityState that takes over the previous one's controllers
 * when their classes and spec did not change, so in-flight counts and queues survive a
 * reload; replaced controllers finish what they hold. The in-flight class counts used for
 * inference (infer.ts) carry over the same way, whatever changed.
 */
import type { AdmissionSpec, PrioritySpec } from '../../config/snapshot.js';
import type { PoolClass } from '../cluster/cluster.js';
import type { Headers } from '../filters/filter.js';
import { AdmissionController } from './admission.js';
import type { AdmissionObserver, ShedReason } from './admission.js';
import { classify, compilePolicy } from './classify.js';
import type { CompiledPolicy } from './classify.js';
import { InFlightClasses } from './infer.js';
import { makeLimit } from './limiter.js';
import { BAGGAGE_HEADER, PRIORITY_HEADER, incomingClass, markRequest } from './propagate.js';
import type { ClassSocketOptions } from './socket-hook.js';

/** Where priority metrics go: `scope` is `inbound` or the upstream cluster's name. */
export interface PriorityMetricsSink {
  priorityAdmitted(scope: string, cls: string, queuedSeconds: number): void;
  priorityQueued(scope: string, cls: string): void;
  priorityShed(scope: string, cls: string, reason: ShedReason): void;
  /** Where a request's candidate class came from: it carried one, the sidecar inferred one, or neither. */
  priorityClassified(direction: 'inbound' | 'outbound', cls: string, source: ClassSource): void;
}

/** Where a request's candidate class came from (before trust and rules decide). */
export type ClassSource = 'explicit' | 'inferred' | 'none';

/**
 * The listener a request came in on, as classification sees it: `inbound` (towards the local
 * app), `outbound` (from the app: a missing class may be inferred) or `gateway` (from outside
 * the mesh: an incoming class is not trusted, nothing is inferred).
 */
export type ClassifyRole = 'inbound' | 'outbound' | 'gateway';

/** One admission point, as /stats gauges show it. */
export interface AdmissionGauge {
  scope: string;
  limit: number;
  inFlight: number;
  queued: { cls: string; n: number }[];
}

export const INBOUND_SCOPE = 'inbound';

export class PriorityState {
  readonly policy: CompiledPolicy;
  /** Socket options by class index. */
  readonly socketOptions: readonly ClassSocketOptions[];
  /** Pool key by class index (undefined entries when pools are shared). */
  readonly poolClasses: readonly (PoolClass | undefined)[];
  readonly inbound: AdmissionController | undefined;
  /** Inbound requests at the local app, by class: the source of inferred classes. */
  readonly inFlight: InFlightClasses;
  private readonly outbound = new Map<string, AdmissionController | null>();
  private readonly classesKey: string;

  constructor(
    readonly spec: PrioritySpec,
    private readonly metrics: PriorityMetricsSink | undefined,
    previous?: PriorityState,
  ) {
    this.policy = compilePolicy(spec);
    this.socketOptions = spec.classes.map((c) => ({
      className: c.name,
      ...(c.dscp !== undefined && { dscp: c.dscp }),
      ...(c.soPriority !== undefined && { soPriority: c.soPriority }),
      ...(c.congestion !== undefined && { congestion: c.congestion }),
    }));
    this.poolClasses = this.socketOptions.map((socket, index) => (spec.pools === 'per-class' ? { index, socket } : undefined));
    this.classesKey = JSON.stringify(spec.classes);
    this.inFlight = previous?.inFlight ?? new InFlightClasses();
    const reuse = previous !== undefined && previous.classesKey === this.classesKey ? previous : undefined;
    this.inbound = spec.inbound && this.controller(INBOUND_SCOPE, spec.inbound, reuse?.inbound);
    if (reuse) {
      for (const [name, c] of reuse.outbound) {
        const want = this.outboundSpec(name);
        if (c && want && sameSpec(c.spec, want)) this.outbound.set(name, c);
      }
    }
  }

  /**
   * Classify a request and mark its headers (x-strata-priority + baggage) with the class.
   * An outbound request that carries no known class takes the inferred one (the class every
   * inbound request at the app shares, see infer.ts), exactly as if the app had forwarded it:
   * trusted unless `trustIncoming` is off, and then only where a rule trusts it. The gateway
   * trusts nothing and infers nothing. Returns the class index.
   */
  classifyAndMark(method: string, path: string, headers: Headers, destination: string, role: ClassifyRole): number {
    const p = this.policy;
    let incoming = incomingClass(headers[PRIORITY_HEADER], headers[BAGGAGE_HEADER], p.index);
    let source: ClassSource = incoming >= 0 ? 'explicit' : 'none';
    if (incoming < 0 && role === 'outbound') {
      const name = this.inFlight.inferred();
      if (name !== undefined) {
        incoming = p.index(name);
        if (incoming >= 0) source = 'inferred';
      }
    }
    const cls = classify(p, { method, path, headers, destination }, incoming, role !== 'gateway' && this.spec.trustIncoming);
    const className = p.names[cls] as string;
    markRequest(headers, className);
    this.metrics?.priorityClassified(role === 'inbound' ? 'inbound' : 'outbound', className, source);
    return cls;
  }

  /** The class every inbound request at the app shares now (for AMQP publishes), or undefined. */
  inferredClass(): string | undefined {
    const name = this.inFlight.inferred();
    return name !== undefined && this.policy.index(name) >= 0 ? name : undefined;
  }

  /** The admission controller of upstream cluster `name`, or undefined when it has no limit. */
  forCluster(name: string): AdmissionController | undefined {
    let c = this.outbound.get(name);
    if (c === undefined) {
      const spec = this.outboundSpec(name);
      c = spec ? this.controller(name, spec, undefined) : null;
      this.outbound.set(name, c);
    }
    return c ?? undefined;
  }

  gauges(): AdmissionGauge[] {
    const out: AdmissionGauge[] = [];
    const add = (scope: string, c: AdmissionController): void => {
      out.push({ scope, limit: c.limit.limit, inFlight: c.inFlight, queued: this.policy.names.map((cls, i) => ({ cls, n: c.queued(i) })) });
    };
    if (this.inbound) add(INBOUND_SCOPE, this.inbound);
    for (const [name, c] of this.outbound) if (c) add(name, c);
    return out;
  }

  private outboundSpec(cluster: string): AdmissionSpec | undefined {
    return this.spec.services[cluster] ?? this.spec.outbound;
  }

  private controller(scope: string, spec: AdmissionSpec, previous: AdmissionController | undefined): AdmissionController {
    if (previous && sameSpec(previous.spec, spec)) return previous;
    const names = this.policy.names;
    const m = this.metrics;
    const observer: AdmissionObserver | undefined = m && {
      admitted: (cls, queuedMs) => m.priorityAdmitted(scope, names[cls] as string, queuedMs / 1000),
      queued: (cls) => m.priorityQueued(scope, names[cls] as string),
      shed: (cls, reason) => m.priorityShed(scope, names[cls] as string, reason),
    };
    return new AdmissionController(this.spec.classes, spec, makeLimit(spec.limit), observer);
  }
}

function sameSpec(a: AdmissionSpec, b: AdmissionSpec): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
