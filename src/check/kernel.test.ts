import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCongestionControl, checkKernel, checkNetns, checkNode, checkTc } from './kernel.js';
import { fakeContext, fakeProbes } from './test-support.js';

const TC = { commands: { tc: '/usr/sbin/tc' }, exec: { '/usr/sbin/tc -V': { code: 0, stdout: 'tc utility, iproute2-6.1.0, libbpf 1.1.2\n', stderr: '' } } };
const CC_AVAILABLE = '/proc/sys/net/ipv4/tcp_available_congestion_control';
const CC_ALLOWED = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';

test('node: 20 and later are ok, older fails with the fix', () => {
  assert.equal(checkNode('20.0.0').status, 'ok');
  assert.equal(checkNode('v22.3.1').status, 'ok');
  const old = checkNode('18.19.0');
  assert.equal(old.status, 'fail');
  assert.match(old.detail, /18\.19\.0.*20 or later/);
  assert.match(old.fix ?? '', /nvm install 20/);
});

test('tc: missing → warn to install iproute2; failing -V → warn', async () => {
  const missing = await checkTc(fakeProbes());
  assert.equal(missing.status, 'warn');
  assert.equal(missing.fix, 'sudo apt-get install -y iproute2');
  const broken = await checkTc(fakeProbes({ commands: { tc: '/sbin/tc' }, exec: { '/sbin/tc -V': { code: 1, stdout: '', stderr: 'boom\nmore' } } }));
  assert.equal(broken.status, 'warn');
  assert.match(broken.detail, /-V failed: boom$/);
});

test('tc: htb loaded, in the running kernel, built in (config or modules.builtin), or a module', async () => {
  const cases: [Parameters<typeof fakeProbes>[0], RegExp][] = [
    [{ ...TC, files: { '/proc/modules': 'tcp_bbr 20480 0 - Live\nsch_htb 36864 0 - Live 0x0\n' } }, /htb qdisc loaded/],
    [{ ...TC, paths: ['/sys/module/sch_htb'] }, /htb qdisc in the running kernel/],
    [{ ...TC, files: { '/proc/config.gz': 'CONFIG_X=y\nCONFIG_NET_SCH_HTB=y\n' } }, /built into the kernel/],
    [{ ...TC, files: { '/boot/config-6.1.0-test': 'CONFIG_NET_SCH_HTB=y\n' } }, /built into the kernel/],
    [{ ...TC, files: { '/lib/modules/6.1.0-test/modules.builtin': 'kernel/net/sched/sch_htb.ko\n' } }, /built into the kernel/],
    [
      { ...TC, commands: { ...TC.commands, modinfo: '/sbin/modinfo' }, exec: { ...TC.exec, '/sbin/modinfo -F filename sch_htb': { code: 0, stdout: '/lib/modules/x/sch_htb.ko\n', stderr: '' } } },
      /available as a module/,
    ],
    [{ ...TC, files: { '/lib/modules/6.1.0-test/modules.dep': 'kernel/net/sched/sch_htb.ko.zst:\n' } }, /available as a module/],
  ];
  for (const [machine, detail] of cases) {
    const c = await checkTc(fakeProbes(machine));
    assert.equal(c.status, 'ok', c.detail);
    assert.match(c.detail, /^tc iproute2-6\.1\.0, /);
    assert.match(c.detail, detail);
  }
});

test('tc: htb absent → warn with the module package; unknown → warn to modprobe', async () => {
  const absent = await checkTc(fakeProbes({ ...TC, files: { '/proc/config.gz': 'CONFIG_NET_SCH_PRIO=y\n' } }));
  assert.equal(absent.status, 'warn');
  assert.match(absent.detail, /htb qdisc not found/);
  assert.equal(absent.fix, 'sudo apt-get install -y linux-modules-extra-6.1.0-test && sudo modprobe sch_htb');
  const unknown = await checkTc(fakeProbes(TC));
  assert.equal(unknown.status, 'warn');
  assert.match(unknown.detail, /htb qdisc unknown/);
  assert.equal(unknown.fix, 'sudo modprobe sch_htb');
});

test('tc: never touches a device (only -V and modinfo run)', async () => {
  const p = fakeProbes({ ...TC, commands: { ...TC.commands, modinfo: '/sbin/modinfo' } });
  await checkTc(p);
  assert.deepEqual(p.execCalls, ['/usr/sbin/tc -V', '/sbin/modinfo -F filename sch_htb']);
});

test('congestion control: bbr available and allowed → ok; missing, not allowed or unknown → warn', async () => {
  const good = await checkCongestionControl(fakeProbes({ files: { [CC_AVAILABLE]: 'reno cubic bbr\n', [CC_ALLOWED]: 'reno cubic bbr\n' } }));
  assert.equal(good.status, 'ok');
  assert.match(good.detail, /reno cubic bbr/);
  const noBbr = await checkCongestionControl(fakeProbes({ files: { [CC_AVAILABLE]: 'reno cubic\n' } }));
  assert.equal(noBbr.status, 'warn');
  assert.match(noBbr.detail, /bbr not available/);
  assert.equal(noBbr.fix, 'sudo modprobe tcp_bbr');
  const notAllowed = await checkCongestionControl(fakeProbes({ files: { [CC_AVAILABLE]: 'reno cubic bbr', [CC_ALLOWED]: 'reno cubic' } }));
  assert.equal(notAllowed.status, 'warn');
  assert.equal(notAllowed.fix, 'sudo sysctl -w net.ipv4.tcp_allowed_congestion_control="reno cubic bbr"');
  const unknown = await checkCongestionControl(fakeProbes());
  assert.equal(unknown.status, 'warn');
  assert.match(unknown.detail, /unreadable/);
});

test('network namespaces: root or CAP_NET_ADMIN → ok; otherwise warn', async () => {
  assert.match((await checkNetns(fakeProbes({ uid: 0 }))).detail, /root/);
  const cap = await checkNetns(fakeProbes({ uid: 1000, files: { '/proc/self/status': 'Name:\tnode\nCapEff:\t0000000000001000\n' } }));
  assert.equal(cap.status, 'ok');
  assert.match(cap.detail, /CAP_NET_ADMIN/);
  const none = await checkNetns(fakeProbes({ uid: 1000, files: { '/proc/self/status': 'CapEff:\t0000000000000400\n' } }));
  assert.equal(none.status, 'warn');
  assert.match(none.detail, /not root, no CAP_NET_ADMIN/);
  assert.ok(none.fix);
  const unknown = await checkNetns(fakeProbes({ uid: 1000 }));
  assert.equal(unknown.status, 'warn');
  assert.match(unknown.detail, /capabilities unknown/);
});

test('checkKernel: node, tc, congestion control and namespaces, in that order', async () => {
  const checks = await checkKernel(fakeContext({ uid: 0 }));
  assert.deepEqual(
    checks.map((c) => c.name),
    ['node', 'kernel', 'kernel', 'kernel'],
  );
  for (const c of checks) if (c.status !== 'ok') assert.ok(c.fix, `${c.detail} has a fix`);
});
