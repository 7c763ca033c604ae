/**
 * @module cli/verbs/proxy
 * `strata proxy --config FILE`: run a sidecar from a configuration file, reloading it when
 * it changes (an invalid file is refused and the running config kept), draining on SIGTERM.
 * With `--xds HOST:PORT[,HOST:PORT]` the file gives the Sidecar (listeners, limits) and the
 * services and routes come from the control plane over ADS (file ones are merged; xDS wins).
 */
import { loadConfig } from '../../config/loader.js';
import { loadLocalConfig } from '../../proxy/xds/local.js';
import { commonFlags, nodeIdFor, serveSidecar } from '../serve-sidecar.js';
import type { Verb } from '../verb.js';

export const proxyVerb: Verb = {
  name: 'proxy',
  summary: 'Run a sidecar proxy from a configuration file (hot reload, graceful drain)',
  usage: 'strata proxy --config FILE|DIR [--xds HOST:PORT[,HOST:PORT]] [--node-id ID] [--no-watch] [--log-level LEVEL]',
  options: {
    config: { type: 'string', short: 'c', description: 'sidecar configuration: a YAML/JSON file or a directory of them' },
    xds: { type: 'string', description: 'control plane(s) to take services and routes from over ADS, tried in order' },
    'node-id': { type: 'string', description: 'xDS node id (default: SERVICE~HOSTNAME~PID)' },
    'no-watch': { type: 'boolean', description: 'do not reload the configuration when it changes' },
    'log-level': { type: 'string', default: 'info', description: 'debug | info | warn | error' },
  },
  async run({ values }) {
    const path = values['config'] as string | undefined;
    if (!path) {
      process.stderr.write('strata proxy: --config FILE is required (see examples/sidecar.yaml)\n');
      return 2;
    }
    const flags = commonFlags('proxy', values);
    if (typeof flags === 'string') {
      process.stderr.write(`${flags}\n`);
      return 2;
    }
    return serveSidecar({
      verb: 'proxy',
      path,
      flags,
      load: flags.servers.length > 0 ? loadLocalConfig : loadConfig,
      defaultNodeId: (s) => nodeIdFor(s.sidecar.service || 'sidecar'),
    });
  },
};
