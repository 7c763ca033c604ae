/**
 * @module cli/verbs/bootstrap
 * `strata bootstrap grpc --service NAME`: print (or write) the bootstrap JSON an unmodified
 * proxyless gRPC client needs to take its configuration from Strata's control plane.
 */
import { writeFileSync } from 'node:fs';
import { formatFieldError } from '../../errors.js';
import { grpcBootstrap } from '../../control/bootstrap.js';
import type { Verb } from '../verb.js';

export const bootstrapVerb: Verb = {
  name: 'bootstrap',
  summary: 'Print the xDS bootstrap for a proxyless gRPC client (GRPC_XDS_BOOTSTRAP)',
  usage: 'strata bootstrap grpc --service NAME [--xds-server HOST:PORT]... [--node-id ID] [--locality ZONE] [-o FILE]',
  options: {
    service: { type: 'string', description: 'service the client belongs to' },
    'xds-server': { type: 'string', multiple: true, description: 'control-plane ADS address, repeat for failover (default: 127.0.0.1:15010)' },
    'node-id': { type: 'string', description: 'node id (default: SERVICE~proxyless)' },
    namespace: { type: 'string', default: 'default', description: 'namespace of the service' },
    locality: { type: 'string', description: 'zone, or region/zone/sub_zone' },
    output: { type: 'string', short: 'o', description: 'write to this file instead of stdout' },
  },
  async run({ values, positionals }) {
    if (positionals[0] !== 'grpc') {
      process.stderr.write(`strata bootstrap: the only kind is 'grpc' (strata bootstrap grpc --service NAME)${positionals[0] ? `, got '${positionals[0]}'` : ''}\n`);
      return 2;
    }
    const service = values['service'] as string | undefined;
    if (!service) {
      process.stderr.write('strata bootstrap grpc: --service NAME is required\n');
      return 2;
    }
    const servers = (values['xds-server'] as string[] | string | undefined) ?? ['127.0.0.1:15010'];
    const r = grpcBootstrap({
      service,
      servers: Array.isArray(servers) ? servers : [servers],
      ...(typeof values['node-id'] === 'string' && { nodeId: values['node-id'] }),
      ...(typeof values['namespace'] === 'string' && { namespace: values['namespace'] }),
      ...(typeof values['locality'] === 'string' && { locality: values['locality'] }),
    });
    if (!r.ok) {
      process.stderr.write(`strata bootstrap grpc: ${r.errors.map(formatFieldError).join('; ')}\n`);
      return 2;
    }
    const json = `${JSON.stringify(r.value, null, 2)}\n`;
    const out = values['output'] as string | undefined;
    if (out) {
      writeFileSync(out, json);
      process.stderr.write(`wrote ${out}; run the client with GRPC_XDS_BOOTSTRAP=${out}\n`);
    } else {
      process.stdout.write(json);
    }
    return 0;
  },
};
