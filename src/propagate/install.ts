/**
 * @module propagate/install
 * Installs context propagation in this process: servers run each request's handlers in its
 * context (inbound.ts); node:http/https clients (outbound-http.ts) and undici — the built-in
 * fetch and the npm package (outbound-undici.ts) — add the context's headers to the requests
 * made on its behalf; amqplib publishes carry them and consumers run in their message's
 * context (amqp.ts). Idempotent across copies of this module (a process-wide flag).
 */
import { installAmqp } from './amqp.js';
import { installServers } from './inbound.js';
import { installHttpClients } from './outbound-http.js';
import { installUndici } from './outbound-undici.js';

const INSTALLED = Symbol.for('strata.propagate.installed');

/** Install once per process; returns false when it was already installed. */
export function installPropagation(): boolean {
  const g = globalThis as { [INSTALLED]?: true };
  if (g[INSTALLED]) return false;
  g[INSTALLED] = true;
  installServers();
  installHttpClients();
  installUndici();
  installAmqp();
  return true;
}
