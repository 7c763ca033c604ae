/**
 * @module cli/verbs/validate
 * `strata validate -f FILE|DIR`: check a configuration without running it.
 */
import { formatFieldError } from '../../errors.js';
import { loadConfig } from '../../config/loader.js';
import type { Verb } from '../verb.js';
import '../../proxy/balancer/index.js';
import '../../proxy/filters/index.js';

export const validateVerb: Verb = {
  name: 'validate',
  summary: 'Check configuration files and print every error with its file, resource and field',
  usage: 'strata validate -f FILE|DIR',
  options: {
    file: { type: 'string', short: 'f', description: 'configuration file or directory of *.yaml/*.json' },
  },
  async run({ values, positionals }) {
    const path = (values['file'] as string | undefined) ?? positionals[0];
    if (!path) {
      process.stderr.write('strata validate: -f FILE is required\n');
      return 2;
    }
    const r = await loadConfig(path);
    if (!r.ok) {
      process.stderr.write(`${path}: ${r.errors.length} error(s)\n${r.errors.map((e) => `  ${formatFieldError(e)}`).join('\n')}\n`);
      return 1;
    }
    const s = r.value;
    process.stdout.write(
      `${path}: valid (version ${s.version}): sidecar for '${s.sidecar.service || '-'}', ${s.clusters.length} services, ${s.virtualHosts.reduce((n, v) => n + v.routes.length, 0)} routes\n`,
    );
    return 0;
  },
};
