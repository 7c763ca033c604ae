/**
 * @module proxy/listeners/listener
 * The listener contract the sidecar manages, and the bind/port helpers every listener
 * kind shares.
 */
import type net from 'node:net';

export interface Listener {
  /** Bind; resolves with the bound port, rejects naming the listener and address. */
  listen(): Promise<number>;
  port(): number;
  /** Stop accepting; resolves when the last connection is gone. */
  stopAccepting(): Promise<void>;
  /** Close everything now. */
  destroy(): void;
}

export function listenOn(server: net.Server, name: string, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(new Error(`listener ${name}: cannot listen on ${address}:${port}: ${err.message}`));
    server.once('error', onError);
    server.listen(port, address, () => {
      server.off('error', onError);
      resolve(boundPort(server, port));
    });
  });
}

export function boundPort(server: net.Server, fallback: number): number {
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : fallback;
}
