/**
 * @module proxy/priority/admission
 * Admission by priority class at one concurrency limit (the inbound side of a sidecar, or
 * one upstream cluster). Under the limit a request is admitted at once. At the limit it
 * waits in its class's FIFO queue; each freed slot goes to the highest-ranked waiting class,
 * except that every waiting class earns its `minShare` per decision and takes the slot once
 * it has earned a whole one — so a flood of high-class traffic cannot starve the others
 * (a class with minShare 0.05 gets at least every 20th slot while it waits). A class with a
 * `maxShare` below 1 holds at most that share of the limit (at least one request) and waits
 * for one of its own to end beyond it, even with slots free: those stay for higher classes,
 * which then never wait behind its requests (htb's ceil, Envoy's per-priority thresholds). When the queues
 * hold `maxQueue` requests, an arrival evicts the newest waiting request of the lowest shed
 * order below its own, or is shed itself. A request that waits `queueTimeoutMs` is shed too.
 *
 * The clock and timers are injected (tests drive them); metrics go to an observer.
 */
import type { AdmissionSpec } from '../../config/snapshot.js';
import type { ConcurrencyLimit } from './limiter.js';

export type ShedReason = 'queue-full' | 'evicted' | 'timeout';

/** What a class contributes to admission decisions. */
export interface AdmissionClass {
  readonly name: string;
  readonly minShare: number;
  /** Ceiling: the most of the limit this class may hold (1 or absent: none). */
  readonly maxShare?: number;
  readonly shedOrder: number;
}

export interface AdmissionHandler {
  /** The request may go (called synchronously from acquire() when there is room). */
  admitted(ticket: Ticket): void;
  /** The request is refused: answer 503 (never called after admitted). */
  rejected(reason: ShedReason, ticket: Ticket): void;
}

export interface AdmissionObserver {
  admitted(cls: number, queuedMs: number): void;
  queued(cls: number): void;
  shed(cls: number, reason: ShedReason): void;
}

export interface AdmissionTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const REAL_TIMERS: AdmissionTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

const EPSILON = 1e-9;

export class Ticket {
  state: 'queued' | 'admitted' | 'released' | 'rejected' | 'cancelled' = 'queued';
  enqueuedAt = 0;
  admittedAt = 0;
  /** In flight when admitted (for the limiter). */
  inFlightAtStart = 0;
  timer: unknown;

  constructor(
    readonly controller: AdmissionController,
    readonly cls: number,
    readonly handler: AdmissionHandler,
  ) {}

  /** The request is over (admitted ones only); `dropped` tells the limiter it failed for load (timeout, 503). */
  release(dropped = false): void {
    if (this.state !== 'admitted') return;
    this.state = 'released';
    this.controller.released(this, dropped);
  }

  /** The client left while waiting: leave the queue quietly. */
  cancel(): void {
    if (this.state !== 'queued') return;
    this.state = 'cancelled';
    this.controller.remove(this);
  }
}

export class AdmissionController {
  inFlight = 0;
  /** In flight by class index. */
  private readonly held: number[];
  private readonly queues: Ticket[][];
  private readonly credit: number[];
  private queuedTotal = 0;
  /** Class indexes from the lowest shed order up (ties: lowest rank, i.e. highest index, first). */
  private readonly shedOrder: number[];

  constructor(
    readonly classes: readonly AdmissionClass[],
    readonly spec: AdmissionSpec,
    readonly limit: ConcurrencyLimit,
    private readonly observer?: AdmissionObserver,
    private readonly timers: AdmissionTimers = REAL_TIMERS,
  ) {
    this.queues = classes.map(() => []);
    this.held = classes.map(() => 0);
    this.credit = classes.map(() => 0);
    this.shedOrder = classes.map((_, i) => i).sort((a, b) => (classes[a] as AdmissionClass).shedOrder - (classes[b] as AdmissionClass).shedOrder || b - a);
  }

  /** Requests waiting, by class index. */
  queued(cls?: number): number {
    return cls === undefined ? this.queuedTotal : (this.queues[cls]?.length ?? 0);
  }

  /** Ask to send a request of class `cls`; the handler hears the verdict (now or later). */
  acquire(cls: number, handler: AdmissionHandler): Ticket {
    const t = new Ticket(this, cls, handler);
    const now = this.timers.now();
    t.enqueuedAt = now;
    if (this.inFlight < this.limit.limit && this.underCeiling(cls) && !this.eligibleWaiting()) {
      this.admit(t, now);
      return t;
    }
    if (this.queuedTotal >= this.spec.maxQueue) {
      const victim = this.victimFor(cls);
      if (victim === undefined) {
        this.reject(t, 'queue-full');
        return t;
      }
      const q = this.queues[victim] as Ticket[];
      const evicted = q.pop() as Ticket;
      this.queuedTotal--;
      if (q.length === 0) this.credit[victim] = 0;
      this.reject(evicted, 'evicted');
    }
    (this.queues[cls] as Ticket[]).push(t);
    this.queuedTotal++;
    t.timer = this.timers.setTimeout(() => this.timedOut(t), this.spec.queueTimeoutMs);
    this.observer?.queued(cls);
    return t;
  }

  /** @internal a ticket's release(). */
  released(t: Ticket, dropped: boolean): void {
    this.inFlight--;
    this.held[t.cls] = (this.held[t.cls] as number) - 1;
    this.limit.onSample(this.timers.now() - t.admittedAt, t.inFlightAtStart, dropped);
    this.dispatch();
  }

  /** @internal a queued ticket leaves (cancelled). */
  remove(t: Ticket): void {
    const q = this.queues[t.cls] as Ticket[];
    const i = q.indexOf(t);
    if (i < 0) return;
    q.splice(i, 1);
    this.queuedTotal--;
    if (q.length === 0) this.credit[t.cls] = 0;
    this.timers.clearTimeout(t.timer);
  }

  /** Admit waiting requests while there is room (after a release, or when the limit grew). */
  dispatch(): void {
    while (this.queuedTotal > 0 && this.inFlight < this.limit.limit) {
      const cls = this.pickClass();
      if (cls < 0) return; // only classes at their ceiling are waiting
      const q = this.queues[cls] as Ticket[];
      const t = q.shift() as Ticket;
      this.queuedTotal--;
      if (q.length === 0) this.credit[cls] = 0;
      this.timers.clearTimeout(t.timer);
      this.admit(t, this.timers.now());
    }
  }

  /** Requests of class `cls` in flight. */
  holding(cls: number): number {
    return this.held[cls] ?? 0;
  }

  /** Whether class `cls` may take one more slot: below its maxShare of the current limit (at least one). */
  private underCeiling(cls: number): boolean {
    const share = (this.classes[cls] as AdmissionClass).maxShare ?? 1;
    if (share >= 1) return true;
    return (this.held[cls] as number) < Math.max(1, Math.floor(share * this.limit.limit + EPSILON));
  }

  /** Some class below its ceiling has a request waiting (a new arrival must not pass it). */
  private eligibleWaiting(): boolean {
    for (let c = 0; c < this.queues.length; c++) if ((this.queues[c] as Ticket[]).length > 0 && this.underCeiling(c)) return true;
    return false;
  }

  /** The class whose request gets the next free slot; -1 when every waiting class is at its ceiling. */
  private pickClass(): number {
    let top = -1;
    for (let c = 0; c < this.queues.length; c++) {
      if ((this.queues[c] as Ticket[]).length === 0 || !this.underCeiling(c)) continue;
      if (top < 0) top = c;
      this.credit[c] = (this.credit[c] as number) + (this.classes[c] as AdmissionClass).minShare;
    }
    if (top < 0) return -1;
    for (let c = 0; c < this.queues.length; c++) {
      if ((this.queues[c] as Ticket[]).length > 0 && this.underCeiling(c) && (this.credit[c] as number) >= 1 - EPSILON) {
        this.credit[c] = (this.credit[c] as number) - 1;
        return c;
      }
    }
    this.credit[top] = Math.max(0, (this.credit[top] as number) - 1);
    return top;
  }

  /** The class to evict from for an arrival of class `cls`, or undefined (shed the arrival). */
  private victimFor(cls: number): number | undefined {
    const mine = (this.classes[cls] as AdmissionClass).shedOrder;
    for (const c of this.shedOrder) {
      if ((this.classes[c] as AdmissionClass).shedOrder >= mine) return undefined;
      if ((this.queues[c] as Ticket[]).length > 0) return c;
    }
    return undefined;
  }

  private admit(t: Ticket, now: number): void {
    t.state = 'admitted';
    t.admittedAt = now;
    this.inFlight++;
    this.held[t.cls] = (this.held[t.cls] as number) + 1;
    t.inFlightAtStart = this.inFlight;
    this.observer?.admitted(t.cls, now - t.enqueuedAt);
    t.handler.admitted(t);
  }

  private reject(t: Ticket, reason: ShedReason): void {
    this.timers.clearTimeout(t.timer);
    t.state = 'rejected';
    this.observer?.shed(t.cls, reason);
    t.handler.rejected(reason, t);
  }

  private timedOut(t: Ticket): void {
    if (t.state !== 'queued') return;
    this.remove(t);
    this.reject(t, 'timeout');
  }
}
