/**
 * @module cli/verbs/demo
 * `strata demo`: the demo application (src/demo) — six workloads in a DAG with fan-out and an
 * 80/20 weighted split — run by the same code as `strata up`: a `strata control` child,
 * every app beside its own sidecar, all as child processes. A steady load goes to frontend
 * through the frontend sidecar's HTTP proxy, with a summary every few seconds. Nothing but
 * `npm ci` needed. Runs until Ctrl-C or --duration.
 *
 * `--app priority` runs the other demo instead: the mixed-workload app of `strata experiment
 * priority` on loopback with its own RabbitMQ, latency-sensitive and bulk load, and a line per
 * interval for each class (demo/priority/local.ts); `--priority off` for the comparison.
 */
import { formatFieldError } from '../../errors.js';
import { DEMO_SERVICES, demoMeshValue } from '../../demo/mesh.js';
import type { DemoPorts } from '../../demo/mesh.js';
import { LoadGenerator } from '../../demo/load.js';
import { runLocalPriorityDemo } from '../../demo/priority/local.js';
import { PORT_SPAN, PRIORITY_DEFAULT_BASE, parsePriorityOptions } from '../../demo/priority/options.js';
import { validateMeshFile } from '../../runner/mesh-file.js';
import { freePorts } from '../../runner/net.js';
import { DEFAULT_API_PORT, DEFAULT_XDS_PORT, Up } from '../../runner/up.js';
import { DEFAULT_WORKLOAD } from '../../experiment/topology.js';
import type { Verb } from '../verb.js';
import { portOption } from './run.js';
import { runUntilStopped } from './up.js';

const DEFAULT_BASE = 15000;
const APPS = ['shop', 'priority'] as const;
/** Options of one app only: naming them with the other app is an error. */
const SHOP_ONLY = ['rps', 'api-port', 'xds-port'];
const PRIORITY_ONLY = ['priority', 'ls-rate', 'bulk'];

export const demoVerb: Verb = {
  name: 'demo',
  summary: 'Run a demo application locally: the shop (6 services, a weighted split) or request priority under mixed load',
  usage:
    'strata demo [--app shop] [--rps 5] [--duration SECONDS] [--base-port 15000 | 0] [--api-port P] [--xds-port P]\n' +
    `         strata demo --app priority [--priority on|off] [--ls-rate ${DEFAULT_WORKLOAD.lsRate}] [--bulk ${DEFAULT_WORKLOAD.bulkConcurrency}] [--duration SECONDS] [--interval SECONDS] [--base-port ${PRIORITY_DEFAULT_BASE} | 0]`,
  options: {
    app: { type: 'string', default: 'shop', description: `which demo: ${APPS.join(' or ')} (the mixed-workload app of \`strata experiment priority\`, needs rabbitmq-server)` },
    rps: { type: 'string', description: 'shop: requests per second sent to frontend (default: 5)' },
    duration: { type: 'string', description: 'stop after this many seconds of load (default: until Ctrl-C)' },
    'base-port': {
      type: 'string',
      description:
        `shop (default ${DEFAULT_BASE}): control API base+80, xDS base+10, frontend admin base, frontend HTTP_PROXY base+1, apps base+100…; 0 = any free ports. ` +
        `priority (default ${PRIORITY_DEFAULT_BASE}): every port of the app, from base to base+${PORT_SPAN}; 0 = any free block`,
    },
    priority: { type: 'string', description: 'priority: on (proxy + broker layers) or off (the same mesh without priority) (default: on)' },
    'ls-rate': { type: 'string', description: `priority: latency-sensitive GET /item requests per second (default: ${DEFAULT_WORKLOAD.lsRate})` },
    bulk: { type: 'string', description: `priority: bulk POST /batch workers, each sending its next batch once the last is answered (default: ${DEFAULT_WORKLOAD.bulkConcurrency})` },
    'api-port': { type: 'string', description: 'control plane REST API port (overrides --base-port)' },
    'xds-port': { type: 'string', description: 'control plane ADS port (overrides --base-port)' },
    interval: { type: 'string', default: '3', description: 'seconds between load summaries' },
  },
  async run({ values }) {
    const usage = (msg: string): number => {
      process.stderr.write(`strata demo: ${msg}\n  usage: ${demoVerb.usage}\n`);
      return 2;
    };
    const app = String(values['app'] ?? 'shop');
    if (!(APPS as readonly string[]).includes(app)) return usage(`--app must be ${APPS.join(' or ')}, got '${app}'`);
    const foreign = (app === 'shop' ? PRIORITY_ONLY : SHOP_ONLY).find((name) => values[name] !== undefined);
    if (foreign !== undefined) return usage(`--${foreign} is only for --app ${app === 'shop' ? 'priority' : 'shop'}`);
    const duration = values['duration'] === undefined ? 0 : Number(values['duration']);
    if (!(duration >= 0)) return usage(`--duration must be a number of seconds, got '${String(values['duration'])}'`);
    const interval = Number(values['interval'] ?? 3);
    if (!(interval >= 0.2)) return usage(`--interval must be at least 0.2 seconds, got '${String(values['interval'])}'`);
    if (app === 'priority') {
      const opts = parsePriorityOptions(values);
      if (!opts.ok) return usage(opts.error);
      return runLocalPriorityDemo({
        ...opts.value,
        durationS: duration,
        intervalS: interval,
        out: (t) => process.stdout.write(t),
        err: (t) => process.stderr.write(t),
      });
    }
    const rps = Number(values['rps'] ?? 5);
    if (!(rps >= 0 && rps <= 1000)) return usage(`--rps must be between 0 and 1000, got '${String(values['rps'])}'`);
    const baseText = String(values['base-port'] ?? DEFAULT_BASE);
    const base = Number(baseText);
    if (!/^\d+$/.test(baseText) || (base !== 0 && (base < 1024 || base > 65000))) return usage(`--base-port must be 0 or 1024-65000, got '${baseText}'`);
    const apiArg = portOption('api-port', values['api-port']);
    if (typeof apiArg === 'string') return usage(apiArg);
    const xdsArg = portOption('xds-port', values['xds-port']);
    if (typeof xdsArg === 'string') return usage(xdsArg);

    let ports: DemoPorts;
    let apiPort: number;
    let xdsPort: number;
    if (base === 0) {
      const free = await freePorts(DEMO_SERVICES.length + 2);
      apiPort = apiArg ?? (free.pop() as number);
      xdsPort = xdsArg ?? (free.pop() as number);
      ports = { apps: Object.fromEntries(DEMO_SERVICES.map((s, i) => [s.service, free[i] as number])) };
    } else {
      apiPort = apiArg ?? (base === DEFAULT_BASE ? DEFAULT_API_PORT : base + 80);
      xdsPort = xdsArg ?? (base === DEFAULT_BASE ? DEFAULT_XDS_PORT : base + 10);
      ports = { apps: Object.fromEntries(DEMO_SERVICES.map((s, i) => [s.service, base + 100 + i])), frontendAdmin: base, frontendProxy: base + 1 };
    }
    const mesh = validateMeshFile(demoMeshValue(ports), 'demo');
    if (!mesh.ok) {
      // A bug of ours, not of the user's.
      process.stderr.write(`strata demo: the embedded demo mesh is invalid:\n  ${mesh.errors.map(formatFieldError).join('\n  ')}\n`);
      return 1;
    }

    process.stdout.write(
      'Starting the Strata demo: frontend → catalog, cart; catalog → pricing, inventory; cart → pricing; pricing = 80% v1 / 20% v2\n',
    );
    const up = new Up({
      mesh: mesh.value,
      source: 'demo',
      baseDir: process.cwd(),
      apiPort,
      xdsPort,
      out: process.stdout,
      logs: 'files',
      sidecarLogLevel: 'warn',
      portHint: 'pick other ports with --base-port N (or --base-port 0 for any free ports), or --api-port / --xds-port',
    });
    let load: LoadGenerator | undefined;
    return runUntilStopped(up, 'strata demo', {
      started: () => {
        const front = up.workloads.find((w) => w.service === 'frontend');
        const fp = front?.ports;
        if (!fp) return;
        const server = `http://127.0.0.1:${up.apiPort}`;
        const flag = up.apiPort === DEFAULT_API_PORT ? '' : ` --server ${server}`;
        process.stdout.write(
          [
            'Try:',
            `  npx strata status${flag}                       # the control plane and every connected sidecar`,
            `  npx strata get services${flag}                 # what was applied`,
            `  npx strata get routes pricing -o yaml${flag}   # the 80/20 split`,
            `  curl -s -x http://127.0.0.1:${fp.proxy} http://frontend/   # a request through the mesh (see "versions")`,
            `  curl -s http://127.0.0.1:${fp.admin}/stats | grep strata_requests_total   # the frontend sidecar's metrics`,
            `  curl -s http://127.0.0.1:${fp.admin}/clusters                            # its view of the endpoints`,
            '',
            `Sending ${rps} requests/s to frontend through its sidecar (HTTP_PROXY :${fp.proxy}); ${duration > 0 ? `stopping after ${duration} s` : 'Ctrl-C to stop'}.`,
            '',
          ].join('\n'),
        );
        load = new LoadGenerator({ proxyPort: fp.proxy, service: 'frontend', rps, everyMs: interval * 1000, print: (l) => process.stdout.write(`${l}\n`) });
        load.start();
        return duration > 0 ? new Promise<void>((r) => setTimeout(r, duration * 1000).unref()) : undefined;
      },
      stopping: () => load?.stop(),
    });
  },
};
