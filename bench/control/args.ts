/**
 * @module bench/control/args
 * Command-line flags of `npm run bench:control` (node dist/bench/control-bench.js).
 */
import { parseArgs } from 'node:util';
import type { Protocol } from './ads-client.js';
import { MAX_SERVICES } from './mesh.js';

export type Scope = 'scoped' | 'whole-mesh';

export interface Variant {
  name: string;
  protocol: Protocol;
  scope: Scope;
}

export const ALL_VARIANTS: readonly Variant[] = Object.freeze([
  { name: 'sotw-scoped', protocol: 'sotw', scope: 'scoped' },
  { name: 'delta-scoped', protocol: 'delta', scope: 'scoped' },
  { name: 'sotw-whole', protocol: 'sotw', scope: 'whole-mesh' },
  { name: 'delta-whole', protocol: 'delta', scope: 'whole-mesh' },
]);

export interface ControlBenchArgs {
  clients: number;
  services: number;
  endpointsPerService: number;
  /** Dependencies per client besides the shared service. */
  dependencies: number;
  repeat: number;
  variants: Variant[];
  workers: number;
  streamsPerChannel: number;
  /** Per change (and for the initial config): how long to wait for every ACK. */
  timeoutMs: number;
  /** Pause after each change before the next (lets trailing pushes finish). */
  settleMs: number;
  /** Before each variant, wait up to this long for the machine to be idle. */
  idleWaitMs: number;
  seed: number;
  pin: boolean;
  cpuProfDir: string | undefined;
  /** Extra node flags for the control plane (diagnostics, e.g. --trace-gc). */
  controlNodeFlags: string[];
  /** Write the control plane's whole output per variant here. */
  controlLogDir: string | undefined;
  logLevel: string;
  out: string;
  help: boolean;
}

export const USAGE = `Usage: node dist/bench/control-bench.js [flags]   (npm run bench:control -- [flags])

  --clients 1000              simulated xDS clients (ADS streams)
  --services 1000             Services in the mesh (max ${MAX_SERVICES})
  --endpoints 10              static endpoints per Service (--endpoints-per-service works too)
  --dependencies 4            services each client calls besides the shared svc-0000 (scoped variants)
  --repeat 5                  times each change is applied; medians are reported
  --variants a,b,...          of ${ALL_VARIANTS.map((v) => v.name).join(', ')} (default: all)
  --workers 1                 worker threads running the clients
  --streams-per-channel 1     ADS streams per gRPC channel (each channel = one HTTP/2 connection)
  --timeout 60s               how long to wait for every client to ACK (initial config and each change)
  --settle 500                ms of quiet after each change
  --idle-wait 60s             before each variant, wait up to this long for every CPU to be ≤ 15% busy
  --seed 1                    seed of the clients' random dependencies
  --quick                     smoke run: 100 clients, 100 services, --repeat 2 (explicit flags still win)
  --no-pin                    do not pin the control plane and the bench to separate CPUs
  --cpu-prof DIR              run the control plane under node --cpu-prof (one .cpuprofile per variant)
  --control-node-flags=FLAGS  extra node flags for the control plane (e.g. --control-node-flags=--trace-gc)
  --control-log-dir DIR       keep the control plane's output (<variant>.log)
  --log-level info            the control plane's --log-level
  --out FILE                  JSON results (default bench-results/control.json)
  -h, --help
`;

function positiveInt(flag: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer ≥ ${min}, got "${v}"`);
  return n;
}

function millis(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m?.[1]) throw new Error(`${flag}: expected a duration like 500, 500ms, 30s or 2m, got "${v}"`);
  const unit = m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1;
  return Math.round(Number(m[1]) * unit);
}

/** Variant names → variants, in the given order; throws on an unknown name. */
export function selectVariants(list: string | undefined): Variant[] {
  if (list === undefined || list.trim() === '') return [...ALL_VARIANTS];
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((name) => {
    const v = ALL_VARIANTS.find((x) => x.name === name || (name === 'sotw-whole-mesh' && x.name === 'sotw-whole') || (name === 'delta-whole-mesh' && x.name === 'delta-whole'));
    if (!v) throw new Error(`--variants: unknown variant "${name}"; known: ${ALL_VARIANTS.map((x) => x.name).join(', ')}`);
    return v;
  });
}

export function parseControlBenchArgs(argv: string[]): ControlBenchArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      clients: { type: 'string' },
      services: { type: 'string' },
      endpoints: { type: 'string' },
      'endpoints-per-service': { type: 'string' },
      dependencies: { type: 'string' },
      repeat: { type: 'string' },
      variants: { type: 'string' },
      workers: { type: 'string' },
      'streams-per-channel': { type: 'string' },
      timeout: { type: 'string' },
      settle: { type: 'string' },
      'idle-wait': { type: 'string' },
      seed: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-pin': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'control-node-flags': { type: 'string' },
      'control-log-dir': { type: 'string' },
      'log-level': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const quick = values.quick === true;
  const services = positiveInt('--services', values.services ?? (quick ? '100' : '1000'));
  if (services > MAX_SERVICES) throw new Error(`--services: at most ${MAX_SERVICES}`);
  const logLevel = values['log-level'] ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new Error(`--log-level: debug, info, warn or error, got "${logLevel}"`);
  return {
    clients: positiveInt('--clients', values.clients ?? (quick ? '100' : '1000')),
    services,
    endpointsPerService: positiveInt('--endpoints', values.endpoints ?? values['endpoints-per-service'] ?? '10', 0),
    dependencies: positiveInt('--dependencies', values.dependencies ?? '4', 0),
    repeat: positiveInt('--repeat', values.repeat ?? (quick ? '2' : '5')),
    variants: selectVariants(values.variants),
    workers: positiveInt('--workers', values.workers ?? '1'),
    streamsPerChannel: positiveInt('--streams-per-channel', values['streams-per-channel'] ?? '1'),
    timeoutMs: millis('--timeout', values.timeout ?? '60s'),
    settleMs: millis('--settle', values.settle ?? '500'),
    idleWaitMs: millis('--idle-wait', values['idle-wait'] ?? (quick ? '5s' : '60s')),
    seed: positiveInt('--seed', values.seed ?? '1', 0),
    pin: values['no-pin'] !== true,
    cpuProfDir: values['cpu-prof'],
    controlNodeFlags: (values['control-node-flags'] ?? '').split(/\s+/).filter(Boolean),
    controlLogDir: values['control-log-dir'],
    logLevel,
    out: values.out ?? 'bench-results/control.json',
    help: values.help === true,
  };
}
