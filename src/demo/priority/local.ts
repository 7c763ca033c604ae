/**
 * @module demo/priority/local
 * `strata demo --app priority`: the mixed-workload app of `strata experiment priority`
 * (demo/priority/app.ts, experiment/topology.ts) on this machine's loopback, no namespaces and
 * no root: a private RabbitMQ (proxy/amqp/rabbitmq-test-server.ts), the five apps beside their
 * sidecars in the proxy-broker configuration (or `mesh`, priority off), then latency-sensitive
 * and bulk load against the gateway (experiment/load.ts ContinuousLoad) with a line per
 * interval. Runs until Ctrl-C / SIGTERM or the duration; then stops the load, the apps and
 * sidecars, the broker, and removes its directory — also after an error. Every child runs in
 * its own process group watched by the runner's reaper, so none outlives a killed runner.
 */
import type { SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CONFIGS } from '../../experiment/configs.js';
import type { ExperimentConfig } from '../../experiment/configs.js';
import { ContinuousLoad } from '../../experiment/load.js';
import { DEFAULT_WORKLOAD, RunningConfig, portsFrom } from '../../experiment/topology.js';
import type { Ports, ProcessHosts } from '../../experiment/topology.js';
import { RABBITMQ_SERVER, RabbitMqTestServer } from '../../proxy/amqp/rabbitmq-test-server.js';
import { Child, killAllChildren, reapWithRunner } from '../../runner/children.js';
import { portTaken } from '../../runner/net.js';
import { onStopSignals } from '../../runner/signals.js';
import type { PriorityDemoOptions } from './options.js';
import { PORT_SPAN, portList } from './options.js';
import { ShedTracker, introText, intervalLine } from './summary.js';

export const RABBITMQ_INSTALL = 'sudo apt-get install -y rabbitmq-server';

export interface LocalPriorityDemoOptions extends PriorityDemoOptions {
  /** Seconds of load; 0 = until Ctrl-C. */
  durationS: number;
  intervalS: number;
  out: (text: string) => void;
  err: (text: string) => void;
}

const discard = new Writable({
  write: (_chunk, _enc, cb) => cb(),
});

/** This machine as every host of the topology: children in their own process groups, watched by the reaper. */
export function localHosts(): ProcessHosts {
  return {
    spawn: (_host, cmd, args, opts: SpawnOptions) => {
      const child = new Child({
        name: args.find((a) => !a.startsWith('-') && !a.endsWith('.js')) ?? cmd,
        command: cmd,
        args,
        env: opts.env ?? process.env,
        // RunningConfig writes each child's output to its own log file.
        output: { kind: 'prefix', prefix: '', out: discard },
      });
      return child.proc;
    },
    fetchText: async (_host, url) => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
        return await res.text();
      } catch {
        return '';
      }
    },
  };
}

/** Ports of the block at `base` already taken on this machine. */
async function takenPorts(ports: Ports): Promise<number[]> {
  const taken: number[] = [];
  for (const p of portList(ports)) if (await portTaken(p)) taken.push(p);
  return taken;
}

/** A base whose whole block is free, below the ephemeral port range (where the broker's ports come from). */
async function freeBlock(): Promise<number | undefined> {
  const low = 10_000;
  const high = 32_768 - PORT_SPAN - 1;
  for (let attempt = 0; attempt < 30; attempt += 1) {
    const base = low + Math.floor(Math.random() * (high - low));
    if ((await takenPorts(portsFrom(base))).length === 0) return base;
  }
  return undefined;
}

const configOf = (priority: boolean): ExperimentConfig => CONFIGS.find((c) => c.id === (priority ? 'proxy-broker' : 'mesh')) as ExperimentConfig;

/** Wait until GET /item answers 2xx through the gateway (connections set up, consumers attached). */
async function firstAnswer(url: string, stopped: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopped()) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.ok) return true;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** Run the demo; resolves with the exit code. */
export async function runLocalPriorityDemo(o: LocalPriorityDemoOptions): Promise<number> {
  if (!existsSync(RABBITMQ_SERVER)) {
    o.err(
      `strata demo: the priority app needs RabbitMQ, and rabbitmq-server is not installed (no ${RABBITMQ_SERVER}).\n` +
        `  Install it with: ${RABBITMQ_INSTALL}\n` +
        '  (the demo starts its own broker on loopback in a temporary directory; the system service need not run)\n',
    );
    return 1;
  }
  let base = o.base;
  if (base === 0) {
    const found = await freeBlock();
    if (found === undefined) {
      o.err('strata demo: found no free block of ports for the priority app; pick one with --base-port N\n');
      return 1;
    }
    base = found;
  }
  const ports = portsFrom(base);
  const taken = await takenPorts(ports);
  if (taken.length > 0) {
    o.err(
      `strata demo: port${taken.length > 1 ? 's' : ''} ${taken.join(', ')} already in use (the priority app uses ${portList(ports).join(', ')});` +
        ` pick another block with --base-port N (1024-${65535 - PORT_SPAN}) or --base-port 0 for any free block\n`,
    );
    return 1;
  }

  const config = configOf(o.priority);
  const workload = { ...DEFAULT_WORKLOAD, lsRate: o.lsRate, bulkConcurrency: o.bulk };
  const dir = mkdtempSync(join(tmpdir(), 'strata-demo-priority-'));
  let stopReason: string | undefined;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => (wake = resolve));
  const requestStop = (why: string): void => {
    if (stopReason !== undefined) return;
    stopReason = why;
    o.out(`${why}: stopping the load, the apps and sidecars, then RabbitMQ (again to kill now)\n`);
    wake();
  };
  let broker: RabbitMqTestServer | undefined;
  let unreap: (() => void)[] = [];
  const unhook = onStopSignals(
    (signal) => requestStop(signal),
    () => {
      // Second signal: onStopSignals killed the apps and sidecars; the broker's exit hook kills it.
      killAllChildren();
      rmSync(dir, { recursive: true, force: true });
      process.exit(130);
    },
  );
  let running: RunningConfig | undefined;
  let upDone: Promise<void> | undefined;
  let load: ContinuousLoad | undefined;
  let timer: NodeJS.Timeout | undefined;
  let code = 0;
  try {
    o.out(`Starting the Strata priority demo (${config.label}): RabbitMQ, then 5 sidecars and 5 apps on 127.0.0.1, ports ${base}…${base + PORT_SPAN}\n`);
    broker = await RabbitMqTestServer.start();
    unreap = Object.values(broker.pids).map((pid) => reapWithRunner(pid));
    o.out(`RabbitMQ ready on 127.0.0.1:${broker.port}, pid ${broker.pids.broker ?? '?'}\n`);
    if (stopReason !== undefined) return 0;

    running = new RunningConfig(localHosts(), config, workload, { edge: '127.0.0.1', backend: '127.0.0.1', rabbitPort: broker.port, ports }, dir);
    upDone = running.up();
    await Promise.race([upDone, stopRequested]);
    if (stopReason !== undefined) return 0;
    o.out(`sidecars and apps ready (logs in ${dir})\n`);
    const target = `http://127.0.0.1:${ports.entry}`;
    if (!(await firstAnswer(`${target}/item?id=1`, () => stopReason !== undefined, 60_000))) {
      if (stopReason !== undefined) return 0;
      throw new Error(`no answer from the gateway (${target}/item?id=1) within 60 s; logs in ${dir}`);
    }
    o.out(introText({ priority: o.priority, ports, rabbitPort: broker.port, lsRate: o.lsRate, bulk: o.bulk, durationS: o.durationS, dir }));

    load = new ContinuousLoad({ target, lsRate: o.lsRate, bulkConcurrency: o.bulk, bulkBytes: workload.bulkBytes });
    const started = Date.now();
    const sheds = new ShedTracker(await running.shedCounts());
    load.start();
    const cfg = running;
    const activeLoad = load;
    let ticking = false;
    timer = setInterval(() => {
      if (ticking || stopReason !== undefined) return;
      ticking = true;
      const report = activeLoad.take();
      void cfg
        .shedCounts()
        .then((now) => {
          const shed = sheds.next(now);
          if (stopReason === undefined) o.out(`${intervalLine((Date.now() - started) / 1000, report, shed)}\n`);
        })
        .finally(() => (ticking = false));
    }, o.intervalS * 1000);
    if (o.durationS > 0) setTimeout(() => requestStop('time is up'), o.durationS * 1000).unref();
    await stopRequested;
  } catch (err) {
    o.err(`strata demo: ${(err as Error).message}\n`);
    code = 1;
  } finally {
    if (timer) clearInterval(timer);
    await load?.stop();
    await running?.down();
    if (upDone && running) {
      // Stopped while starting: what up() started after the first down() goes too.
      await upDone.catch(() => undefined);
      await running.down();
    }
    await broker?.stop().catch(() => undefined);
    for (const f of unreap) f();
    rmSync(dir, { recursive: true, force: true });
    unhook();
    o.out('stopped\n');
  }
  return code;
}
