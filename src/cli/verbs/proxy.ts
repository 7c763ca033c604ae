/**
 * @module cli/verbs/proxy
 * `strata proxy --config FILE`: run a sidecar from a configuration file, reloading it when
 * it changes (an invalid file is refused and the running config kept), draining on SIGTERM.
 */
import { formatFieldError } from '../../errors.js';
import { loadConfig } from '../../config/loader.js';
import { watchConfig } from '../../config/watch.js';
import { Sidecar } from '../../proxy/sidecar.js';
import { logger, setLogLevel } from '../../util/log.js';
import type { Level } from '../../util/log.js';
import type { Verb } from '../verb.js';

const log = logger('proxy');

export const proxyVerb: Verb = {
  name: 'proxy',
  summary: 'Run a sidecar proxy from a configuration file (hot reload, graceful drain)',
  usage: 'strata proxy --config FILE|DIR [--no-watch] [--log-level LEVEL]',
  options: {
    config: { type: 'string', short: 'c', description: 'sidecar configuration: a YAML/JSON file or a directory of them' },
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
    setLogLevel(level as Level);
    const first = await loadConfig(path);
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
            await sidecar.apply(r.value);
          });
          },
          { load: loadConfig },
        );

    return new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          log.warn(`second ${signal}: exiting now`);
          sidecar.destroy();
          resolve(1);
          return;
        }
        stopping = true;
        log.info(`${signal}: draining`);
        watcher?.close();
        void sidecar.drain().then(() => resolve(0));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      // Drain via the admin API also ends the process.
      const poll = setInterval(() => {
        if (sidecar.draining() && !stopping) {
          stopping = true;
          watcher?.close();
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
