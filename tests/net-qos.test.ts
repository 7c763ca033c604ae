/**
 * SO_PRIORITY selects the htb class in the kernel: `strata net qos` installs 3 classes on host
 * A's egress device; connections whose sockets carry a class's SO_PRIORITY push bytes to host B,
 * and `tc -s class show` shows those bytes in that class and not in the others (unmarked bytes
 * land in the default class). `--remove` takes the qdisc away; bad input gives exit 2 / 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { classCounters, rootQdisc } from '../src/net/qos.js';
import { Testbed, cleanupStale } from '../src/testbed/testbed.js';
import { ROOT, STRATA_BIN } from './lib/harness.js';

const exec = promisify(execFile);
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces, qdiscs)' : false;

async function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [STRATA_BIN, ...args], { cwd: ROOT });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

test('strata net qos: usage errors are exit 2 with the field named', async () => {
  const noDev = await strata('net', 'qos', '--rate', '10mbit');
  assert.equal(noDev.code, 2);
  assert.match(noDev.stderr, /--dev DEV is required/);
  const badRate = await strata('net', 'qos', '--dev', 'eth0', '--rate', 'fast');
  assert.equal(badRate.code, 2);
  assert.match(badRate.stderr, /--rate: 'fast' is not a rate/);
  const badClasses = await strata('net', 'qos', '--dev', 'eth0', '--rate', '10mbit', '--classes', 'a:0.8,b:0.8');
  assert.equal(badClasses.code, 2);
  assert.match(badClasses.stderr, /--classes: the shares add up to 1.6, more than 1/);
  const help = await strata('net', '--help');
  assert.match(help.stdout, /strata net qos --dev DEV --rate RATE/);
});

test('SO_PRIORITY of a socket lands its bytes in the htb class with that classid (tc -s class counters)', { skip, timeout: 180_000 }, async () => {
  await cleanupStale();
  const tb = await Testbed.create({ hosts: 2 });
  try {
    const a = tb.host(0);
    const b = tb.host(1);
    const missing = await strata('net', 'qos', '--dev', 'nope0', '--rate', '100mbit', '--netns', a.netns);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /device 'nope0' does not exist in netns/);

    const inst = await strata('net', 'qos', '--dev', a.dev, '--rate', '100mbit', '--classes', 'high:0.5:10,normal:0.3:20,low:0.2:30', '--netns', a.netns);
    assert.equal(inst.code, 0, inst.stderr);
    assert.match(inst.stdout, /high\s+1:10\s+50mbit\s+100mbit\s+0\s+65552 \(0x10010\)/);
    assert.match(inst.stdout, /low \(default\)\s+1:30/);
    assert.match((await rootQdisc(a.dev, { netns: a.netns })) ?? '', /^htb 1:$/);

    const sink = await tb.startSink(1, 7003);
    const to = { address: b.address, port: sink.port };
    const before = await classCounters(a.dev, { netns: a.netns });
    const high = await tb.send(0, to, { bytes: 2_000_000, soPriority: 0x10010 });
    const normal = await tb.send(0, to, { bytes: 1_000_000, soPriority: 0x10020 });
    assert.equal(high.options?.soPriority, 0x10010);
    assert.equal(normal.options?.soPriority, 0x10020);
    assert.equal(high.received + normal.received, 3_000_000);
    const mid = await classCounters(a.dev, { netns: a.netns });
    const unmarked = await tb.send(0, to, { bytes: 500_000 });
    assert.equal(unmarked.received, 500_000);
    const after = await classCounters(a.dev, { netns: a.netns });

    const delta = (from: typeof before, to2: typeof before, id: string): number => (to2.find((c) => c.classid === id)?.bytes ?? 0) - (from.find((c) => c.classid === id)?.bytes ?? 0);
    const d = { high: delta(before, mid, '1:10'), normal: delta(before, mid, '1:20'), low: delta(before, mid, '1:30') };
    process.stderr.write(`# htb bytes while the marked flows ran: 1:10 ${d.high}, 1:20 ${d.normal}, 1:30 ${d.low}; unmarked flow then added 1:30 ${delta(mid, after, '1:30')}\n`);
    // payload plus headers; nothing of one class in another (the default class sees at most ARP)
    assert.ok(d.high >= 2_000_000 && d.high < 2_400_000, `1:10 got ${d.high}`);
    assert.ok(d.normal >= 1_000_000 && d.normal < 1_200_000, `1:20 got ${d.normal}`);
    assert.ok(d.low < 10_000, `1:30 (default) got ${d.low}`);
    // unmarked traffic goes to the default class only
    assert.ok(delta(mid, after, '1:30') >= 500_000, `1:30 got ${delta(mid, after, '1:30')}`);
    assert.ok(delta(mid, after, '1:10') < 10_000 && delta(mid, after, '1:20') < 10_000);

    const removed = await strata('net', 'qos', '--dev', a.dev, '--remove', '--netns', a.netns);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /removed the root qdisc of eth0/);
    assert.doesNotMatch((await rootQdisc(a.dev, { netns: a.netns })) ?? '', /htb/);
  } finally {
    await tb.destroy();
  }
});
