/**
 * @module bench/control/worker-protocol
 * Messages between the bench's main thread (fleet.ts) and a client worker (client-worker.ts).
 */
import type { ClientSpec, Protocol, Watched } from './ads-client.js';

export interface WorkerStart {
  type: 'start';
  port: number;
  protocol: Protocol;
  clients: ClientSpec[];
  streamsPerChannel: number;
  watched: Watched[];
}
export type ToWorker = WorkerStart | { type: 'arm'; token: number; typeUrl: string } | { type: 'collect'; token: number } | { type: 'stop' };

export type FromWorker =
  /** openedAt: when the worker began opening streams (epoch ms), after loading the proto. */
  | { type: 'started'; openedAt: number }
  | { type: 'armed'; token: number }
  /** ACK times (epoch ms) per client, null = not ACKed; elu: event-loop utilisation since arm. */
  | { type: 'done'; token: number; times: (number | null)[]; elu: number; ended: number; lastEnd: string; sample: { clusters: number; listeners: number } }
  | { type: 'stopped' }
  | { type: 'error'; message: string };

/** Token of the initial configuration. */
export const INITIAL_TOKEN = 0;
