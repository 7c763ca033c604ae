/**
 * DSCP in the kernel: a client in host A whose socket carries DSCP 46 sends to host B through
 * the router; iptables counters in the router (`-m dscp --dscp 46`, in a counting chain on
 * FORWARD) count every packet of that flow — its SYN included, since the option is set before
 * connect — and none of an unmarked flow before it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Testbed, cleanupStale } from '../src/testbed/testbed.js';

const exec = promisify(execFile);

async function hasIptables(): Promise<boolean> {
  try {
    await exec('iptables', ['-V']);
    return true;
  } catch {
    return false;
  }
}

const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : !(await hasIptables()) ? 'iptables missing (scripts/provision.sh installs it)' : false;

const CHAIN = 'STRATA_DSCP';

/** Packet counters of the chain's rules, in rule order. */
async function counters(tb: Testbed): Promise<number[]> {
  const r = await tb.exec(tb.router, ['iptables', '-w', '-n', '-v', '-x', '-L', CHAIN], { check: true });
  return r.stdout
    .split('\n')
    .slice(2)
    .filter((l) => l.trim())
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

test('DSCP 46 set on the client socket is seen by an iptables dscp match in the router; an unmarked flow is not', { skip, timeout: 120_000 }, async () => {
  await cleanupStale();
  const tb = await Testbed.create({ hosts: 2 });
  try {
    const b = tb.host(1);
    const ipt = async (...args: string[]): Promise<void> => void (await tb.exec(tb.router, ['iptables', '-w', ...args], { check: true }));
    await ipt('-N', CHAIN);
    await ipt('-A', 'FORWARD', '-j', CHAIN);
    // rule 1: SYNs to B that carry DSCP 46 (count only); rule 2: all TCP to B (count only);
    // rule 3: TCP to B with DSCP 46 → ACCEPT
    await ipt('-A', CHAIN, '-p', 'tcp', '-d', b.address, '-m', 'dscp', '--dscp', '46', '--syn');
    await ipt('-A', CHAIN, '-p', 'tcp', '-d', b.address);
    await ipt('-A', CHAIN, '-p', 'tcp', '-d', b.address, '-m', 'dscp', '--dscp', '46', '-j', 'ACCEPT');
    assert.deepEqual(await counters(tb), [0, 0, 0]);

    const sink = await tb.startSink(1, 7002);
    const plain = await tb.send(0, { address: b.address, port: sink.port }, { bytes: 300_000 });
    assert.equal(plain.received, 300_000);
    assert.equal(plain.options?.dscp, 0);
    const [syn1, all1, dscp1] = await counters(tb);
    assert.ok(all1! > 10, `the unmarked flow crossed the router (${all1} packets)`);
    assert.equal(dscp1, 0, 'no unmarked packet matched --dscp 46');
    assert.equal(syn1, 0);

    const marked = await tb.send(0, { address: b.address, port: sink.port }, { bytes: 300_000, dscp: 46 });
    assert.equal(marked.received, 300_000);
    assert.equal(marked.when, 'before-connect');
    assert.equal(marked.options?.dscp, 46);
    assert.equal(marked.options?.tos, 184);
    const [syn2, all2, dscp2] = await counters(tb);
    const flowPackets = all2! - all1!;
    assert.ok(flowPackets > 10, `the marked flow crossed the router (${flowPackets} packets)`);
    assert.equal(dscp2, flowPackets, `every packet of the marked flow carried DSCP 46 (${dscp2} of ${flowPackets})`);
    assert.equal(syn2, 1, 'its SYN carried DSCP 46 too (set before connect)');
    process.stderr.write(`# router counters: unmarked flow ${all1} packets, 0 with dscp 46; marked flow ${flowPackets} packets, ${dscp2} with dscp 46 (SYN ${syn2})\n`);
  } finally {
    await tb.destroy();
  }
});
