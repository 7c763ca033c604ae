/**
 * @module cli/verbs/apply
 * `strata apply -f FILE|DIR`: send configuration files to the control plane, all in one
 * batch (nothing is stored if any file has an error); prints `Kind/name configured|unchanged`
 * or every error as `file: Kind/name: field: message`.
 */
import { formatFieldError } from '../../errors.js';
import { readSources } from '../../config/sources.js';
import { ApiClient, ApiClientError, serverUrl } from '../../control/api/client.js';
import type { Verb } from '../verb.js';

export const applyVerb: Verb = {
  name: 'apply',
  summary: 'Apply configuration files to the control plane (all or nothing)',
  usage: 'strata apply -f FILE|DIR [--server URL]',
  options: {
    file: { type: 'string', short: 'f', description: 'configuration file or directory of *.yaml/*.yml/*.json' },
    server: { type: 'string', description: 'control plane API URL (default: $STRATA_SERVER or http://127.0.0.1:15080)' },
  },
  async run({ values, positionals }) {
    const path = (values['file'] as string | undefined) ?? positionals[0];
    if (!path) {
      process.stderr.write('strata apply: -f FILE|DIR is required\n');
      return 2;
    }
    const read = await readSources(path);
    if (read.errors.length > 0) {
      process.stderr.write(`${read.errors.map(formatFieldError).join('\n')}\n`);
      return 1;
    }
    const client = new ApiClient(serverUrl(values['server'] as string | undefined));
    try {
      const r = await client.apply(read.files.map((f) => ({ source: f.path, text: f.text })));
      const lines = r.results.map((x) => `${x.kind}/${x.name}${x.namespace === 'default' ? '' : ` (namespace ${x.namespace})`} ${x.status}`);
      process.stdout.write(lines.length > 0 ? `${lines.join('\n')}\n` : `${path}: no resources\n`);
      return 0;
    } catch (err) {
      return reportError('apply', err);
    }
  },
};

/** Print a failed API call: the message, then every field error on its own line. */
export function reportError(verb: string, err: unknown): number {
  if (!(err instanceof ApiClientError)) throw err;
  if (err.errors.length > 0 && err.code === 'STRATA_API_INVALID') {
    process.stderr.write(`${err.errors.map(formatFieldError).join('\n')}\n`);
  } else {
    const details = err.errors.map((e) => `  ${formatFieldError(e)}`);
    process.stderr.write(`strata ${verb}: ${err.message}\n${details.length > 0 ? `${details.join('\n')}\n` : ''}`);
  }
  return 1;
}
