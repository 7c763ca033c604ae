/**
 * `strata demo --app priority`: the mixed-workload priority app on loopback with its own
 * RabbitMQ. It prints per-class lines while the load runs, stops by itself after --duration,
 * and leaves nothing behind (no listener on its ports, no broker). Bad options are refused
 * with exit 2 and a message naming the option, nothing started.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { PORT_SPAN, portList } from '../src/demo/priority/options.js';
import { portsFrom } from '../src/experiment/topology.js';
import { rabbitmqSkipReason } from '../src/proxy/amqp/rabbitmq-test-server.js';
import { portTaken } from '../src/runner/net.js';
import { alive, interruptAll, spawnStrata, waitFor } from './lib/harness.js';
import type { StrataProcess } from './lib/harness.js';

const started: StrataProcess[] = [];
/** Broker PIDs the demo reported: killed (their process group) in after() should the demo not have. */
const brokerPids: number[] = [];

function strata(args: string[]): StrataProcess {
  const p = spawnStrata(args);
  started.push(p);
  return p;
}

after(async () => {
  await interruptAll(started, 30_000);
  for (const pid of brokerPids) {
    try {
      if (alive(pid)) process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A base in 20000… whose whole block lies below 32000 and is free now. */
async function freeBase(): Promise<number> {
  const high = 32_000 - PORT_SPAN - 1;
  for (let i = 0; i < 50; i += 1) {
    const base = 20_000 + Math.floor(Math.random() * (high - 20_000));
    let free = true;
    for (const p of portList(portsFrom(base))) if (await portTaken(p)) free = false;
    if (free) return base;
  }
  throw new Error('no free port block in 20000-32000');
}

const skip = rabbitmqSkipReason();

test('strata demo --app priority: per-class lines while the load runs; stops after --duration; nothing left behind', { timeout: 300_000, skip }, async () => {
  const base = await freeBase();
  const demo = strata(['demo', '--app', 'priority', '--duration', '8', '--interval', '1', '--base-port', String(base)]);
  const broker = await waitFor('RabbitMQ ready', () => {
    const m = /RabbitMQ ready on 127\.0\.0\.1:(\d+), pid (\d+)/.exec(demo.out());
    if (m) return { port: Number(m[1]), pid: Number(m[2]) };
    if (demo.proc.exitCode !== null) throw new Error(`strata demo exited ${demo.proc.exitCode}:\n${demo.out()}`);
    return undefined;
  }, 120_000, 100);
  brokerPids.push(broker.pid);
  const code = await Promise.race([demo.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`strata demo did not stop:\n${demo.out()}`)), 200_000).unref())]);
  const out = demo.out();
  assert.equal(code, 0, out);
  assert.match(out, /gateway :\d+ \(frontend's sidecar\)/);
  assert.match(out, /Try:\n\s+curl -s .*localhost:\d+\/item\?id=1/);
  const lines = [...out.matchAll(/latency-sensitive\s+([\d.]+)\/s ok ([\d.]+)%.*\| bulk ([\d.]+)\/s\s+p99 \S+( ms| s)?\s+shed \d+/g)];
  assert.ok(lines.some((m) => Number(m[2]) > 0), `a latency-sensitive line with ok > 0:\n${out}`);
  assert.match(out, /time is up/);
  assert.match(out, /stopped\n/);

  // Nothing left: no listener on the block's ports, no broker.
  const ports = portList(portsFrom(base));
  await waitFor('every port of the block free', async () => {
    for (const p of ports) if (await portTaken(p)) return false;
    return true;
  }, 30_000, 200);
  await waitFor('the broker gone', async () => !alive(broker.pid) && !(await portTaken(broker.port)), 30_000, 200);
});

test('strata demo: bad --app / --priority / --ls-rate / --base-port are refused with exit 2, naming the option', { timeout: 120_000 }, async () => {
  const cases: [string[], RegExp][] = [
    [['--app', 'nope'], /--app must be shop or priority, got 'nope'/],
    [['--app', 'priority', '--priority', 'maybe'], /--priority must be on or off, got 'maybe'/],
    [['--app', 'priority', '--ls-rate=-1'], /--ls-rate must be a number .*got '-1'/],
    [['--app', 'priority', '--ls-rate', '-1'], /--ls-rate/],
    [['--app', 'priority', '--bulk', '2.5'], /--bulk must be a whole number/],
    [['--app', 'priority', '--base-port', '60000'], /--base-port must be 0 \(a free block\) or 1024-\d+ for --app priority/],
    [['--app', 'priority', '--rps', '3'], /--rps is only for --app shop/],
    [['--priority', 'on'], /--priority is only for --app priority/],
  ];
  for (const [args, re] of cases) {
    const p = strata(['demo', ...args]);
    assert.equal(await p.exited, 2, `${args.join(' ')}:\n${p.out()}`);
    assert.match(p.out(), re, args.join(' '));
    assert.doesNotMatch(p.out(), /Starting/, args.join(' '));
  }
});
