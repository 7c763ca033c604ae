/**
 * @module cli/verbs/gateway
 * `strata gateway --port 8080 --config FILE|DIR [--xds H:P]`: an ingress sidecar for traffic
 * from outside the mesh. Its listener routes by Host like the outbound proxy (or to
 * `--default-service`), classifies every request with the PriorityPolicy rules, and does
 * not trust a class the client sent (x-strata-priority / baggage strata.priority are
 * overwritten) unless a rule says `trustIncoming`. The configuration is the usual resource
 * files; a Sidecar resource is optional (one named `gateway` is assumed), and the flags set
 * its `gateway` listener. Hot reload, xDS and drain work as in `strata proxy`.
 */
import { fail } from '../../errors.js';
import type { Decoded } from '../../errors.js';
import { compileSnapshot } from '../../config/compile.js';
import { API_VERSION } from '../../config/resources.js';
import type { Resource, SidecarResource } from '../../config/resources.js';
import type { Snapshot } from '../../config/snapshot.js';
import { loadResources } from '../../config/loader.js';
import { compileLocal } from '../../proxy/xds/local.js';
import { commonFlags, nodeIdFor, serveSidecar } from '../serve-sidecar.js';
import type { Verb } from '../verb.js';

export interface GatewayFlags {
  port?: number;
  address?: string;
  defaultService?: string;
  adminPort?: number;
}

/**
 * The resources of a gateway: the files' own, with the Sidecar (or a new `Sidecar/gateway`)
 * given the gateway listener and admin port from the flags.
 */
export function gatewayResources(resources: readonly Resource[], flags: GatewayFlags): Resource[] {
  const out = [...resources];
  const i = out.findIndex((r) => r.kind === 'Sidecar');
  const base: SidecarResource =
    i >= 0 ? (out[i] as SidecarResource) : ({ apiVersion: API_VERSION, kind: 'Sidecar', metadata: { name: 'gateway', namespace: 'default' }, spec: {} } as SidecarResource);
  const spec = { ...base.spec };
  if (flags.port !== undefined) {
    spec.gateway = {
      ...spec.gateway,
      port: flags.port,
      ...(flags.address !== undefined && { address: flags.address }),
      ...(flags.defaultService !== undefined && { defaultService: flags.defaultService }),
    };
  }
  if (flags.adminPort !== undefined) spec.admin = { ...spec.admin, port: flags.adminPort };
  const sidecar = { ...base, spec } as SidecarResource;
  if (i >= 0) out[i] = sidecar;
  else out.push(sidecar);
  return out;
}

async function loadGateway(path: string, flags: GatewayFlags, xds: boolean): Promise<Decoded<Snapshot>> {
  const resources = await loadResources(path);
  if (!resources.ok) return resources;
  const all = gatewayResources(resources.value, flags);
  const compiled = xds ? compileLocal(all, path) : compileSnapshot(all, path);
  if (compiled.ok && !compiled.value.sidecar.gateway) {
    return fail([{ source: path, path: 'spec.gateway', message: 'a gateway needs a listener: give --port or set gateway.port in the Sidecar' }]);
  }
  return compiled;
}

function port(v: unknown, flag: string): number | string | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : `--${flag} must be a port number (1-65535), got '${String(v)}'`;
}

export const gatewayVerb: Verb = {
  name: 'gateway',
  summary: 'Run an ingress gateway: classify requests from outside the mesh by priority, then route them',
  usage: 'strata gateway --config FILE|DIR --port PORT [--address ADDR] [--default-service NAME] [--admin-port N] [--xds HOST:PORT[,HOST:PORT]] [--no-watch] [--log-level LEVEL]',
  options: {
    config: { type: 'string', short: 'c', description: 'resources: Services, Routes, PriorityClasses, PriorityPolicies (a Sidecar is optional)' },
    port: { type: 'string', short: 'p', description: 'port for clients outside the mesh (overrides the Sidecar gateway.port)' },
    address: { type: 'string', description: 'listen address (default 0.0.0.0)' },
    'default-service': { type: 'string', description: 'service for requests whose Host names no known service' },
    'admin-port': { type: 'string', description: 'admin listener (/ready, /stats, /config_dump)' },
    xds: { type: 'string', description: 'control plane(s) to take services and routes from over ADS' },
    'node-id': { type: 'string', description: 'xDS node id (default: gateway~HOSTNAME~PID)' },
    'no-watch': { type: 'boolean', description: 'do not reload the configuration when it changes' },
    'log-level': { type: 'string', default: 'info', description: 'debug | info | warn | error' },
  },
  async run({ values }) {
    const path = values['config'] as string | undefined;
    if (!path) {
      process.stderr.write('strata gateway: --config FILE is required (see examples/priority.yaml)\n');
      return 2;
    }
    const common = commonFlags('gateway', values);
    if (typeof common === 'string') {
      process.stderr.write(`${common}\n`);
      return 2;
    }
    const p = port(values['port'], 'port');
    const a = port(values['admin-port'], 'admin-port');
    for (const e of [p, a]) {
      if (typeof e === 'string') {
        process.stderr.write(`strata gateway: ${e}\n`);
        return 2;
      }
    }
    const flags: GatewayFlags = {
      ...(typeof p === 'number' && { port: p }),
      ...(typeof a === 'number' && { adminPort: a }),
      ...(typeof values['address'] === 'string' && { address: values['address'] }),
      ...(typeof values['default-service'] === 'string' && { defaultService: values['default-service'] }),
    };
    return serveSidecar({
      verb: 'gateway',
      path,
      flags: common,
      load: (file) => loadGateway(file, flags, common.servers.length > 0),
      defaultNodeId: () => nodeIdFor('gateway'),
    });
  },
};
