/**
 * @module proxy/balancer/round-robin
 * Weighted round robin by earliest-deadline-first scheduling (stride scheduling): every
 * endpoint is due again one stride (∝ 1/weight) after its last pick, and the endpoint due
 * soonest is picked. Picks of heavy endpoints are spread between those of light ones rather
 * than bunched, equal weights give a strict rotation in list order, and each pick is
 * O(log n) on a binary heap kept in typed arrays, so it allocates nothing.
 *
 * Deadlines are integers (strides are 2^32 / weight, rounded), so equal deadlines compare
 * equal and the schedule repeats exactly instead of drifting with floating-point error; they
 * are rebased towards 0 long before they could lose precision. Ties go to whichever endpoint
 * has waited longest (a sequence number stamped on every pick), which is what makes equal
 * weights rotate. Each update() starts the schedule afresh and skips a random number of
 * picks (0 … n-1), so sidecars that see the same membership change at the same time do not
 * all send their next request to the same endpoint.
 */
import type { LoadBalancerSpec } from '../../config/snapshot.js';
import type { Endpoint } from '../cluster/endpoint.js';
import type { Balancer, BalancerFactory, PickContext } from './balancer.js';
import { registerBalancer } from './registry.js';
import { effectiveWeight, uniformIndex } from './sampling.js';

export const ROUND_ROBIN = 'round-robin';

/** Stride of an endpoint of weight 1. */
const STRIDE_UNIT = 2 ** 32;
/** Largest stride (weights below ~2^-16 are treated as 2^-16). */
const MAX_STRIDE = 2 ** 48;
/** Deadlines past this are rebased; with MAX_STRIDE added they stay below 2^53. */
const REBASE_AT = 2 ** 52;

export class RoundRobinBalancer implements Balancer {
  private endpoints: readonly Endpoint[] = [];
  /** Min-heap of endpoint indices ordered by (deadline, seq). */
  private heap = new Int32Array(0);
  private deadline = new Float64Array(0);
  private seq = new Float64Array(0);
  /** ∝ 1 / weight: how much later an endpoint is due again after a pick. */
  private stride = new Float64Array(0);
  private nextSeq = 0;

  constructor(private readonly random: () => number = Math.random) {}

  update(endpoints: readonly Endpoint[]): void {
    const n = endpoints.length;
    this.endpoints = endpoints.slice();
    this.heap = new Int32Array(n);
    this.deadline = new Float64Array(n);
    this.seq = new Float64Array(n);
    this.stride = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const stride = Math.min(MAX_STRIDE, Math.max(1, Math.round(STRIDE_UNIT / effectiveWeight(endpoints[i]!))));
      this.stride[i] = stride;
      // Stagger the first deadlines across one stride, in list order: equal weights rotate
      // in list order, and light endpoints do not all fall due at the same moment.
      this.deadline[i] = Math.floor((stride * (2 * i + 1)) / (2 * n));
      this.seq[i] = i;
      this.heap[i] = i;
    }
    this.nextSeq = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
    if (n > 1) {
      for (let skip = uniformIndex(this.random, n); skip > 0; skip--) this.advance();
    }
  }

  pick(_ctx: PickContext): Endpoint | undefined {
    if (this.endpoints.length === 0) return undefined;
    return this.endpoints[this.advance()];
  }

  /** Take the endpoint due soonest, reschedule it, and return its index. */
  private advance(): number {
    const top = this.heap[0]!;
    const next = this.deadline[top]! + this.stride[top]!;
    this.deadline[top] = next;
    this.seq[top] = this.nextSeq++;
    this.siftDown(0);
    if (next > REBASE_AT) this.rebase();
    return top;
  }

  /** Shift every deadline down by the earliest one; the order is unchanged. */
  private rebase(): void {
    const base = this.deadline[this.heap[0]!]!;
    for (let i = 0; i < this.deadline.length; i++) this.deadline[i] = this.deadline[i]! - base;
  }

  private before(a: number, b: number): boolean {
    const da = this.deadline[a]!;
    const db = this.deadline[b]!;
    return da < db || (da === db && this.seq[a]! < this.seq[b]!);
  }

  private siftDown(at: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[at]!;
    let i = at;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.before(heap[right]!, heap[left]!)) child = right;
      const c = heap[child]!;
      if (!this.before(c, item)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = item;
  }
}

export const roundRobinFactory: BalancerFactory = {
  name: ROUND_ROBIN,
  create(_spec: LoadBalancerSpec, random?: () => number): Balancer {
    return new RoundRobinBalancer(random);
  },
};

export function setup(): void {
  registerBalancer(roundRobinFactory);
}
