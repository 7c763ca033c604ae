/**
 * @module cli/verbs/get
 * `strata get KIND [NAME] [-n NS] [-o table|yaml|json]`: read resources (or registered
 * `endpoints`) from the control plane.
 */
import { stringify } from 'yaml';
import { kindNames } from '../../config/resources.js';
import { ApiClient, resolveKind, serverUrl } from '../../control/api/client.js';
import type { Verb } from '../verb.js';
import { reportError } from './apply.js';

const FORMATS = ['table', 'yaml', 'json'];

export const getVerb: Verb = {
  name: 'get',
  summary: 'Show resources (or registered endpoints) stored in the control plane',
  usage: 'strata get KIND|endpoints [NAME] [-n NAMESPACE] [-o table|yaml|json] [--server URL]',
  options: {
    namespace: { type: 'string', short: 'n', description: 'namespace (default: all for a list, default for one resource)' },
    output: { type: 'string', short: 'o', default: 'table', description: 'output format: table, yaml or json' },
    server: { type: 'string', description: 'control plane API URL (default: $STRATA_SERVER or http://127.0.0.1:15080)' },
  },
  async run({ values, positionals }) {
    const [typed, name] = positionals;
    const output = (values['output'] as string | undefined) ?? 'table';
    const namespace = values['namespace'] as string | undefined;
    if (!typed) {
      process.stderr.write(`strata get: KIND is required (one of ${kindNames().join(', ')}, endpoints)\n`);
      return 2;
    }
    if (!FORMATS.includes(output)) {
      process.stderr.write(`strata get: -o must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(output)}\n`);
      return 2;
    }
    const client = new ApiClient(serverUrl(values['server'] as string | undefined));
    try {
      if (/^endpoints?$/i.test(typed)) {
        const listing = await client.listEndpoints(name);
        const rows = listing.items.map((e) => [e.service, e.address, String(e.port), e.id, `${e.ttlMs}ms`]);
        write(output, listing.items, ['SERVICE', 'ADDRESS', 'PORT', 'ID', 'TTL'], rows, true);
        return 0;
      }
      const kind = resolveKind(typed, kindNames());
      if (!kind) {
        process.stderr.write(`strata get: unknown kind ${JSON.stringify(typed)}; known kinds: ${kindNames().join(', ')}, endpoints\n`);
        return 2;
      }
      if (name) {
        const r = await client.get(kind, namespace ?? 'default', name);
        write(output, r, ['KIND', 'NAMESPACE', 'NAME'], [[r.kind, r.metadata.namespace, r.metadata.name]], false);
        return 0;
      }
      const listing = await client.list(kind, namespace);
      const rows = listing.items.map((r) => [r.kind, r.metadata.namespace, r.metadata.name]);
      write(output, listing.items, ['KIND', 'NAMESPACE', 'NAME'], rows, true);
      return 0;
    } catch (err) {
      return reportError('get', err);
    }
  },
};

function write(output: string, value: unknown, header: string[], rows: string[][], isList: boolean): void {
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  } else if (output === 'yaml') {
    const docs = isList && Array.isArray(value) ? value : [value];
    process.stdout.write(docs.map((d) => stringify(d)).join('---\n'));
  } else if (rows.length === 0) {
    process.stderr.write('No resources found.\n');
  } else {
    process.stdout.write(table([header, ...rows]));
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('   ')).join('\n') + '\n';
}
