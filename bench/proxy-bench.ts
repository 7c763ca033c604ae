/**
 * @module bench/proxy-bench
 * `npm run bench`: the data-plane overhead benchmark. Puts nothing, nginx, haproxy and the
 * Strata sidecar (HTTP/1.1, h2c, gRPC, two sidecars) between a load generator and a 1 KiB
 * upstream; measures throughput, proxy CPU per request, proxy peak RSS, and the latency each
 * proxy adds at a fixed rate. Prints a table and the target verdicts, writes JSON.
 *
 * Placement (when there are ≥ 2 CPUs and taskset exists): the proxy under test on CPU 1; the
 * load generator, the upstream and this process on CPU 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseBenchArgs, USAGE, type BenchArgs } from './lib/args.js';
import { machineInfo, type MachineInfo } from './lib/machine.js';
import { measureRow, type BenchContext, type Placement, type RowResult } from './lib/measure.js';
import { grpcRequestFrame } from './lib/payload.js';
import { installCleanupHandlers, makeTempDir, setTaskset, stopAll } from './lib/procs.js';
import { cpuBusyPct, readCpuTimes } from './lib/procstat.js';
import { sleep } from './lib/ports.js';
import { derive, renderTable, verdicts, TARGETS } from './lib/report.js';
import { selectRows } from './lib/rows.js';
import { startUpstream } from './lib/upstream.js';

const PROXY_CPU = '1';
const LOAD_CPU = '0';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** How busy each CPU is with nothing of ours running: other load on the machine skews results. */
async function backgroundLoad(): Promise<Record<string, number>> {
  const before = readCpuTimes();
  await sleep(1000);
  const busy = cpuBusyPct(before, readCpuTimes());
  const hot = Object.entries(busy).filter(([, v]) => v > 15);
  if (hot.length > 0) {
    log(`warning: the machine is not idle (${hot.map(([c, v]) => `${c} ${v}% busy`).join(', ')} before any load); expect noisy numbers`);
  }
  return busy;
}

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Decides where processes run and pins this process to the load CPU. */
function choosePlacement(args: BenchArgs, machine: MachineInfo): { placement: Placement; note: string } {
  if (!args.pin) return { placement: { proxy: undefined, load: undefined }, note: 'pinning disabled (--no-pin)' };
  if (machine.nproc < 2) return { placement: { proxy: undefined, load: undefined }, note: `not pinned: only ${machine.nproc} CPU` };
  if (!hasCommand('taskset')) return { placement: { proxy: undefined, load: undefined }, note: 'not pinned: taskset not found' };
  setTaskset('taskset');
  spawnSync('taskset', ['-a', '-pc', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  return {
    placement: { proxy: PROXY_CPU, load: LOAD_CPU },
    note: `proxy under test on CPU ${PROXY_CPU}; load generator, upstream and harness on CPU ${LOAD_CPU}`,
  };
}

async function main(argv: string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  installCleanupHandlers();
  const rows = selectRows(args.rows);
  const machine = machineInfo();
  const { placement, note } = choosePlacement(args, machine);
  const missing = ['wrk', 'h2load', 'hey', 'nginx', 'haproxy'].filter((c) => !hasCommand(c));
  if (missing.length > 0) log(`warning: not installed: ${missing.join(', ')} (scripts/provision.sh installs them); rows that need them will fail`);
  log(`Strata proxy benchmark — ${machine.nproc} CPU (${machine.cpuModel}), node ${machine.node}`);
  log(`placement: ${note}`);
  log(`throughput ${args.duration}s, latency ${args.latencyDuration}s at ${args.rate} req/s, warm-up ${args.warmup}s, repeat ${args.repeat}, median reported`);

  const backgroundBefore = await backgroundLoad();
  const startedAt = new Date().toISOString();
  const tmp = makeTempDir('strata-bench-');
  const grpcBodyFile = join(tmp, 'grpc-request.bin');
  writeFileSync(grpcBodyFile, grpcRequestFrame());

  const results: RowResult[] = [];
  try {
    const [http1, h2c] = await Promise.all([startUpstream('http1', placement.load), startUpstream('h2c', placement.load)]);
    const ctx: BenchContext = {
      args,
      placement,
      upstreams: { http1: http1.port, h2c: h2c.port },
      upstreamChildren: { http1: http1.child, h2c: h2c.child },
      tmp,
      grpcBodyFile,
      log,
    };
    for (const row of rows) {
      log(`\n▶ ${row.name}: ${row.description}`);
      const r = await measureRow(row, ctx);
      if (r.status !== 'ok') log(`  ${row.name} ${r.status}: ${r.reason ?? ''}`);
      results.push(r);
    }
  } finally {
    await stopAll();
  }

  const backgroundAfter = await backgroundLoad();
  derive(results);
  const vs = verdicts(results);
  process.stdout.write(`\n${renderTable(results, vs, args.rate)}\n`);

  const out = resolve(args.out);
  mkdirSync(dirname(out), { recursive: true });
  const json = {
    benchmark: 'strata-proxy-overhead',
    schemaVersion: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    settings: {
      durationS: args.duration,
      latencyDurationS: args.latencyDuration,
      warmupS: args.warmup,
      repeat: args.repeat,
      aggregate: 'median of repeats (rssMB: highest peak over all runs)',
      wrk: { threads: 1, connections: args.connections },
      h2load: { threads: 1, clients: args.h2Clients, streamsPerClient: args.h2Streams },
      latency: { rate: args.rate, workers: 10, perWorker: args.rate / 10, http1: 'hey -o csv', h2: 'h2load --rps --log-file' },
      pinning: { enabled: placement.proxy !== undefined, proxyCpu: placement.proxy ?? null, loadCpu: placement.load ?? null, note },
      rssSampleMs: 200,
    },
    backgroundCpuBusyPct: { before: backgroundBefore, after: backgroundAfter },
    targets: TARGETS,
    rows: results,
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
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
