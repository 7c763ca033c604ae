/**
 * @module cli/verbs/proxy
 * `strata proxy --config FILE`: run a sidecar from a configuration file, reloading it when
 * it changes (an invalid file is refused and the running config kept), draining on SIGTERM.
 * With `--xds HOST:PORT[,HOST:PORT]` the file gives the Sidecar (listeners, limits) and the
 * services and routes come from the control plane over ADS (file ones are merged; xDS wins).
 */
import { hostname } from 'node:os';
import { formatFieldError } from '../../errors.js';
import { loadConfig } from '../../config/loader.js';
import type { Snapshot } from '../../config/snapshot.js';
import { watchConfig } from '../../config/watch.js';
import { Sidecar } from '../../proxy/sidecar.js';
import { XdsFollower } from '../../proxy/xds/follow.js';
import { loadLocalConfig } from '../../proxy/xds/local.js';
import { logger, setLogLevel } from '../../util/log.js';
import type { Level } from '../../util/log.js';
import type { Verb } from '../verb.js';

const log = logger('proxy');

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
    const level = (values['log-level'] as string | undefined) ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) {
      process.stderr.write(`strata proxy: --log-level must be debug, info, warn or error, got '${level}'\n`);
      return 2;
    }
    const xdsArg = values['xds'] as string | undefined;
    const servers = xdsArg === undefined ? [] : xdsArg.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (xdsArg !== undefined && (servers.length === 0 || !servers.every((s) => /^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(s)))) {
      process.stderr.write(`strata proxy: --xds must be HOST:PORT[,HOST:PORT], got '${xdsArg}'\n`);
      return 2;
    }
    const nodeIdArg = values['node-id'] as string | undefined;
    if (nodeIdArg !== undefined && nodeIdArg.trim() === '') {
      process.stderr.write('strata proxy: --node-id must not be empty\n');
      return 2;
    }
    setLogLevel(level as Level);
    const load = servers.length > 0 ? loadLocalConfig : loadConfig;
    const first = await load(path);
    if (!first.ok) {
      process.stderr.write(`strata proxy: invalid configuration, not starting:\n${first.errors.map((e) => `  ${formatFieldError(e)}`).join('\n')}\n`);
      return 1;
    }
    let sidecar: Sidecar;
    try {
      sidecar = new Sidecar(first.value);
      await sidecar.start();
    } catch (err) {
      process.stderr.write(`strata proxy: ${(err as Error).message}\n`);
      return 1;
    }
    process.stdout.write(`strata proxy ready: ${JSON.stringify(sidecar.listenerPorts())}\n`);

    let chain = Promise.resolve();
    let local: Snapshot = first.value;
    let follower: XdsFollower | undefined;
    if (servers.length > 0) {
      const sc = first.value.sidecar;
      const nodeId = nodeIdArg ?? `${sc.service || 'sidecar'}~${hostname()}~${process.pid}`;
      follower = new XdsFollower(sidecar, first.value, { servers, nodeId });
      follower.start();
      log.info(`following xDS from ${servers.join(', ')} as node ${nodeId}; ready once the first configuration arrives`);
    }
    const watcher = values['no-watch']
      ? undefined
      : watchConfig(
          path,
          (r) => {
          chain = chain.then(async () => {
            if (!r.ok) {
              sidecar.rejected(r.errors.map(formatFieldError));
              return;
            }
            local = r.value;
            await (follower ? follower.setLocal(local) : sidecar.apply(local));
          });
          },
          { load },
        );

    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          log.warn(`second ${signal}: exiting now`);
          follower?.stop();
          sidecar.destroy();
          resolve(1);
          return;
        }
        stopping = true;
        log.info(`${signal}: draining`);
        watcher?.close();
        follower?.stop();
        void sidecar.drain().then(() => resolve(0));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      // Drain via the admin API also ends the process.
      const poll = setInterval(() => {
        if (sidecar.draining() && !stopping) {
          stopping = true;
          watcher?.close();
          follower?.stop();
          void sidecar.drain().then(() => {
            clearInterval(poll);
            resolve(0);
          });
        }
      }, 200);
      poll.unref();
    });
  },
};
