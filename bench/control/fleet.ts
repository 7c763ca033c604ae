/**
 * @module bench/control/fleet
 * The simulated clients as seen from the bench's main thread: spread over worker threads
 * (client-worker.ts), started together, armed before each change and collected after it.
 */
import { Worker } from 'node:worker_threads';
import type { ClientSpec, Protocol, Watched } from './ads-client.js';
import { INITIAL_TOKEN } from './worker-protocol.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

export interface RoundResult {
  /** ACK time of every client (epoch ms), null when it did not ACK before the deadline. */
  times: (number | null)[];
  /** Event-loop utilisation of each worker over the round (1 = the bench was saturated). */
  elu: number[];
  /** Streams that ended so far, and the last reason. */
  ended: number;
  lastEnd: string;
  /** Clusters and Listeners held by the first client of each worker. */
  samples: { clusters: number; listeners: number }[];
}

export interface FleetOptions {
  port: number;
  protocol: Protocol;
  clients: ClientSpec[];
  workers: number;
  streamsPerChannel: number;
  watched: Watched[];
}

type Waiter = { match: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void };

class WorkerHandle {
  readonly #worker: Worker;
  readonly #waiters = new Set<Waiter>();
  #failure: Error | undefined;

  constructor() {
    this.#worker = new Worker(new URL('./client-worker.js', import.meta.url));
    this.#worker.on('message', (m: FromWorker) => {
      if (m.type === 'error') this.#fail(new Error(`client worker: ${m.message}`));
      for (const w of [...this.#waiters]) {
        if (w.match(m)) {
          this.#waiters.delete(w);
          w.resolve(m);
        }
      }
    });
    this.#worker.on('error', (e) => this.#fail(e));
    this.#worker.on('exit', (code) => this.#fail(new Error(`client worker exited with ${code}`)));
  }

  #fail(e: Error): void {
    this.#failure ??= e;
  }

  send(m: ToWorker): void {
    if (this.#failure) throw this.#failure;
    this.#worker.postMessage(m);
  }

  /** The next message that matches, or undefined after `timeoutMs`. */
  wait<T extends FromWorker>(match: (m: FromWorker) => m is T, timeoutMs: number): Promise<T | undefined> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve(undefined);
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  failure(): Error | undefined {
    return this.#failure;
  }

  terminate(): Promise<number> {
    this.#failure ??= new Error('terminated');
    return this.#worker.terminate();
  }
}

const isDone = (token: number) => (m: FromWorker): m is Extract<FromWorker, { type: 'done' }> => m.type === 'done' && m.token === token;

export class Fleet {
  readonly #workers: WorkerHandle[];
  readonly #shares: ClientSpec[][];
  #nextToken = INITIAL_TOKEN + 1;

  private constructor(workers: WorkerHandle[], shares: ClientSpec[][]) {
    this.#workers = workers;
    this.#shares = shares;
  }

  /** Starts the workers and opens every stream; resolve with the first round (initial config) pending. */
  static async start(o: FleetOptions): Promise<{ fleet: Fleet; openedAt: number; initial: (timeoutMs: number) => Promise<RoundResult> }> {
    const n = Math.max(1, Math.min(o.workers, o.clients.length));
    const shares: ClientSpec[][] = Array.from({ length: n }, () => []);
    o.clients.forEach((c, i) => shares[i % n]?.push(c));
    const workers = shares.map(() => new WorkerHandle());
    const fleet = new Fleet(workers, shares);
    const done = workers.map((w) => w.wait(isDone(INITIAL_TOKEN), 24 * 3600_000));
    const opened = await Promise.all(
      workers.map(async (w, i) => {
        const started = w.wait((m): m is Extract<FromWorker, { type: 'started' }> => m.type === 'started', 60_000);
        w.send({ type: 'start', port: o.port, protocol: o.protocol, clients: shares[i] ?? [], streamsPerChannel: o.streamsPerChannel, watched: o.watched });
        const m = await started;
        if (!m) throw w.failure() ?? new Error('client worker did not start');
        return m.openedAt;
      }),
    );
    return { fleet, openedAt: Math.min(...opened), initial: (timeoutMs) => fleet.#collect(INITIAL_TOKEN, done, timeoutMs) };
  }

  /**
   * Arms every client to time the next change of the watched resource of `typeUrl`, then runs
   * `change` (the clock starts just before it) and waits for every ACK or the deadline.
   */
  async timeChange(typeUrl: string, change: () => Promise<unknown>, timeoutMs: number): Promise<{ start: number; result: RoundResult }> {
    const token = this.#nextToken++;
    await Promise.all(
      this.#workers.map(async (w) => {
        const armed = w.wait((m): m is FromWorker => m.type === 'armed' && m.token === token, 10_000);
        w.send({ type: 'arm', token, typeUrl });
        if (!(await armed)) throw w.failure() ?? new Error('client worker did not arm');
      }),
    );
    const done = this.#workers.map((w) => w.wait(isDone(token), timeoutMs + 60_000));
    const start = performance.timeOrigin + performance.now();
    await change();
    const left = Math.max(0, start + timeoutMs - (performance.timeOrigin + performance.now()));
    return { start, result: await this.#collect(token, done, left) };
  }

  async #collect(token: number, done: Promise<Extract<FromWorker, { type: 'done' }> | undefined>[], timeoutMs: number): Promise<RoundResult> {
    const deadline = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    if ((await Promise.race([Promise.all(done), deadline])) === 'timeout') {
      for (const w of this.#workers) w.send({ type: 'collect', token });
    }
    const results = await Promise.all(done);
    const times: (number | null)[] = [];
    const elu: number[] = [];
    let ended = 0;
    let lastEnd = '';
    const samples: RoundResult['samples'] = [];
    results.forEach((r, i) => {
      if (!r) throw this.#workers[i]?.failure() ?? new Error('client worker did not report');
      times.push(...r.times);
      elu.push(r.elu);
      ended += r.ended;
      if (r.lastEnd) lastEnd = r.lastEnd;
      samples.push(r.sample);
    });
    return { times, elu, ended, lastEnd, samples };
  }

  /** Closes every stream and ends the workers. */
  async stop(): Promise<void> {
    await Promise.all(
      this.#workers.map(async (w) => {
        try {
          const stopped = w.wait((m): m is FromWorker => m.type === 'stopped', 5000);
          w.send({ type: 'stop' });
          await stopped;
        } catch {
          // already failed: terminate below
        }
        await w.terminate();
      }),
    );
  }

  size(): number {
    return this.#shares.reduce((a, s) => a + s.length, 0);
  }
}
