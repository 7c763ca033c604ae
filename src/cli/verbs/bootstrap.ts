/**
 * @module cli/verbs/bootstrap
 * `strata bootstrap grpc --service NAME`: print (or write) the bootstrap JSON an unmodified
 * proxyless gRPC client needs to take its configuration from Strata's control plane.
 * `strata bootstrap envoy --service NAME`: the same for an Envoy (`envoy -c FILE`, docs/envoy.md).
 */
import { writeFileSync } from 'node:fs';
import { formatFieldError } from '../../errors.js';
import type { FieldError } from '../../errors.js';
import { envoyBootstrap, grpcBootstrap } from '../../control/bootstrap.js';
import type { Verb } from '../verb.js';

const KINDS = ['grpc', 'envoy'] as const;
type Kind = (typeof KINDS)[number];

const isKind = (s: string | undefined): s is Kind => (KINDS as readonly string[]).includes(s ?? '');

export const bootstrapVerb: Verb = {
  name: 'bootstrap',
  summary: 'Print the xDS bootstrap for a proxyless gRPC client (GRPC_XDS_BOOTSTRAP) or an Envoy (envoy -c)',
  usage:
    'strata bootstrap grpc|envoy --service NAME [--xds-server HOST:PORT]... [--node-id ID] [--namespace NS] [--locality ZONE] [-o FILE]\n' +
    '                     envoy only: [--admin-port PORT] [--dependencies SVC,SVC...]',
  options: {
    service: { type: 'string', description: 'service the client belongs to' },
    'xds-server': { type: 'string', multiple: true, description: 'control-plane ADS address, repeat for failover (default: 127.0.0.1:15010)' },
    'node-id': { type: 'string', description: 'node id (default: SERVICE~proxyless, SERVICE~envoy)' },
    namespace: { type: 'string', default: 'default', description: 'namespace of the service' },
    locality: { type: 'string', description: 'zone, or region/zone/sub_zone' },
    'admin-port': { type: 'string', description: 'envoy: admin interface port on 127.0.0.1 (default: 9901)' },
    dependencies: { type: 'string', description: 'envoy: services the workload calls, comma-separated (node metadata)' },
    output: { type: 'string', short: 'o', description: 'write to this file instead of stdout' },
  },
  async run({ values, positionals }) {
    const kind = positionals[0];
    if (!isKind(kind)) {
      process.stderr.write(`strata bootstrap: the kind is one of ${KINDS.join(', ')} (strata bootstrap grpc --service NAME)${kind ? `, got '${kind}'` : ''}\n`);
      return 2;
    }
    const service = values['service'] as string | undefined;
    if (!service) {
      process.stderr.write(`strata bootstrap ${kind}: --service NAME is required\n`);
      return 2;
    }
    const servers = (values['xds-server'] as string[] | string | undefined) ?? ['127.0.0.1:15010'];
    const common = {
      service,
      servers: Array.isArray(servers) ? servers : [servers],
      ...(typeof values['node-id'] === 'string' && { nodeId: values['node-id'] }),
      ...(typeof values['namespace'] === 'string' && { namespace: values['namespace'] }),
      ...(typeof values['locality'] === 'string' && { locality: values['locality'] }),
    };
    const errors: FieldError[] = [];
    let value: unknown;
    if (kind === 'grpc') {
      for (const opt of ['admin-port', 'dependencies']) {
        if (values[opt] !== undefined) errors.push({ path: `--${opt}`, message: 'applies to envoy bootstraps only' });
      }
      const r = grpcBootstrap(common);
      if (r.ok) value = r.value;
      else errors.push(...r.errors);
    } else {
      const admin = values['admin-port'];
      let adminPort: number | undefined;
      if (typeof admin === 'string') {
        adminPort = /^\d{1,5}$/.test(admin) ? Number(admin) : Number.NaN;
        if (Number.isNaN(adminPort)) errors.push({ path: '--admin-port', message: `must be a port number 1-65535, got '${admin}'` });
      }
      const deps = values['dependencies'];
      const r = envoyBootstrap({
        ...common,
        ...(adminPort !== undefined && !Number.isNaN(adminPort) && { adminPort }),
        ...(typeof deps === 'string' && { dependencies: deps.split(',').map((d) => d.trim()).filter(Boolean) }),
      });
      if (r.ok) value = r.value;
      else errors.push(...r.errors);
    }
    if (errors.length > 0) {
      process.stderr.write(`strata bootstrap ${kind}: ${errors.map(formatFieldError).join('; ')}\n`);
      return 2;
    }
    const json = `${JSON.stringify(value, null, 2)}\n`;
    const out = values['output'] as string | undefined;
    if (out) {
      writeFileSync(out, json);
      process.stderr.write(kind === 'grpc' ? `wrote ${out}; run the client with GRPC_XDS_BOOTSTRAP=${out}\n` : `wrote ${out}; run envoy -c ${out}\n`);
    } else {
      process.stdout.write(json);
    }
    return 0;
  },
};
