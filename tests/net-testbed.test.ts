/**
 * The namespace testbed itself: two hosts reach each other through the router, the bottleneck
 * is an htb class on the router's link, everything is gone after destroy() (also after a failed
 * create()), and cleanupStale() removes leftovers of dead runs only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { classCounters } from '../src/net/qos.js';
import { Testbed, cleanupStale, listNamespaces } from '../src/testbed/testbed.js';

const exec = promisify(execFile);
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : false;

test('testbed: 2 hosts through a router, bottleneck htb on the router link, torn down afterwards', { skip, timeout: 120_000 }, async () => {
  await cleanupStale();
  const tb = await Testbed.create({ hosts: 2, bottleneck: { host: 1, rate: '20mbit' } });
  const names = [tb.router, ...tb.hosts.map((h) => h.netns)];
  try {
    assert.deepEqual(names.filter((n) => !n.startsWith(`st-${process.pid}-`)), []);
    const present = await listNamespaces();
    for (const n of names) assert.ok(present.includes(n), `${n} exists`);
    const a = tb.host(0);
    const b = tb.host(1);
    assert.match(a.address, /^10\.200\.0\.2$/);
    assert.match(b.address, /^10\.200\.1\.2$/);
    const route = await tb.exec(0, ['ip', 'route', 'get', b.address], { check: true });
    assert.match(route.stdout, new RegExp(`via ${a.gateway.replace(/\./g, '\\.')} dev eth0`));
    const sink = await tb.startSink(1, 7001);
    const report = await tb.send(0, { address: b.address, port: sink.port }, { bytes: 500_000 });
    assert.equal(report.received, 500_000);
    // the bytes into host 1 went through the bottleneck class on the router's link
    const classes = await classCounters(b.routerDev, { netns: tb.router });
    const limited = classes.find((c) => c.classid === '1:1');
    assert.ok(limited && limited.bytes >= 500_000, JSON.stringify(classes));
  } finally {
    await tb.destroy();
  }
  const after = await listNamespaces();
  for (const n of names) assert.ok(!after.includes(n), `${n} removed`);
  await tb.destroy(); // idempotent
});

test('testbed: a failing create() removes what it made', { skip, timeout: 60_000 }, async () => {
  const name = `st-${process.pid}-fail`;
  await assert.rejects(Testbed.create({ hosts: 2, name, bottleneck: { host: 5, rate: '1mbit' } }), /bottleneck host 5 does not exist/);
  const left = (await listNamespaces()).filter((n) => n.startsWith(`${name}-`));
  assert.deepEqual(left, []);
});

test('cleanupStale: removes namespaces of dead runs, keeps live ones', { skip, timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, ['-e', '0']);
  const deadPid = child.pid!;
  await new Promise((resolve) => child.once('exit', resolve));
  // a prefix of its own, so the other test files' cleanupStale() (running in parallel) leave these alone
  const stale = `stx-${deadPid}-1-r`;
  const live = `stx-${process.pid}-999-r`;
  await exec('ip', ['netns', 'add', stale]);
  await exec('ip', ['netns', 'add', live]);
  try {
    const removed = await cleanupStale('stx');
    assert.ok(removed.includes(stale), `removed ${removed.join(' ')}`);
    assert.ok(!removed.includes(live));
    const now = await listNamespaces();
    assert.ok(!now.includes(stale));
    assert.ok(now.includes(live));
  } finally {
    await exec('ip', ['netns', 'del', stale]).catch(() => undefined);
    await exec('ip', ['netns', 'del', live]).catch(() => undefined);
  }
});
