/**
 * @module proxy/priority/infer
 * Way 3 of carrying a class through an app: inference in the sidecar, for apps that neither
 * forward baggage nor run with `strata/propagate`. The sidecar counts the inbound requests it
 * has handed to the local app and not yet finished, by class; a request the app sends out
 * without a class (and an AMQP publish without one) gets the class those requests share.
 *
 * Best effort, by construction: when the in-flight requests do not all share one class, nothing
 * is inferred (the request falls through to the PriorityPolicy rules, then the default class) —
 * promoting to the highest class would let bulk work borrow latency-sensitive treatment, and
 * demoting to the lowest would slow the urgent request down; neither is known to be right. A
 * call the app makes after its response ended, or from a timer or a queue consumer, is
 * attributed to whatever is in flight at that moment. Counting is by class name, so the counts
 * survive reloads that reorder or rename classes (an unknown name then infers nothing).
 */

export class InFlightClasses {
  /** Class name → requests in flight; only classes with at least one are present. */
  private readonly counts = new Map<string, number>();

  /** An inbound request of class `name` reached the app. */
  enter(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }

  /** That request ended (response complete, error, or client gone). */
  leave(name: string): void {
    const n = this.counts.get(name);
    if (n === undefined) return;
    if (n <= 1) this.counts.delete(name);
    else this.counts.set(name, n - 1);
  }

  /** The class every in-flight request shares, or undefined when none is in flight or classes are mixed. */
  inferred(): string | undefined {
    if (this.counts.size !== 1) return undefined;
    for (const name of this.counts.keys()) return name;
    return undefined;
  }

  /** Requests in flight by class (for tests and dumps). */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
