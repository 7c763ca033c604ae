/**
 * @module cli/serve-sidecar
 * What `strata proxy` and `strata gateway` share once their flags are read: check the common
 * flags (--log-level, --xds, --node-id), load the configuration, start the Sidecar, follow the
 * control plane (`--xds`), reload the file when it changes (an invalid file is refused and the
 * running config kept), and drain on SIGTERM / SIGINT / POST /drain (a second signal exits at
 * once). Resolves with the process exit code.
 */
import { hostname } from 'node:os';
import { formatFieldError } from '../errors.js';
import type { Decoded } from '../errors.js';
import type { Snapshot } from '../config/snapshot.js';
import { watchConfig } from '../config/watch.js';
import { Sidecar } from '../proxy/sidecar.js';
import { XdsFollower } from '../proxy/xds/follow.js';
import { logger, setLogLevel } from '../util/log.js';
import type { Level } from '../util/log.js';

const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error'];
const HOST_PORT = /^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/;

/** The flags both verbs take, checked; a string is the usage error to print. */
export interface CommonFlags {
  level: Level;
  servers: string[];
  nodeId: string | undefined;
  watch: boolean;
}

export function commonFlags(verb: string, values: Record<string, unknown>): CommonFlags | string {
  const level = (values['log-level'] as string | undefined) ?? 'info';
  if (!LEVELS.includes(level)) return `strata ${verb}: --log-level must be debug, info, warn or error, got '${level}'`;
  const xdsArg = values['xds'] as string | undefined;
  const servers = xdsArg === undefined ? [] : xdsArg.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (xdsArg !== undefined && (servers.length === 0 || !servers.every((s) => HOST_PORT.test(s)))) {
    return `strata ${verb}: --xds must be HOST:PORT[,HOST:PORT], got '${xdsArg}'`;
  }
  const nodeId = values['node-id'] as string | undefined;
  if (nodeId !== undefined && nodeId.trim() === '') return `strata ${verb}: --node-id must not be empty`;
  return { level: level as Level, servers, nodeId, watch: values['no-watch'] !== true };
}

export interface ServeOptions {
  /** The verb, for messages (`strata <verb> ready: …`). */
  verb: string;
  /** Configuration file or directory. */
  path: string;
  flags: CommonFlags;
  /** Reads `path` into a Snapshot (also on every change when watching). */
  load: (path: string) => Promise<Decoded<Snapshot>>;
  /** xDS node id when --node-id is not given. */
  defaultNodeId: (snapshot: Snapshot) => string;
}

export async function serveSidecar(o: ServeOptions): Promise<number> {
  const log = logger(o.verb);
  setLogLevel(o.flags.level);
  const first = await o.load(o.path);
  if (!first.ok) {
    process.stderr.write(`strata ${o.verb}: invalid configuration, not starting:\n${first.errors.map((e) => `  ${formatFieldError(e)}`).join('\n')}\n`);
    return 1;
  }
  let sidecar: Sidecar;
  try {
    sidecar = new Sidecar(first.value);
    await sidecar.start();
  } catch (err) {
    process.stderr.write(`strata ${o.verb}: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`strata ${o.verb} ready: ${JSON.stringify(sidecar.listenerPorts())}\n`);

  let chain = Promise.resolve();
  let follower: XdsFollower | undefined;
  const { servers } = o.flags;
  if (servers.length > 0) {
    const nodeId = o.flags.nodeId ?? o.defaultNodeId(first.value);
    follower = new XdsFollower(sidecar, first.value, { servers, nodeId });
    follower.start();
    log.info(`following xDS from ${servers.join(', ')} as node ${nodeId}; ready once the first configuration arrives`);
  }
  const watcher = !o.flags.watch
    ? undefined
    : watchConfig(
        o.path,
        (r) => {
          chain = chain.then(async () => {
            if (!r.ok) {
              sidecar.rejected(r.errors.map(formatFieldError));
              return;
            }
            await (follower ? follower.setLocal(r.value) : sidecar.apply(r.value));
          });
        },
        { load: o.load },
      );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const drain = (): void => {
      stopping = true;
      watcher?.close();
      follower?.stop();
      void sidecar.drain().then(() => {
        clearInterval(poll);
        resolve(0);
      });
    };
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn(`second ${signal}: exiting now`);
        follower?.stop();
        sidecar.destroy();
        resolve(1);
        return;
      }
      log.info(`${signal}: draining`);
      drain();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // A drain through the admin API (POST /drain) also ends the process.
    const poll = setInterval(() => {
      if (sidecar.draining() && !stopping) drain();
    }, 200);
    poll.unref();
  });
}

/** `SERVICE~HOSTNAME~PID`, the default xDS node id. */
export function nodeIdFor(name: string): string {
  return `${name}~${hostname()}~${process.pid}`;
}
