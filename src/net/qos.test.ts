import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_CLASSES, buildQosPlan, classPriority, describePlan, formatRate, parseClassStats, parseClasses, parseRate } from './qos.js';

test('parseRate: tc units (bits and bytes per second), bare numbers are bit/s', () => {
  const cases: [string, number][] = [
    ['100mbit', 100e6],
    ['1gbit', 1e9],
    ['1.5mbit', 1.5e6],
    ['500kbit', 500e3],
    ['12mbps', 96e6],
    ['1000', 1000],
    ['10Mbit', 10e6],
    ['1mibit', 1048576],
  ];
  for (const [text, bits] of cases) assert.deepEqual(parseRate(text), { ok: true, value: bits }, text);
  for (const bad of ['', 'fast', '10 furlongs', '-5mbit', '1']) {
    const r = parseRate(bad);
    assert.equal(r.ok, false, bad);
    if (!r.ok) assert.equal(r.errors[0]?.path, '--rate');
  }
  assert.equal(formatRate(100e6), '100mbit');
  assert.equal(formatRate(1500), '1500bit');
});

test('parseClasses: names, shares (fraction or %), hex minors by position or explicit', () => {
  const d = parseClasses(DEFAULT_CLASSES);
  assert.deepEqual(d, { ok: true, value: [{ name: 'high', share: 0.5, minor: 0x10 }, { name: 'normal', share: 0.3, minor: 0x20 }, { name: 'low', share: 0.2, minor: 0x30 }] });
  assert.deepEqual(parseClasses('gold:60%,bronze:40%:a'), { ok: true, value: [{ name: 'gold', share: 0.6, minor: 0x10 }, { name: 'bronze', share: 0.4, minor: 0xa }] });
});

test('parseClasses: every error with its path', () => {
  const r = parseClasses('a:0.7:1,a:0.6,b,c:2:zz,d:0.1:20');
  assert.equal(r.ok, false);
  if (r.ok) return;
  const got = r.errors.map((e) => `${e.path}: ${e.message}`);
  assert.ok(got.includes("--classes[0].minor: must be a hex class minor 2-ffff (1 is the parent class), got '1'"), got.join('\n'));
  assert.ok(got.includes("--classes[2]: 'b' is not name:share[:minor] (e.g. high:0.5:10)"), got.join('\n'));
  assert.ok(got.includes("--classes[3].share: must be a fraction in (0, 1] or a percentage, got '2'"), got.join('\n'));
  assert.ok(got.includes("--classes[3].minor: must be a hex class minor 2-ffff (1 is the parent class), got 'zz'"), got.join('\n'));
  assert.ok(got.includes("--classes[1]: class 'a' is listed twice"), got.join('\n'));
  assert.ok(got.some((g) => /^--classes\[4\]\.minor: minor 20 is already used by/.test(g)), got.join('\n'));
  assert.ok(got.some((g) => /the shares add up to .* more than 1/.test(g)), got.join('\n'));
  assert.equal(parseClasses('').ok, false);
});

test('classPriority: SO_PRIORITY = (major << 16) | minor, the value htb_classify matches against classids', () => {
  assert.equal(classPriority(0x10), 0x10010);
  assert.equal(classPriority(0x10), 65552);
  assert.equal(classPriority(0x30, 2), 0x20030);
  assert.equal(classPriority(0xffff, 0xffff), 0xffffffff);
});

test('buildQosPlan: htb root, a parent at RATE, one child per class (rate = share × RATE, ceil = RATE, prio = rank)', () => {
  const classes = parseClasses(DEFAULT_CLASSES);
  assert.ok(classes.ok);
  const plan = buildQosPlan({ dev: 'eth0', rateBits: 100e6, classes: classes.value });
  assert.ok(plan.ok);
  assert.deepEqual(plan.value.commands, [
    ['qdisc', 'add', 'dev', 'eth0', 'root', 'handle', '1:', 'htb', 'default', '30'],
    ['class', 'add', 'dev', 'eth0', 'parent', '1:', 'classid', '1:1', 'htb', 'rate', '100000000bit', 'ceil', '100000000bit', 'quantum', '200000'],
    ['class', 'add', 'dev', 'eth0', 'parent', '1:1', 'classid', '1:10', 'htb', 'rate', '50000000bit', 'ceil', '100000000bit', 'prio', '0', 'quantum', '200000'],
    ['class', 'add', 'dev', 'eth0', 'parent', '1:1', 'classid', '1:20', 'htb', 'rate', '30000000bit', 'ceil', '100000000bit', 'prio', '1', 'quantum', '200000'],
    ['class', 'add', 'dev', 'eth0', 'parent', '1:1', 'classid', '1:30', 'htb', 'rate', '20000000bit', 'ceil', '100000000bit', 'prio', '2', 'quantum', '200000'],
  ]);
  assert.deepEqual(
    plan.value.classes.map((c) => [c.name, c.classid, c.soPriority, c.isDefault]),
    [['high', '1:10', 0x10010, false], ['normal', '1:20', 0x10020, false], ['low', '1:30', 0x10030, true]],
  );
  const text = describePlan(plan.value, 'ns1');
  assert.match(text, /htb root 1: on eth0 \(netns ns1\) at 100mbit/);
  assert.match(text, /high\s+1:10\s+50mbit\s+100mbit\s+0\s+65552 \(0x10010\)/);
  assert.match(text, /low \(default\)\s+1:30/);
});

test('buildQosPlan: the default class can be named; small rates keep quantum at one MTU; bad input is an error', () => {
  const plan = buildQosPlan({ dev: 'veth1', rateBits: 1e6, classes: [{ name: 'a', share: 0.5, minor: 0x10 }, { name: 'b', share: 0.5, minor: 0x20 }], defaultClass: 'a' });
  assert.ok(plan.ok);
  assert.deepEqual(plan.value.commands[0], ['qdisc', 'add', 'dev', 'veth1', 'root', 'handle', '1:', 'htb', 'default', '10']);
  assert.equal(plan.value.classes[0]?.quantum, 6250);
  assert.equal(buildQosPlan({ dev: 'veth1', rateBits: 64e3, classes: [{ name: 'a', share: 0.1, minor: 0x10 }] }).ok && true, true);
  const low = buildQosPlan({ dev: 'veth1', rateBits: 64e3, classes: [{ name: 'a', share: 0.1, minor: 0x10 }] });
  assert.ok(low.ok);
  assert.equal(low.value.classes[0]?.quantum, 1514);
  const bad = buildQosPlan({ dev: 'veth1', rateBits: 1e6, classes: [{ name: 'a', share: 1, minor: 0x10 }], defaultClass: 'zz' });
  assert.deepEqual(bad, { ok: false, errors: [{ path: '--default', message: "'zz' is not one of the classes (a)" }] });
  assert.equal(buildQosPlan({ dev: 'this-name-is-too-long', rateBits: 1e6, classes: [{ name: 'a', share: 1, minor: 0x10 }] }).ok, false);
});

test('parseClassStats: bytes and packets per class from tc -s class show', () => {
  const text = [
    'class htb 1:10 parent 1:1 prio 0 rate 50Mbit ceil 100Mbit burst 1600b cburst 1600b ',
    ' Sent 2103456 bytes 1434 pkt (dropped 0, overlimits 0 requeues 0) ',
    ' backlog 0b 0p requeues 0',
    '',
    'class htb 1:1 root rate 100Mbit ceil 100Mbit burst 1600b cburst 1600b ',
    ' Sent 2103700 bytes 1437 pkt (dropped 0, overlimits 0 requeues 0) ',
    '',
  ].join('\n');
  assert.deepEqual(parseClassStats(text), [
    { classid: '1:10', bytes: 2103456, packets: 1434 },
    { classid: '1:1', bytes: 2103700, packets: 1437 },
  ]);
});
