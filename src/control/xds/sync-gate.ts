/**
 * @module control/xds/sync-gate
 * Bounds how many streams receive their initial configuration at once. A client that connects
 * gets everything it subscribes to in its first responses — for a whole-mesh client about 1 MB
 * — and a control plane that 1,000 clients reconnect to at once would otherwise hold all of
 * those responses in memory together. A stream enters the gate on its first request and waits
 * (its requests queued) while `limit` others are syncing; it leaves once it has ACKed (or
 * NACKed) everything it subscribed to, when it ends, or after `timeoutMs`.
 */
export class SyncGate {
  readonly #limit: number;
  readonly #timeoutMs: number;
  readonly #active = new Map<number, NodeJS.Timeout>();
  readonly #waiting = new Map<number, () => void>();

  constructor(limit: number, timeoutMs: number) {
    if (!(limit >= 1)) throw new Error(`SyncGate: limit must be at least 1, got ${limit}`);
    this.#limit = limit;
    this.#timeoutMs = timeoutMs;
  }

  /** Run `start` now if a slot is free, else once one frees up (in arrival order). */
  enter(id: number, start: () => void): void {
    if (this.#active.has(id) || this.#waiting.has(id)) return;
    if (this.#active.size < this.#limit) this.#admit(id, start);
    else this.#waiting.set(id, start);
  }

  /** The stream synced, ended or gave up waiting: free its slot (or its place in line). */
  leave(id: number): void {
    if (this.#waiting.delete(id)) return;
    const timer = this.#active.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#active.delete(id);
    for (const [next, start] of this.#waiting) {
      if (this.#active.size >= this.#limit) break;
      this.#waiting.delete(next);
      this.#admit(next, start);
    }
  }

  /** Streams syncing now / waiting for a slot. */
  counts(): { active: number; waiting: number } {
    return { active: this.#active.size, waiting: this.#waiting.size };
  }

  #admit(id: number, start: () => void): void {
    const timer = setTimeout(() => this.leave(id), this.#timeoutMs);
    timer.unref();
    this.#active.set(id, timer);
    start();
  }
}
