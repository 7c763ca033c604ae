/**
 * @module experiment/topology
 * Where everything of `strata experiment priority` runs, and how one configuration is started:
 *
 *   client (h0)                edge (h1)                          backend (h2)
 *   load generators ──────▶ :8080 gateway (frontend's sidecar) ──▶ catalog  + sidecar (capacity)
 *                            frontend app                     ──▶ search   + sidecar ── AMQP ──▶ RabbitMQ
 *                              eth0 egress: htb bottleneck          worker   + sidecar ◀─ AMQP ──┘
 *                                                                   store    + sidecar (capacity)
 *
 * The bottleneck is an htb rate on the edge host's egress (eth0), the link every request from
 * the edge to the backend crosses: there, and not in the router, a sidecar socket's
 * SO_PRIORITY still selects the htb class (a forwarding router recomputes skb->priority from
 * the TOS byte). `sidecarResources()` is pure: the sidecar files of one configuration.
 */
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { buildQosPlan, installQos } from '../net/qos.js';
import type { Testbed } from '../testbed/testbed.js';
import { waitForLine } from '../testbed/testbed.js';
import type { ExperimentConfig } from './configs.js';

export const CLIENT = 0;
export const EDGE = 1;
export const BACKEND = 2;

/** Ports, the same in every configuration (processes of one configuration are gone before the next starts). */
export const DEFAULT_PORTS: Ports = {
  entry: 8080,
  frontendApp: 8100,
  catalogApp: 8101,
  searchApp: 8102,
  storeApp: 8104,
  catalogInbound: 15006,
  searchInbound: 15016,
  storeInbound: 15036,
  frontendToCatalog: 9101,
  frontendToSearch: 9102,
  workerToStore: 9104,
  searchAmqp: 5673,
  workerAmqp: 5674,
  admin: { frontend: 15000, catalog: 15001, search: 15002, worker: 15003, store: 15004 },
};

export interface Ports {
  entry: number;
  frontendApp: number;
  catalogApp: number;
  searchApp: number;
  storeApp: number;
  catalogInbound: number;
  searchInbound: number;
  storeInbound: number;
  frontendToCatalog: number;
  frontendToSearch: number;
  workerToStore: number;
  searchAmqp: number;
  workerAmqp: number;
  admin: { frontend: number; catalog: number; search: number; worker: number; store: number };
}

/** DEFAULT_PORTS moved so that the lowest one is `base` (every port keeps its distance to the others). */
export function portsFrom(base: number): Ports {
  const all = (p: Ports): number[] => [...Object.values(p).filter((v): v is number => typeof v === 'number'), ...Object.values(p.admin)];
  const shift = base - Math.min(...all(DEFAULT_PORTS));
  const admin = Object.fromEntries(Object.entries(DEFAULT_PORTS.admin).map(([k, v]) => [k, v + shift])) as Ports['admin'];
  const moved = Object.fromEntries(Object.entries(DEFAULT_PORTS).map(([k, v]) => [k, typeof v === 'number' ? v + shift : v])) as unknown as Ports;
  return { ...moved, admin };
}

/** The shape of the workload: capacities, work per request, the link. */
export interface Workload {
  /** The bottleneck: htb rate on the edge's egress. */
  linkRate: string;
  lsRate: number;
  bulkConcurrency: number;
  bulkBytes: number;
  /** A service with `slots` concurrent requests; its sidecar admits as many, and queues at most `maxQueue` (then sheds). */
  catalog: { slots: number; interactiveMs: number; batchMs: number; maxQueue: number };
  /** The worker: `prefetch` jobs at once; a batch request becomes `indexChunks` index jobs of `batchMs` each. */
  worker: { prefetch: number; interactiveMs: number; batchMs: number; indexChunks: number };
  /** Bulk's maxShare at every admission limit (proxy layer on): the share of a limit bulk may hold. */
  bulkMaxShare: number;
  store: { slots: number; interactiveMs: number; batchMs: number };
  /** Admission at the gateway (proxy layer on): requests of any class in flight into the frontend.
   * Above the bulk concurrency, so latency-sensitive requests never wait there for a bulk one to end. */
  gatewayLimit: number;
  gatewayMaxQueue: number;
}

export const DEFAULT_WORKLOAD: Workload = {
  linkRate: '10mbit',
  lsRate: 40,
  bulkConcurrency: 24,
  bulkBytes: 48 * 1024,
  catalog: { slots: 2, interactiveMs: 3, batchMs: 40, maxQueue: 16 },
  worker: { prefetch: 1, interactiveMs: 2, batchMs: 12, indexChunks: 4 },
  store: { slots: 2, interactiveMs: 1, batchMs: 5 },
  bulkMaxShare: 0.5,
  gatewayLimit: 64,
  gatewayMaxQueue: 64,
};

/** htb classids of the kernel layer: SO_PRIORITY 0x10010 → 1:10, 0x10030 → 1:30. */
const LS_MINOR = 0x10;
const BULK_MINOR = 0x30;

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec: Record<string, unknown> };
const doc = (kind: string, name: string, spec: Record<string, unknown>): Doc => ({ apiVersion: 'strata.dev/v1alpha1', kind, metadata: { name }, spec });

export interface Addresses {
  edge: string;
  backend: string;
  rabbitPort: number;
  /** Default: DEFAULT_PORTS (the testbed); the local demo moves them (portsFrom). */
  ports?: Ports;
}

export const queueName = (c: ExperimentConfig): string => `jobs.${c.id}`;

/** The sidecar files of one configuration (pure): name → resources. Empty without a mesh. */
export function sidecarResources(c: ExperimentConfig, w: Workload, a: Addresses): Record<string, Doc[]> {
  if (!c.mesh) return {};
  const ports = a.ports ?? DEFAULT_PORTS;
  // Without the kernel layer the classes carry no socket options (the built-in ones do, and a
  // sidecar with priority marks its sockets), so those configurations measure the proxy alone.
  const classes: Doc[] = c.kernel
    ? [
        doc('PriorityClass', 'latency-sensitive', { rank: 300, dscp: 46, soPriority: (1 << 16) | LS_MINOR, congestion: 'bbr', minShare: 0 }),
        doc('PriorityClass', 'bulk', { rank: 100, dscp: 1, soPriority: (1 << 16) | BULK_MINOR, congestion: 'reno', minShare: 0.05, maxShare: w.bulkMaxShare }),
      ]
    : c.proxy
      ? [
          doc('PriorityClass', 'latency-sensitive', { rank: 300, minShare: 0 }),
          doc('PriorityClass', 'default', { rank: 200, minShare: 0.1 }),
          doc('PriorityClass', 'bulk', { rank: 100, minShare: 0.05, maxShare: w.bulkMaxShare }),
        ]
      : [];
  const admission = (limit: number, maxQueue = 256): Record<string, unknown> => ({ limit: { static: limit }, maxQueue, queueTimeoutMs: 10_000 });
  const prio = (block: Record<string, unknown>): Record<string, unknown> => (c.proxy ? { priority: { pools: 'per-class', ...block } } : {});
  const amqp = (port: number): Record<string, unknown> => ({
    port,
    upstream: { address: '127.0.0.1', port: a.rabbitPort },
    ...(c.broker && { maxPriorityQueues: { pattern: '^jobs\\.', maxPriority: 10 } }),
  });
  const sidecar = (name: string, spec: Record<string, unknown>): Doc => doc('Sidecar', name, { service: name, admin: { port: ports.admin[name as keyof Ports['admin']] }, ...spec });
  const svc = (name: string, address: string, port: number, sidecarEndpoint: boolean): Doc =>
    doc('Service', name, { protocol: 'http', endpoints: [{ address, port, ...(sidecarEndpoint && { sidecar: true }) }] });

  const frontend: Doc[] = [
    sidecar('frontend', {
      outbound: {
        ports: [
          { port: ports.frontendToCatalog, service: 'catalog' },
          { port: ports.frontendToSearch, service: 'search' },
          // Without priority the entry is a plain local port (a gateway listener would turn priority on).
          ...(c.proxy ? [] : [{ port: ports.entry, address: '0.0.0.0', service: 'frontend' }]),
        ],
      },
      ...(c.proxy && { gateway: { port: ports.entry, address: '0.0.0.0', defaultService: 'frontend' } }),
      ...prio({ services: { frontend: admission(w.gatewayLimit, w.gatewayMaxQueue) } }),
    }),
    svc('frontend', '127.0.0.1', ports.frontendApp, false),
    svc('catalog', a.backend, ports.catalogInbound, true),
    svc('search', a.backend, ports.searchInbound, true),
    ...(c.proxy
      ? [
          doc('PriorityPolicy', 'ingress', {
            defaultClass: 'default',
            rules: [
              { name: 'interactive', match: { path: { prefix: '/item' }, methods: ['GET'] }, class: 'latency-sensitive' },
              { name: 'batch', match: { path: { prefix: '/batch' } }, class: 'bulk' },
            ],
          }),
        ]
      : []),
    ...classes,
  ];
  return {
    frontend,
    catalog: [
      sidecar('catalog', { inbound: { port: ports.catalogInbound, address: '0.0.0.0', appPort: ports.catalogApp }, ...prio({ inbound: admission(w.catalog.slots, w.catalog.maxQueue) }) }),
      ...classes,
    ],
    search: [sidecar('search', { inbound: { port: ports.searchInbound, address: '0.0.0.0', appPort: ports.searchApp }, amqp: amqp(ports.searchAmqp), ...prio({}) }), ...classes],
    worker: [
      sidecar('worker', { outbound: { ports: [{ port: ports.workerToStore, service: 'store' }] }, amqp: amqp(ports.workerAmqp), ...prio({}) }),
      svc('store', '127.0.0.1', ports.storeInbound, true),
      ...classes,
    ],
    store: [
      sidecar('store', { inbound: { port: ports.storeInbound, address: '0.0.0.0', appPort: ports.storeApp }, ...prio({ inbound: admission(w.store.slots) }) }),
      ...classes,
    ],
  };
}

export function toYaml(docs: readonly Doc[]): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

/** Where each app runs and its environment (pure). */
export function appPlan(c: ExperimentConfig, w: Workload, a: Addresses): { name: string; host: number; env: Record<string, string> }[] {
  const m = c.mesh;
  const ports = a.ports ?? DEFAULT_PORTS;
  const amqpUrl = (sidecarPort: number): string => `amqp://guest:guest@127.0.0.1:${m ? sidecarPort : a.rabbitPort}`;
  return [
    { name: 'store', host: BACKEND, env: { HOST: '127.0.0.1', PORT: String(ports.storeApp), CAPACITY: String(w.store.slots), WORK_MS: `${w.store.interactiveMs},${w.store.batchMs}` } },
    {
      name: 'worker',
      host: BACKEND,
      env: {
        AMQP_URL: amqpUrl(ports.workerAmqp),
        QUEUE: queueName(c),
        STORE_URL: m ? `http://127.0.0.1:${ports.workerToStore}` : `http://127.0.0.1:${ports.storeApp}`,
        CAPACITY: String(w.worker.prefetch),
        WORK_MS: `${w.worker.interactiveMs},${w.worker.batchMs}`,
      },
    },
    {
      name: 'search',
      host: BACKEND,
      env: { HOST: m ? '127.0.0.1' : '0.0.0.0', PORT: String(ports.searchApp), AMQP_URL: amqpUrl(ports.searchAmqp), QUEUE: queueName(c), INDEX_CHUNKS: String(w.worker.indexChunks) },
    },
    {
      name: 'catalog',
      host: BACKEND,
      env: { HOST: m ? '127.0.0.1' : '0.0.0.0', PORT: String(ports.catalogApp), CAPACITY: String(w.catalog.slots), WORK_MS: `${w.catalog.interactiveMs},${w.catalog.batchMs}` },
    },
    {
      name: 'frontend',
      host: EDGE,
      env: m
        ? { HOST: '127.0.0.1', PORT: String(ports.frontendApp), CATALOG_URL: `http://127.0.0.1:${ports.frontendToCatalog}`, SEARCH_URL: `http://127.0.0.1:${ports.frontendToSearch}` }
        : { HOST: '0.0.0.0', PORT: String(ports.entry), CATALOG_URL: `http://${a.backend}:${ports.catalogApp}`, SEARCH_URL: `http://${a.backend}:${ports.searchApp}` },
    },
  ];
}

const dist = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
export const APP_SCRIPT = dist('../demo/priority/app.js');
export const PROPAGATE_SCRIPT = dist('../propagate/register.js');
export const SIDECAR_SCRIPT = dist('./sidecar-main.js');
export const LOAD_SCRIPT = dist('./load-main.js');

/** The bottleneck for one configuration: one htb class at the link rate, or (kernel layer) strata net qos's classes. */
export async function setBottleneck(tb: Testbed, c: ExperimentConfig, w: Workload): Promise<string> {
  const h = tb.host(EDGE);
  await tb.exec(EDGE, ['tc', 'qdisc', 'del', 'dev', h.dev, 'root']);
  if (c.kernel) {
    const rate = /^(\d+)mbit$/.exec(w.linkRate);
    const rateBits = rate ? Number(rate[1]) * 1e6 : NaN;
    if (!Number.isFinite(rateBits)) throw new Error(`link rate '${w.linkRate}' must be N mbit`);
    const plan = buildQosPlan({
      dev: h.dev,
      rateBits,
      classes: [
        { name: 'latency-sensitive', share: 0.5, minor: LS_MINOR },
        { name: 'bulk', share: 0.5, minor: BULK_MINOR },
      ],
      // Unmarked packets (answers to the client, ACKs) are small: they go with latency-sensitive.
      defaultClass: 'latency-sensitive',
    });
    if (!plan.ok) throw new Error(`qos plan: ${plan.errors.map((e) => e.message).join('; ')}`);
    await installQos(plan.value, { netns: h.netns });
    return `strata net qos on ${h.netns}/${h.dev}: ${w.linkRate}, latency-sensitive 1:10 (prio 0) / bulk 1:30`;
  }
  await tb.exec(EDGE, ['tc', 'qdisc', 'add', 'dev', h.dev, 'root', 'handle', '1:', 'htb', 'default', '1'], { check: true });
  await tb.exec(EDGE, ['tc', 'class', 'add', 'dev', h.dev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', w.linkRate, 'ceil', w.linkRate], { check: true });
  return `htb ${w.linkRate} on ${h.netns}/${h.dev} (one FIFO class)`;
}

/** Where RunningConfig starts processes: the testbed's hosts, or this machine (the local demo). */
export interface ProcessHosts {
  /** Start a long-running process on host `host` (CLIENT, EDGE or BACKEND). */
  spawn(host: number, cmd: string, args: string[], opts: SpawnOptions): ChildProcess;
  /** GET a URL from inside host `host`; the body, or '' on any failure. */
  fetchText(host: number, url: string): Promise<string>;
}

/** The testbed's hosts (network namespaces). */
export function testbedHosts(tb: Testbed): ProcessHosts {
  return {
    spawn: (host, cmd, args, opts) => tb.spawn(host, cmd, args, opts),
    fetchText: async (host, url) => (await tb.exec(host, ['curl', '-s', '--max-time', '5', url])).stdout,
  };
}

/** The processes of one running configuration. */
export class RunningConfig {
  private readonly children: ChildProcess[] = [];

  constructor(
    private readonly hosts: ProcessHosts,
    readonly config: ExperimentConfig,
    private readonly workload: Workload,
    private readonly addrs: Addresses,
    readonly dir: string,
  ) {}

  private start(host: number, name: string, args: string[], env: Record<string, string>, ready: RegExp): Promise<void> {
    const child = this.hosts.spawn(host, process.execPath, args, {
      env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...(process.env['DEMO_DEBUG'] && { DEMO_DEBUG: process.env['DEMO_DEBUG'] }), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.push(child);
    const log = createWriteStream(join(this.dir, `${name}.log`));
    child.stdout?.on('data', (c: Buffer) => log.write(c));
    child.stderr?.on('data', (c: Buffer) => log.write(c));
    child.once('exit', () => log.end());
    return waitForLine(child, ready, 30_000).then(
      () => undefined,
      (err: unknown) => {
        throw new Error(`${this.config.id}: ${name} did not start: ${(err as Error).message}`);
      },
    );
  }

  /** Sidecars first (the apps connect to their AMQP listeners), then the apps. */
  async up(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const files = sidecarResources(this.config, this.workload, this.addrs);
    const hostOf = (name: string): number => (name === 'frontend' ? EDGE : BACKEND);
    await Promise.all(
      Object.entries(files).map(([name, docs]) => {
        const file = join(this.dir, `${name}.sidecar.yaml`);
        writeFileSync(file, toYaml(docs));
        const args = [SIDECAR_SCRIPT, ...(this.config.kernel ? ['--mark'] : []), '--config', file, '--no-watch', '--log-level', 'warn'];
        return this.start(hostOf(name), `${name}-sidecar`, args, {}, /^strata proxy ready/);
      }),
    );
    for (const app of appPlan(this.config, this.workload, this.addrs)) {
      await this.start(app.host, app.name, ['--import', PROPAGATE_SCRIPT, APP_SCRIPT, app.name], app.env, app.name === 'worker' ? /^consuming / : /^listening \d+/);
    }
  }

  /** Shed counts of every sidecar (strata_priority_shed_total summed by class). */
  async shedCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    if (!this.config.mesh) return out;
    for (const [name, port] of Object.entries((this.addrs.ports ?? DEFAULT_PORTS).admin)) {
      const stats = await this.hosts.fetchText(name === 'frontend' ? EDGE : BACKEND, `http://127.0.0.1:${port}/stats`);
      for (const m of stats.matchAll(/^strata_priority_shed_total\{([^}]*)\} (\S+)$/gm)) {
        const cls = /class="([^"]*)"/.exec(m[1] ?? '')?.[1] ?? 'unknown';
        out[cls] = (out[cls] ?? 0) + Number(m[2]);
      }
    }
    return out;
  }

  async down(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => c.kill('SIGKILL'), 3_000);
            c.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    this.children.length = 0;
  }
}
