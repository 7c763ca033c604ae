/**
 * @module bench/control-bench
 * `npm run bench:control`: the control-plane push benchmark. For each variant ({sotw, delta} ×
 * {scoped, whole mesh}) it starts `strata control` as a child process, loads a synthetic mesh
 * (1,000 Services × 10 static endpoints + Routes) through the REST API, connects 1,000
 * simulated ADS clients (worker thread(s) of this process), then applies a route change and an
 * endpoint change to the service every client depends on, several times each, and measures
 * how long until every client has ACKed (p50/p99/max over clients; medians over repeats), the
 * control plane's CPU seconds per phase and its RSS. Prints a table and the target verdicts
 * (all ACKed within 1 s; RSS ≤ 300 MB) and writes JSON.
 *
 * Scoped variants: each client sends node.metadata `strata.dependencies` = svc-0000 plus a few
 * random services. Whole-mesh variants send no metadata (every client gets everything).
 *
 * Placement (≥ 2 CPUs and taskset): the control plane on CPU 1; this process (clients) on CPU 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ApiClient } from '../src/control/api/client.js';
import { machineInfo } from './lib/machine.js';
import type { MachineInfo } from './lib/machine.js';
import { installCleanupHandlers, setTaskset, stopAll } from './lib/procs.js';
import { busyMicros, cpuBusyPct, readCpuTimes, round } from './lib/procstat.js';
import type { CpuTimes } from './lib/procstat.js';
import { sleep } from './lib/ports.js';
import { TYPES } from './control/ads-client.js';
import type { ClientSpec } from './control/ads-client.js';
import { parseControlBenchArgs, USAGE } from './control/args.js';
import type { ControlBenchArgs, Variant } from './control/args.js';
import { cpuSeconds, memoryMiB, startControlPlane, stopControlPlane } from './control/control-plane.js';
import type { RunningControlPlane } from './control/control-plane.js';
import { Fleet } from './control/fleet.js';
import { SHARED_SERVICE, clientDependencies, extraEndpoint, meshDocs, routeConfigName, sharedRouteDoc, toYamlStream } from './control/mesh.js';
import type { MeshShape } from './control/mesh.js';
import { ackStats, renderTable, summarize, TARGETS, verdicts } from './control/report.js';
import type { ChangeRun, VariantResult } from './control/report.js';

const CONTROL_CPU = '1';
const BENCH_CPU = '0';
/** Registered endpoints of the endpoint change outlive the run. */
const REGISTRATION_TTL_MS = 3_600_000;

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function choosePlacement(args: ControlBenchArgs, machine: MachineInfo): { control: string | undefined; note: string } {
  if (!args.pin) return { control: undefined, note: 'pinning disabled (--no-pin)' };
  if (machine.nproc < 2) return { control: undefined, note: `not pinned: only ${machine.nproc} CPU` };
  if (spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status !== 0) return { control: undefined, note: 'not pinned: taskset not found' };
  setTaskset('taskset');
  spawnSync('taskset', ['-a', '-pc', BENCH_CPU, String(process.pid)], { stdio: 'ignore' });
  return { control: CONTROL_CPU, note: `control plane on CPU ${CONTROL_CPU}; simulated clients and harness on CPU ${BENCH_CPU}` };
}

/** How busy each CPU is with nothing of ours running: other load on the machine skews results. */
async function backgroundLoad(): Promise<Record<string, number>> {
  const before = readCpuTimes();
  await sleep(1000);
  const busy = cpuBusyPct(before, readCpuTimes());
  const hot = Object.entries(busy).filter(([, v]) => v > 15);
  if (hot.length > 0) log(`warning: the machine is not idle (${hot.map(([c, v]) => `${c} ${v}% busy`).join(', ')} before any load); expect noisy numbers`);
  return busy;
}

/** The commit measured, and whether the tree had local changes. */
function gitDescribe(): { commit: string | null; dirty: boolean | null } {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' });
  if (head.status !== 0) return { commit: null, dirty: null };
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  return { commit: head.stdout.trim(), dirty: status.status === 0 ? status.stdout.trim() !== '' : null };
}

const benchCpuS = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** CPU seconds and machine-wide busy time at the start of a phase. */
interface PhaseStart {
  control: number;
  bench: number;
  machine: CpuTimes;
}

function phaseStart(pid: number): PhaseStart {
  return { control: cpuSeconds(pid), bench: benchCpuS(), machine: readCpuTimes() };
}

/** Control-plane, bench and everything-else CPU seconds since `s`. */
function phaseCpu(pid: number, s: PhaseStart): { controlCpuS: number; benchCpuS: number; foreignCpuS: number } {
  const control = cpuSeconds(pid) - s.control;
  const bench = benchCpuS() - s.bench;
  const busy = busyMicros(s.machine, readCpuTimes()) / 1e6;
  return { controlCpuS: round(control, 3), benchCpuS: round(bench, 3), foreignCpuS: round(Math.max(0, busy - control - bench), 2) };
}

/** Waits (up to `maxMs`) for a second in which no CPU is more than 15% busy; returns the last reading. */
async function waitIdle(maxMs: number): Promise<Record<string, number>> {
  const end = Date.now() + maxMs;
  let busy: Record<string, number> = {};
  do {
    const before = readCpuTimes();
    await sleep(1000);
    busy = cpuBusyPct(before, readCpuTimes());
    if (Object.values(busy).every((v) => v <= 15)) return busy;
  } while (Date.now() < end);
  log(`  warning: the machine is still busy (${Object.entries(busy).map(([c, v]) => `${c} ${v}%`).join(', ')}); expect noisy numbers`);
  return busy;
}

/** Polls the control plane's status until it serves `revision` (the mesh just applied). */
async function waitServed(api: ApiClient, revision: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if ((await api.status()).revision >= revision) return;
    await sleep(50);
  }
  throw new Error(`the control plane did not serve revision ${revision} within ${timeoutMs / 1000} s`);
}

interface VariantContext {
  args: ControlBenchArgs;
  variant: Variant;
  yaml: string;
  dependencies: string[][];
  controlCpu: string | undefined;
}

async function runVariant(ctx: VariantContext): Promise<VariantResult> {
  const { args, variant } = ctx;
  const result: VariantResult = {
    name: variant.name,
    protocol: variant.protocol,
    scope: variant.scope,
    status: 'ok',
    load: null,
    connect: null,
    changes: [],
    controlRssMB: { beforeClients: null, steady: null, afterChanges: null, peak: null },
    perClient: { clusters: null, listeners: null },
    benchPeakRssMB: null,
    streamsEnded: 0,
    notes: [],
  };
  let cp: RunningControlPlane | undefined;
  let fleet: Fleet | undefined;
  const mem = (): number | null => (cp ? round(memoryMiB(cp.child.pid)?.rss ?? NaN, 1) : null);
  try {
    cp = await startControlPlane({
      cpus: ctx.controlCpu,
      ...(args.cpuProfDir && { cpuProfDir: resolve(args.cpuProfDir, variant.name) }),
      nodeFlags: args.controlNodeFlags,
      keepOutput: args.controlLogDir !== undefined,
      logLevel: args.logLevel,
    });
    const pid = cp.child.pid;
    const api = new ApiClient(cp.api);

    // Load the mesh.
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const applied = await api.applyText(ctx.yaml, 'bench-mesh.yaml');
    const applyMs = performance.now() - t0;
    await waitServed(api, applied.revision, 120_000);
    result.load = { applyMs: round(applyMs, 1), servedMs: round(performance.now() - t0, 1), controlCpuS: round(cpuSeconds(pid) - cpu0, 3) };
    log(`  mesh loaded: apply ${result.load.applyMs} ms, served after ${result.load.servedMs} ms, control-plane CPU ${result.load.controlCpuS} s`);
    await sleep(300);
    result.controlRssMB.beforeClients = mem();

    // Connect every client and wait for each to ACK its initial configuration.
    const clients: ClientSpec[] = ctx.dependencies.map((deps, i) => ({
      id: `bench-client-${String(i).padStart(4, '0')}`,
      ...(variant.scope === 'scoped' && { dependencies: deps }),
    }));
    let phase = phaseStart(pid);
    const started = await Fleet.start({
      port: cp.xdsPort,
      protocol: variant.protocol,
      clients,
      workers: args.workers,
      streamsPerChannel: args.streamsPerChannel,
      watched: [
        { typeUrl: TYPES.rds, name: routeConfigName(SHARED_SERVICE) },
        { typeUrl: TYPES.eds, name: SHARED_SERVICE },
      ],
    });
    fleet = started.fleet;
    const initial = await started.initial(args.timeoutMs);
    result.connect = {
      ...ackStats(started.openedAt, initial.times),
      ...phaseCpu(pid, phase),
      clientElu: round(Math.max(...initial.elu), 2),
    };
    result.perClient = { clusters: initial.samples[0]?.clusters ?? null, listeners: initial.samples[0]?.listeners ?? null };
    log(`  connect: ${result.connect.acked}/${clients.length} ready, p50 ${result.connect.p50Ms} ms, max ${result.connect.maxMs ?? '—'} ms; client 0 holds ${result.perClient.clusters} clusters, ${result.perClient.listeners} listeners`);
    if (result.connect.missing > 0) throw new Error(`${result.connect.missing} client(s) not ready within ${args.timeoutMs / 1000} s${initial.lastEnd ? ` (last stream end: ${initial.lastEnd})` : ''}`);
    if (variant.scope === 'scoped' && result.perClient.clusters !== null && result.perClient.clusters >= args.services && args.services > 10) {
      result.notes.push(`scoped push not in effect: a client with ${args.dependencies + 1} dependencies holds ${result.perClient.clusters} clusters (the whole mesh)`);
      log(`  warning: ${result.notes[result.notes.length - 1]}`);
    }
    await sleep(1000);
    result.controlRssMB.steady = mem();

    // The changes: route then endpoint, `repeat` times.
    const runs: Record<'route' | 'endpoint', ChangeRun[]> = { route: [], endpoint: [] };
    for (let rep = 1; rep <= args.repeat; rep++) {
      for (const kind of ['route', 'endpoint'] as const) {
        let apply = 0;
        const change =
          kind === 'route'
            ? async () => {
                const t = performance.now();
                await api.applyText(JSON.stringify(sharedRouteDoc(rep)), 'bench-route.yaml');
                apply = performance.now() - t;
              }
            : async () => {
                const t = performance.now();
                await api.register({ service: SHARED_SERVICE, ...extraEndpoint(rep), ttlMs: REGISTRATION_TTL_MS, metadata: { bench: true } });
                apply = performance.now() - t;
              };
        phase = phaseStart(pid);
        const { start, result: r } = await fleet.timeChange(kind === 'route' ? TYPES.rds : TYPES.eds, change, args.timeoutMs);
        const run: ChangeRun = {
          ...ackStats(start, r.times),
          applyMs: round(apply, 1),
          ...phaseCpu(pid, phase),
          clientElu: round(Math.max(...r.elu), 2),
        };
        runs[kind].push(run);
        result.streamsEnded = r.ended;
        log(`  ${kind} change #${rep}: p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, max ${run.maxMs ?? `— (${run.missing} missing)`} ms, control-plane CPU ${run.controlCpuS} s, client ELU ${run.clientElu}`);
        await sleep(args.settleMs);
      }
    }
    result.changes = [
      summarize('route', `Route ${SHARED_SERVICE}-route: canary header value changed (RouteConfiguration ${routeConfigName(SHARED_SERVICE)})`, runs.route),
      summarize('endpoint', `POST /api/v1/endpoints: one more endpoint registered for ${SHARED_SERVICE} (its ClusterLoadAssignment)`, runs.endpoint),
    ];
    result.controlRssMB.afterChanges = mem();
    if (result.streamsEnded > 0) result.notes.push(`${result.streamsEnded} stream(s) ended during the run`);
  } catch (err) {
    result.status = 'failed';
    result.reason = err instanceof Error ? err.message : String(err);
    log(`  ${variant.name} failed: ${result.reason}`);
  } finally {
    if (cp) result.controlRssMB.peak = round(memoryMiB(cp.child.pid)?.hwm ?? NaN, 1) || null;
    await fleet?.stop().catch(() => undefined);
    if (cp) {
      await stopControlPlane(cp);
      if (args.controlLogDir) {
        mkdirSync(args.controlLogDir, { recursive: true });
        writeFileSync(join(args.controlLogDir, `${variant.name}.log`), `${cp.child.stdout()}\n--- stderr ---\n${cp.child.stderr()}`);
      }
    }
    result.benchPeakRssMB = round(process.resourceUsage().maxRSS / 1024, 1);
  }
  return result;
}

async function main(argv: string[]): Promise<number> {
  const args = parseControlBenchArgs(argv);
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  installCleanupHandlers();
  const machine = machineInfo();
  const placement = choosePlacement(args, machine);
  const shape: MeshShape = { services: args.services, endpointsPerService: args.endpointsPerService, extraDependencies: args.dependencies, seed: args.seed };
  const yaml = toYamlStream(meshDocs(shape));
  const dependencies = clientDependencies(args.clients, shape);
  log(`Strata control-plane benchmark — ${machine.nproc} CPU (${machine.cpuModel}), node ${machine.node}`);
  log(`placement: ${placement.note}`);
  log(`${args.clients} clients × ${args.services} services × ${args.endpointsPerService} endpoints; scoped clients depend on ${SHARED_SERVICE} + ${args.dependencies} others; repeat ${args.repeat}; ${args.workers} client worker(s), ${args.streamsPerChannel} stream(s) per channel`);

  const backgroundBefore = await backgroundLoad();
  if (Object.values(backgroundBefore).some((v) => v > 15)) log('waiting for the machine to go idle before each variant (--idle-wait)');
  const startedAt = new Date().toISOString();
  const t0 = performance.now();
  const results: VariantResult[] = [];
  try {
    for (const variant of args.variants) {
      log(`\n▶ ${variant.name} (${variant.protocol}, ${variant.scope})`);
      const idle = await waitIdle(args.idleWaitMs);
      const r = await runVariant({ args, variant, yaml, dependencies, controlCpu: placement.control });
      r.backgroundCpuBusyPct = idle;
      results.push(r);
    }
  } finally {
    await stopAll();
  }
  const backgroundAfter = await backgroundLoad();
  const vs = verdicts(results);
  process.stdout.write(`\n${renderTable(results, vs, args.clients)}\n`);

  const out = resolve(args.out);
  mkdirSync(dirname(out), { recursive: true });
  const { tools: _tools, ...machineCore } = machine;
  const json = {
    benchmark: 'strata-control-plane-push',
    schemaVersion: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    wallS: round((performance.now() - t0) / 1000, 1),
    machine: machineCore,
    code: gitDescribe(),
    settings: {
      clients: args.clients,
      services: args.services,
      endpointsPerService: args.endpointsPerService,
      endpointsTotal: args.services * args.endpointsPerService,
      routes: 1 + Math.max(0, Math.ceil(args.services / 10) - 1),
      scopedDependencies: `${SHARED_SERVICE} + ${args.dependencies} random (seed ${args.seed})`,
      repeat: args.repeat,
      aggregate: 'per run: p50/p99/max over clients of (ACK time − REST call start); per change: median over runs',
      workers: args.workers,
      streamsPerChannel: args.streamsPerChannel,
      timeoutMs: args.timeoutMs,
      settleMs: args.settleMs,
      controlPlane: 'node --max-semi-space-size=2 bin/strata.js control (SQLite store in a temp dir)',
      controlLogLevel: args.logLevel,
      pinning: { enabled: placement.control !== undefined, controlCpu: placement.control ?? null, benchCpu: placement.control ? BENCH_CPU : null, note: placement.note },
    },
    backgroundCpuBusyPct: { before: backgroundBefore, after: backgroundAfter },
    targets: TARGETS,
    variants: results,
    verdicts: vs,
  };
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);
  log(`\nresults written to ${out}`);
  return results.some((r) => r.status === 'ok') ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench:control: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
