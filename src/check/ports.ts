/**
 * @module check/ports
 * Ports free: bind each port and close it at once. The set: the control plane's API and ADS
 * ports (the API port is the --control URL's when that URL is local), every listener of the
 * -f sidecar configs (on its declared address), and each --port (on 127.0.0.1). A port held
 * by the strata control plane that answered the control check is ok, not a conflict.
 */
import { DEFAULT_API_PORT } from '../control/api/server.js';
import { DEFAULT_CONTROL_ADDRESS, DEFAULT_XDS_PORT } from '../control/control-plane.js';
import type { Snapshot } from '../config/snapshot.js';
import { fail, ok } from './checks.js';
import type { Check, CheckContext } from './checks.js';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', '0.0.0.0']);

/** One port to try, with what wants it. */
export interface PortWant {
  port: number;
  host: string;
  labels: string[];
  /** Set for a port of the control plane itself. */
  control?: 'api' | 'ads';
  /** The config file that declares it, for the fix. */
  source?: string;
}

/** The port of a local control URL, else undefined. */
export function localControlPort(control: string): number | undefined {
  let u: URL;
  try {
    u = new URL(control);
  } catch {
    return undefined;
  }
  if (!LOCAL_HOSTS.has(u.hostname)) return undefined;
  return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
}

/** Every listener a sidecar snapshot opens, labelled like its config field. */
export function snapshotListeners(s: Snapshot): { port: number; host: string; label: string }[] {
  const sc = s.sidecar;
  const out: { port: number; host: string; label: string }[] = [];
  if (sc.inbound) out.push({ port: sc.inbound.port, host: sc.inbound.address, label: 'inbound.port' });
  if (sc.outbound) out.push({ port: sc.outbound.port, host: sc.outbound.address, label: 'outbound.proxyPort' });
  sc.localPorts.forEach((p, i) => out.push({ port: p.port, host: p.address, label: `outbound.ports[${i}].port → ${p.service}` }));
  if (sc.admin) out.push({ port: sc.admin.port, host: sc.admin.address, label: 'admin.port' });
  if (sc.gateway) out.push({ port: sc.gateway.port, host: sc.gateway.address, label: 'gateway.port' });
  if (sc.amqp) out.push({ port: sc.amqp.port, host: sc.amqp.address, label: 'amqp.port' });
  return out;
}

/** The ports to try, merged by host:port so each is tried once. */
export function wantedPorts(ctx: CheckContext): PortWant[] {
  const byKey = new Map<string, PortWant>();
  const add = (w: PortWant): void => {
    const key = `${w.host}:${w.port}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, { ...w, labels: [...w.labels] });
    else {
      seen.labels.push(...w.labels);
      seen.control ??= w.control;
      seen.source ??= w.source;
    }
  };
  add({ port: localControlPort(ctx.control) ?? DEFAULT_API_PORT, host: DEFAULT_CONTROL_ADDRESS, labels: ['control API'], control: 'api' });
  add({ port: DEFAULT_XDS_PORT, host: DEFAULT_CONTROL_ADDRESS, labels: ['ADS'], control: 'ads' });
  for (const c of ctx.configs) {
    if (!c.result.ok) continue;
    for (const l of snapshotListeners(c.result.value)) add({ port: l.port, host: l.host, labels: [`${c.path} ${l.label}`], source: c.path });
  }
  for (const p of ctx.ports) add({ port: p, host: DEFAULT_CONTROL_ADDRESS, labels: ['--port'] });
  return [...byKey.values()];
}

/** `running`: the control plane the control check found, if any. */
export async function checkPorts(ctx: CheckContext, running?: URL): Promise<Check[]> {
  const runningPort = running ? localControlPort(running.href) : undefined;
  const wants = wantedPorts(ctx);
  const results = await Promise.all(wants.map((w) => ctx.probes.bind(w.host, w.port)));
  return wants.map((w, i) => verdict(w, results[i], runningPort));
}

function verdict(w: PortWant, err: string | undefined, runningPort: number | undefined): Check {
  const what = `${w.port} (${w.labels.join(', ')})`;
  const where = w.host === DEFAULT_CONTROL_ADDRESS ? '' : ` on ${w.host}`;
  if (err === undefined) return ok('ports', `${what} free${where}`);
  if (err === 'EADDRINUSE') {
    // The API port answered the control check; the ADS port beside it is the same process's.
    if (runningPort !== undefined && (w.port === runningPort || (w.control === 'ads' && runningPort === DEFAULT_API_PORT))) {
      return ok('ports', `${what} in use by a running strata control`);
    }
    return fail('ports', `${what} in use${where}`, `stop the process using it (\`ss -ltnp 'sport = :${w.port}'\`) or choose another port${w.source ? ` in ${w.source}` : ''}`);
  }
  if (err === 'EACCES') return fail('ports', `${what}: permission denied${where}`, `choose a port >= 1024${w.source ? ` in ${w.source}` : ''} or run as root`);
  if (err === 'EADDRNOTAVAIL') return fail('ports', `${what}: address ${w.host} is not on this machine`, `edit ${w.source ?? 'the config'}: listen on 0.0.0.0, 127.0.0.1 or an address of this machine (\`ip -br addr\`)`);
  return fail('ports', `${what}: cannot bind${where} (${err})`, `choose another port${w.source ? ` in ${w.source}` : ''}`);
}
