/**
 * @module check/kernel
 * What the priority work needs from the machine, checked without changing it: Node.js >= 20
 * (fail otherwise), `tc` with the htb qdisc, the TCP congestion control algorithms (bbr), and
 * the right to create network namespaces (root or CAP_NET_ADMIN). Anything unknown is a warn.
 */
import { fail, ok, warn } from './checks.js';
import type { Check, CheckContext, Probes } from './checks.js';

export const MIN_NODE_MAJOR = 20;
const CAP_NET_ADMIN = 12n;
const PROC_CC_AVAILABLE = '/proc/sys/net/ipv4/tcp_available_congestion_control';
const PROC_CC_ALLOWED = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';

export async function checkKernel(ctx: CheckContext): Promise<Check[]> {
  const p = ctx.probes;
  const [tc, cc, netns] = await Promise.all([checkTc(p), checkCongestionControl(p), checkNetns(p)]);
  return [checkNode(p.nodeVersion), tc, cc, netns];
}

export function checkNode(version: string): Check {
  const major = Number(/^v?(\d+)/.exec(version)?.[1] ?? NaN);
  if (major >= MIN_NODE_MAJOR) return ok('node', `Node.js ${version}`);
  return fail('node', `Node.js ${version}: ${MIN_NODE_MAJOR} or later is required`, `install Node.js ${MIN_NODE_MAJOR} or later (e.g. \`nvm install ${MIN_NODE_MAJOR}\`)`);
}

/** `tc` present, and the htb qdisc loaded, loadable or built in (never tried on a device). */
export async function checkTc(p: Probes): Promise<Check> {
  const tc = await p.which('tc');
  if (tc === undefined) return warn('kernel', 'tc not found (traffic control for priority queues)', 'sudo apt-get install -y iproute2');
  const v = await p.exec(tc, ['-V']);
  const version = /(iproute2[^\s,]*|\d+\.\d+\.\d+\S*)/.exec(`${v.stdout} ${v.stderr}`)?.[1];
  if (v.code !== 0) return warn('kernel', `${tc} -V failed: ${firstLine(v.stderr || v.stdout)}`, 'sudo apt-get install --reinstall -y iproute2');
  const htb = await htbState(p);
  const tcText = `tc ${version ?? '(version unknown)'}`;
  if (htb.state === 'yes') return ok('kernel', `${tcText}, htb qdisc ${htb.how}`);
  if (htb.state === 'no') return warn('kernel', `${tcText}, htb qdisc not found (${htb.how})`, `sudo apt-get install -y linux-modules-extra-${p.kernelRelease} && sudo modprobe sch_htb`);
  return warn('kernel', `${tcText}, htb qdisc unknown (${htb.how})`, 'sudo modprobe sch_htb');
}

async function htbState(p: Probes): Promise<{ state: 'yes' | 'no' | 'unknown'; how: string }> {
  const modules = await p.readFile('/proc/modules');
  if (modules !== undefined && /^sch_htb\s/m.test(modules)) return { state: 'yes', how: 'loaded' };
  if (await p.exists('/sys/module/sch_htb')) return { state: 'yes', how: 'in the running kernel' };
  const config = (await p.readFile('/proc/config.gz')) ?? (await p.readFile(`/boot/config-${p.kernelRelease}`));
  const setting = config === undefined ? undefined : /^CONFIG_NET_SCH_HTB=([ym])$/m.exec(config)?.[1];
  if (setting === 'y') return { state: 'yes', how: 'built into the kernel' };
  const builtin = await p.readFile(`/lib/modules/${p.kernelRelease}/modules.builtin`);
  if (builtin !== undefined && /\/sch_htb\.ko\b/.test(builtin)) return { state: 'yes', how: 'built into the kernel' };
  const modinfoBin = await p.which('modinfo');
  const modinfo = modinfoBin === undefined ? { code: -1, stdout: '', stderr: '' } : await p.exec(modinfoBin, ['-F', 'filename', 'sch_htb']);
  if (modinfo.code === 0 && modinfo.stdout.trim() !== '') return { state: 'yes', how: 'available as a module (loaded on first use)' };
  const dep = await p.readFile(`/lib/modules/${p.kernelRelease}/modules.dep`);
  if (dep !== undefined && /\/sch_htb\.ko/.test(dep)) return { state: 'yes', how: 'available as a module (loaded on first use)' };
  if (setting === 'm') return { state: 'unknown', how: `a module (CONFIG_NET_SCH_HTB=m) not found under /lib/modules/${p.kernelRelease}` };
  if (config !== undefined && setting === undefined) return { state: 'no', how: 'CONFIG_NET_SCH_HTB is not set in the kernel config' };
  if (modinfo.code > 0 && builtin !== undefined && dep !== undefined) return { state: 'no', how: `not loaded, not built in, no module for ${p.kernelRelease}` };
  return { state: 'unknown', how: 'neither /proc/modules, /sys/module, the kernel config, /lib/modules nor modinfo tell' };
}

/** The TCP congestion control algorithms: bbr available and allowed. */
export async function checkCongestionControl(p: Probes): Promise<Check> {
  const available = words(await p.readFile(PROC_CC_AVAILABLE));
  if (available === undefined) return warn('kernel', `TCP congestion control unknown (${PROC_CC_AVAILABLE} unreadable)`, 'sudo modprobe tcp_bbr');
  const list = available.join(' ');
  if (!available.includes('bbr')) return warn('kernel', `TCP congestion control: ${list}; bbr not available`, 'sudo modprobe tcp_bbr');
  const allowed = words(await p.readFile(PROC_CC_ALLOWED));
  if (allowed !== undefined && !allowed.includes('bbr')) {
    return warn('kernel', `TCP congestion control: bbr available but not allowed (allowed: ${allowed.join(' ')})`, `sudo sysctl -w net.ipv4.tcp_allowed_congestion_control="${[...allowed, 'bbr'].join(' ')}"`);
  }
  return ok('kernel', `TCP congestion control: ${list} (bbr available)`);
}

/** Network namespaces need root or CAP_NET_ADMIN in the effective set. */
export async function checkNetns(p: Probes): Promise<Check> {
  if (p.uid() === 0) return ok('kernel', 'network namespaces: running as root');
  const status = await p.readFile('/proc/self/status');
  const capEff = status === undefined ? undefined : /^CapEff:\s*([0-9a-f]+)/im.exec(status)?.[1];
  if (capEff !== undefined && (BigInt(`0x${capEff}`) >> CAP_NET_ADMIN) & 1n) return ok('kernel', 'network namespaces: CAP_NET_ADMIN held');
  const why = capEff === undefined ? 'capabilities unknown' : 'not root, no CAP_NET_ADMIN';
  return warn('kernel', `network namespaces: ${why}; namespace tests and tc shaping will be skipped`, 'run as root (`sudo -E npm test`) or grant CAP_NET_ADMIN');
}

function words(text: string | undefined): string[] | undefined {
  return text === undefined ? undefined : text.split(/\s+/).filter(Boolean);
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? '';
}
