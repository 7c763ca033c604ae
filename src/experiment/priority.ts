/**
 * @module experiment/priority
 * `strata experiment priority`: the demo application (src/demo/priority) on a three-host
 * testbed, latency-sensitive requests at a fixed rate plus closed-loop bulk load that
 * saturates the bottleneck link, the worker queue and the services' capacity, measured in each
 * configuration (experiment/configs.ts) unloaded and loaded. One RabbitMQ broker (inside the
 * backend namespace) serves every configuration; each configuration uses its own queue. The
 * testbed and the broker are always torn down, also on failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { RabbitMqTestServer } from '../proxy/amqp/rabbitmq-test-server.js';
import { onStopSignals } from '../runner/signals.js';
import { Testbed, cleanupStale } from '../testbed/testbed.js';
import type { ExperimentConfig } from './configs.js';
import type { LoadReport } from './load.js';
import { evaluateTarget, medianRows } from './report.js';
import type { ConfigResult, ExperimentResult } from './report.js';
import { CLIENT, DEFAULT_PORTS, DEFAULT_WORKLOAD, EDGE, BACKEND, LOAD_SCRIPT, RunningConfig, setBottleneck, testbedHosts } from './topology.js';
import type { Addresses, Workload } from './topology.js';

/** A pause between starting a configuration and its warm-up (connections, the broker's consumers). */
const SETTLE_MS = 2_000;

export interface ExperimentOptions {
  configs: ExperimentConfig[];
  warmupS: number;
  durationS: number;
  /** Rounds of every configuration (interleaved: round 1 runs each once, then round 2…); default 1. */
  repeat?: number;
  workload?: Workload;
  command: string;
  /** Progress lines. */
  log: (line: string) => void;
  /** Keep the run directory (sidecar files, process logs). */
  keepDir?: boolean;
}

async function runPhase(tb: Testbed, target: string, w: Workload, bulk: boolean, warmupS: number, durationS: number): Promise<LoadReport> {
  const args = [
    LOAD_SCRIPT,
    '--target', target,
    '--ls-rate', String(w.lsRate),
    '--bulk', String(bulk ? w.bulkConcurrency : 0),
    '--bulk-bytes', String(w.bulkBytes),
    '--warmup', String(warmupS),
    '--duration', String(durationS),
  ];
  const r = await tb.exec(CLIENT, [process.execPath, ...args], { timeoutMs: (warmupS + durationS + 60) * 1000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as LoadReport;
  } catch {
    throw new Error(`load generator printed no report (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  }
}

async function runConfig(tb: Testbed, c: ExperimentConfig, o: ExperimentOptions, w: Workload, addrs: Addresses, dir: string): Promise<ConfigResult> {
  const bottleneck = await setBottleneck(tb, c, w);
  const running = new RunningConfig(testbedHosts(tb), c, w, addrs, join(dir, c.id));
  const target = `http://${addrs.edge}:${DEFAULT_PORTS.entry}`;
  try {
    await running.up();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    // Warm up connections, pools and the JIT; fail early if the app does not answer.
    const warm = await runPhase(tb, target, { ...w, bulkConcurrency: 2 }, true, 0, 2);
    o.log(`  warm-up: LS ${warm.latencySensitive.ok} ok, ${warm.latencySensitive.errors} errors ${JSON.stringify(warm.latencySensitive.errorKinds)}; bulk ${warm.bulk.ok} ok`);
    if (warm.latencySensitive.ok === 0) throw new Error(`${c.id}: no request succeeded during warm-up (logs in ${running.dir})`);
    const unloaded = await runPhase(tb, target, w, false, 1, o.durationS);
    o.log(`  unloaded: LS p50 ${unloaded.latencySensitive.p50} ms, p99 ${unloaded.latencySensitive.p99} ms (${unloaded.latencySensitive.ok} ok, ${unloaded.latencySensitive.errors} errors)`);
    const before = await running.shedCounts();
    const loaded = await runPhase(tb, target, w, true, o.warmupS, o.durationS);
    const after = await running.shedCounts();
    const sidecarShed = Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
    const lsP99Ratio = Math.round((loaded.latencySensitive.p99 / unloaded.latencySensitive.p99) * 100) / 100;
    o.log(
      `  loaded:   LS p50 ${loaded.latencySensitive.p50} ms, p99 ${loaded.latencySensitive.p99} ms (×${lsP99Ratio}), bulk ${loaded.bulk.throughput}/s` +
        ` (${loaded.latencySensitive.errors}+${loaded.bulk.errors} errors, shed ${loaded.latencySensitive.shed}/${loaded.bulk.shed})`,
    );
    return { id: c.id, label: c.label, layers: { mesh: c.mesh, proxy: c.proxy, broker: c.broker, kernel: c.kernel }, bottleneck, unloaded, loaded, sidecarShed, lsP99Ratio };
  } finally {
    await running.down();
  }
}

export async function runPriorityExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  if (process.getuid?.() !== 0) throw new Error('strata experiment priority needs root (network namespaces, qdiscs)');
  const w = o.workload ?? DEFAULT_WORKLOAD;
  await cleanupStale();
  const dir = mkdtempSync(join(tmpdir(), 'strata-experiment-'));
  let tb: Testbed | undefined;
  let broker: RabbitMqTestServer | undefined;
  let torndown: Promise<void> | undefined;
  const teardown = (): Promise<void> =>
    (torndown ??= (async () => {
      await broker?.stop().catch(() => undefined);
      await tb?.destroy();
      if (!o.keepDir) rmSync(dir, { recursive: true, force: true });
    })());
  // Ctrl-C / SIGTERM: the same teardown as the end of a run, then exit (a second signal: exit now).
  const unhook = onStopSignals(
    (signal) => {
      o.log(`${signal}: stopping; tearing the testbed and the broker down`);
      void teardown().finally(() => process.exit(130));
    },
    () => process.exit(130),
  );
  const repeat = Math.max(1, Math.floor(o.repeat ?? 1));
  const rounds: ConfigResult[][] = [];
  try {
    tb = await Testbed.create({ hosts: 3 });
    o.log(`testbed ${tb.name}: client ${tb.host(CLIENT).address}, edge ${tb.host(EDGE).address}, backend ${tb.host(BACKEND).address}`);
    broker = await RabbitMqTestServer.start({ prefix: ['ip', 'netns', 'exec', tb.host(BACKEND).netns] });
    o.log(`RabbitMQ in ${tb.host(BACKEND).netns} on 127.0.0.1:${broker.port}, pid ${broker.pids.broker ?? '?'}; run directory ${dir}`);
    const addrs: Addresses = { edge: tb.host(EDGE).address, backend: tb.host(BACKEND).address, rabbitPort: broker.port };
    for (let round = 0; round < repeat; round++) {
      const results: ConfigResult[] = [];
      rounds.push(results);
      for (const c of o.configs) {
        o.log(`${repeat > 1 ? `round ${round + 1}/${repeat}: ` : ''}configuration ${c.id} (${c.label})`);
        results.push(await runConfig(tb, c, o, w, addrs, join(dir, `round-${round + 1}`)));
      }
    }
  } finally {
    await teardown();
    unhook();
  }
  const configs = repeat > 1 ? medianRows(rounds) : (rounds[0] ?? []);
  return {
    experiment: 'priority',
    date: new Date().toISOString(),
    command: o.command,
    machine: { cpus: cpus().length, kernel: release(), node: process.version },
    workload: w,
    phases: { warmupS: o.warmupS, durationS: o.durationS },
    configs,
    target: evaluateTarget(configs),
    ...(repeat > 1 && { rounds, roundTargets: rounds.map((round) => evaluateTarget(round)) }),
  };
}
