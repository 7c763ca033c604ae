/**
 * @module control/xds/test-client
 * A raw ADS client for tests: opens a SotW or delta stream with the same proto as the server,
 * queues responses, and lets a test wait for the next one, assert that none arrives, or wait
 * for the stream's final status.
 */
import * as grpc from '@grpc/grpc-js';
import { adsService } from './ads-proto.js';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse } from './ads-proto.js';

export class AdsTestStream<Req, Res> {
  readonly #call: grpc.ClientDuplexStream<Req, Res>;
  readonly #queue: Res[] = [];
  #waiter: (() => void) | undefined;
  readonly ended: Promise<grpc.StatusObject>;

  constructor(call: grpc.ClientDuplexStream<Req, Res>) {
    this.#call = call;
    call.on('data', (res: Res) => {
      this.#queue.push(res);
      this.#waiter?.();
    });
    this.ended = new Promise((resolve) => {
      call.on('status', (s: grpc.StatusObject) => {
        resolve(s);
        this.#waiter?.();
      });
    });
    call.on('error', () => {});
  }

  send(req: Req): void {
    this.#call.write(req);
  }

  /** The next response; rejects after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<Res> {
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
    return this.#queue.shift() as Res;
  }

  /** Resolves if no response arrives within `ms`; rejects with the response otherwise. */
  async none(ms = 300): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.#queue.length > 0) throw new Error(`unexpected response: ${JSON.stringify(this.#queue[0])}`);
  }

  close(): void {
    this.#call.cancel();
  }
}

export type SotwTestStream = AdsTestStream<DiscoveryRequest, DiscoveryResponse>;
export type DeltaTestStream = AdsTestStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

export class AdsTestClient {
  readonly client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  constructor(port: number) {
    const Ctor = adsService();
    this.client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as AdsTestClient['client'];
  }

  sotw(): SotwTestStream {
    const call = this.client['StreamAggregatedResources']!() as grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
    return new AdsTestStream(call);
  }

  delta(): DeltaTestStream {
    const call = this.client['DeltaAggregatedResources']!() as grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
    return new AdsTestStream(call);
  }

  /** A stream that sends raw bytes (for malformed-request tests). */
  raw(): AdsTestStream<Buffer, Buffer> {
    const call = this.client.makeBidiStreamRequest(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    return new AdsTestStream(call);
  }

  close(): void {
    this.client.close();
  }
}
