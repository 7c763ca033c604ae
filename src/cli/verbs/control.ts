/**
 * @module cli/verbs/control
 * `strata control`: run the control plane — the REST API (`strata apply/get/delete` talk to
 * it) and ADS for xDS clients — over an embedded SQLite store or a shared etcd cluster.
 * Stops on SIGTERM / SIGINT: xDS streams end (clients reconnect elsewhere), then the store
 * is closed.
 */
import { resolve } from 'node:path';
import { ControlPlane, DEFAULT_CONTROL_ADDRESS, DEFAULT_XDS_PORT } from '../../control/control-plane.js';
import { DEFAULT_API_PORT } from '../../control/api/server.js';
import { EtcdStore } from '../../control/store/etcd-store.js';
import { SqliteStore } from '../../control/store/sqlite-store.js';
import type { Store } from '../../control/store/store.js';
import { logger, setLogLevel } from '../../util/log.js';
import type { Level } from '../../util/log.js';
import type { Verb } from '../verb.js';

const log = logger('control');
export const DEFAULT_DATA_DIR = '.strata/data';

function parsePort(name: string, value: string | undefined, fallback: number): number | string {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) return `--${name} must be a port number 0-65535, got '${value}'`;
  return n;
}

export const controlVerb: Verb = {
  name: 'control',
  summary: 'Run the control plane: REST API + xDS (ADS) over SQLite or etcd',
  usage: 'strata control [--data-dir DIR | --etcd URL,...] [--api-port 15080] [--xds-port 15010] [--address 127.0.0.1]',
  options: {
    'data-dir': { type: 'string', description: `SQLite data directory (default: ${DEFAULT_DATA_DIR})` },
    etcd: { type: 'string', description: 'etcd client URLs, comma-separated (instead of SQLite)' },
    'api-port': { type: 'string', description: `REST API port (default: ${DEFAULT_API_PORT})` },
    'xds-port': { type: 'string', description: `ADS port (default: ${DEFAULT_XDS_PORT})` },
    address: { type: 'string', description: `address both servers bind (default: ${DEFAULT_CONTROL_ADDRESS})` },
    'log-level': { type: 'string', default: 'info', description: 'debug | info | warn | error' },
  },
  async run({ values }) {
    const fail = (msg: string): number => {
      process.stderr.write(`strata control: ${msg}\n`);
      return 2;
    };
    const level = (values['log-level'] as string | undefined) ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) return fail(`--log-level must be debug, info, warn or error, got '${level}'`);
    setLogLevel(level as Level);
    const apiPort = parsePort('api-port', values['api-port'] as string | undefined, DEFAULT_API_PORT);
    if (typeof apiPort === 'string') return fail(apiPort);
    const xdsPort = parsePort('xds-port', values['xds-port'] as string | undefined, DEFAULT_XDS_PORT);
    if (typeof xdsPort === 'string') return fail(xdsPort);
    const address = (values['address'] as string | undefined) ?? DEFAULT_CONTROL_ADDRESS;
    const etcd = values['etcd'] as string | undefined;
    const dataDir = values['data-dir'] as string | undefined;
    if (etcd !== undefined && dataDir !== undefined) return fail('--data-dir and --etcd exclude each other');

    let store: Store;
    let where: string;
    try {
      if (etcd !== undefined) {
        const hosts = etcd.split(',').map((h) => h.trim()).filter(Boolean);
        if (hosts.length === 0) return fail('--etcd needs at least one URL');
        store = new EtcdStore({ hosts });
        where = `etcd ${hosts.join(',')}`;
      } else {
        const dir = resolve(dataDir ?? DEFAULT_DATA_DIR);
        store = new SqliteStore({ dir });
        where = `sqlite ${dir}`;
      }
    } catch (err) {
      process.stderr.write(`strata control: cannot open the store: ${(err as Error).message}\n`);
      return 1;
    }

    const cp = new ControlPlane({ store, apiPort, xdsPort, address });
    let ports: { api: number; xds: number };
    try {
      ports = await cp.start();
    } catch (err) {
      process.stderr.write(`strata control: ${(err as Error).message}\n`);
      await cp.close();
      await store.close().catch(() => undefined);
      return 1;
    }
    const host = address.includes(':') ? `[${address}]` : address;
    process.stdout.write(`strata control ready: api http://${host}:${ports.api}, xds ${host}:${ports.xds}, store ${where}\n`);

    return new Promise<number>((done) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          log.warn(`second ${signal}: exiting now`);
          done(1);
          return;
        }
        stopping = true;
        log.info(`${signal}: shutting down`);
        void cp
          .close()
          .then(() => store.close())
          .then(
            () => done(0),
            (err: unknown) => {
              log.error(`shutdown: ${(err as Error).message}`);
              done(1);
            },
          )
          .finally(() => {
            process.off('SIGTERM', onTerm);
            process.off('SIGINT', onInt);
          });
      };
      const onTerm = (): void => stop('SIGTERM');
      const onInt = (): void => stop('SIGINT');
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
  },
};
