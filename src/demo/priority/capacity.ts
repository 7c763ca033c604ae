/**
 * @module demo/priority/capacity
 * A service's capacity in user space: at most `slots` requests do their work at once (a FIFO
 * semaphore), and each holds its slot for a fixed time. The wait is a sleep, not a busy loop,
 * so a saturated service queues requests without taking the machine's CPU from the others.
 * FIFO on purpose: the app knows nothing of priority.
 */
export class Capacity {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  /** Requests that had to wait for a slot (for the /stats answer). */
  queued = 0;

  constructor(readonly slots: number) {}

  /** Hold one slot for `ms` milliseconds (after waiting for it). `slots` ≤ 0: no limit. */
  async work(ms: number): Promise<void> {
    if (this.slots <= 0) {
      await sleep(ms);
      return;
    }
    if (this.busy >= this.slots) {
      this.queued += 1;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.busy += 1;
    }
    try {
      await sleep(ms);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy -= 1;
    }
  }

  get inUse(): number {
    return this.busy;
  }

  get queueLength(): number {
    return this.waiting.length;
  }
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}
