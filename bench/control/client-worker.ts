/**
 * @module bench/control/client-worker
 * A worker thread that runs a share of the simulated xDS clients (so the bench's main thread
 * stays free to time REST calls). Streams share gRPC channels, `streamsPerChannel` each; every
 * channel has its own subchannel pool, i.e. its own HTTP/2 connection.
 *
 * Protocol (messages, see fleet.ts): start → `started`, then `done` for token 0 (the initial
 * config); `arm` → `armed`, then `done` when every client has ACKed the change (or on
 * `collect`, with what it has); `stop` → `stopped`.
 */
import { parentPort } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import { adsService } from '../../src/control/xds/ads-proto.js';
import { DeltaClient, SotwClient, nowMs } from './ads-client.js';
import { INITIAL_TOKEN } from './worker-protocol.js';
import type { FromWorker, ToWorker, WorkerStart } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('client-worker must run in a worker thread');
const post = (m: FromWorker): void => port.postMessage(m);

let clients: (SotwClient | DeltaClient)[] = [];
let channels: grpc.Client[] = [];
let ended = 0;
let lastEnd = '';
/** Per token: ACK times and the ELU at arm time. */
const rounds = new Map<number, { times: (number | null)[]; left: number; elu: ReturnType<typeof performance.eventLoopUtilization>; reported: boolean }>();

function round(token: number): void {
  rounds.set(token, { times: clients.map(() => null), left: clients.length, elu: performance.eventLoopUtilization(), reported: false });
}

function report(token: number): void {
  const r = rounds.get(token);
  if (!r || r.reported) return;
  r.reported = true;
  const sample = clients[0]?.counts() ?? { clusters: 0, listeners: 0 };
  post({ type: 'done', token, times: r.times, elu: performance.eventLoopUtilization(r.elu).utilization, ended, lastEnd, sample });
}

function record(token: number, index: number, at: number): void {
  const r = rounds.get(token);
  if (!r || r.times[index] !== null) return;
  r.times[index] = at;
  if (--r.left === 0) report(token);
}

function start(m: WorkerStart): void {
  const Ctor = adsService();
  const target = `127.0.0.1:${m.port}`;
  const openedAt = nowMs();
  clients = m.clients.map((spec, i) => {
    if (i % m.streamsPerChannel === 0) {
      channels.push(
        new Ctor(target, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
          'grpc.max_receive_message_length': -1,
          'grpc.max_send_message_length': -1,
        }),
      );
    }
    const ch = channels[channels.length - 1] as grpc.Client & Record<string, () => unknown>;
    const events = {
      ready: (at: number) => record(INITIAL_TOKEN, i, at),
      changed: (token: number, at: number) => record(token, i, at),
      ended: (why: string) => {
        ended++;
        lastEnd = why;
      },
    };
    const c =
      m.protocol === 'sotw'
        ? new SotwClient(ch['StreamAggregatedResources']!() as ConstructorParameters<typeof SotwClient>[0], spec, m.watched, events)
        : new DeltaClient(ch['DeltaAggregatedResources']!() as ConstructorParameters<typeof DeltaClient>[0], spec, m.watched, events);
    return c;
  });
  round(INITIAL_TOKEN);
  for (const c of clients) c.start();
  post({ type: 'started', openedAt });
}

port.on('message', (m: ToWorker) => {
  try {
    switch (m.type) {
      case 'start':
        start(m);
        break;
      case 'arm':
        round(m.token);
        for (const c of clients) c.arm(m.token, m.typeUrl);
        post({ type: 'armed', token: m.token });
        break;
      case 'collect':
        report(m.token);
        break;
      case 'stop':
        for (const c of clients) c.close();
        for (const ch of channels) ch.close();
        clients = [];
        channels = [];
        post({ type: 'stopped' });
        break;
    }
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
