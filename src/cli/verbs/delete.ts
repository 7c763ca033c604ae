/**
 * @module cli/verbs/delete
 * `strata delete KIND NAME [-n NS]`: remove a resource from the control plane. A Service
 * that a Route or TrafficPolicy still names is refused, with the referrers listed.
 */
import { kindNames } from '../../config/resources.js';
import { ApiClient, resolveKind, serverUrl } from '../../control/api/client.js';
import type { Verb } from '../verb.js';
import { reportError } from './apply.js';

export const deleteVerb: Verb = {
  name: 'delete',
  summary: 'Delete a resource from the control plane',
  usage: 'strata delete KIND NAME [-n NAMESPACE] [--server URL]',
  options: {
    namespace: { type: 'string', short: 'n', default: 'default', description: 'namespace' },
    server: { type: 'string', description: 'control plane API URL (default: $STRATA_SERVER or http://127.0.0.1:15080)' },
  },
  async run({ values, positionals }) {
    const [typed, name] = positionals;
    if (!typed || !name) {
      process.stderr.write('strata delete: KIND and NAME are required\n');
      return 2;
    }
    const kind = resolveKind(typed, kindNames());
    if (!kind) {
      process.stderr.write(`strata delete: unknown kind ${JSON.stringify(typed)}; known kinds: ${kindNames().join(', ')}\n`);
      return 2;
    }
    const namespace = (values['namespace'] as string | undefined) ?? 'default';
    const client = new ApiClient(serverUrl(values['server'] as string | undefined));
    try {
      await client.delete(kind, namespace, name);
      process.stdout.write(`${kind}/${name} deleted\n`);
      return 0;
    } catch (err) {
      return reportError('delete', err);
    }
  },
};
