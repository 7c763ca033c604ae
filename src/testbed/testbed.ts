/**
 * @module testbed/testbed
 * A small network on one machine for tests that must cross real (virtual) links: N host network
 * namespaces joined through one router namespace by veth pairs, each host on its own /24
 * (host .2, router .1, default route via the router), IPv4 forwarding in the router, and
 * optionally an htb rate limit on one router-side link as the bottleneck.
 *
 *   host h0 (10.200.0.2, eth0) ──veth── (h0, 10.200.0.1) router (h1, 10.200.1.1) ──veth── host h1 …
 *
 * Everything is created inside namespaces named `<name>-r`, `<name>-h0`, …; the host's own
 * interfaces are never touched (veths are created in the router namespace with their peer
 * placed straight into the host namespace). `destroy()` kills what was spawned inside and
 * deletes the namespaces (the veths go with them); it is idempotent and safe after a failed
 * `create()`. Names carry the creating pid (`st-<pid>-<n>`), so `cleanupStale()` removes
 * leftovers of crashed runs — only those whose pid is gone. Delay, when a test needs it, is
 * injected in user space (the kernel here has no netem).
 */
import { execFile, spawn as spawnChild } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The compiled TCP peer (testbed/peer.ts) to run inside hosts: `sink` and `send`. */
export const PEER_SCRIPT = fileURLToPath(new URL('./peer.js', import.meta.url));

export const DEFAULT_PREFIX = 'st';
const ROUTER_SUFFIX = 'r';

export interface TestbedOptions {
  /** Number of host namespaces (≥ 1). */
  hosts: number;
  /** Namespace name prefix; default `st-<pid>-<n>` (unique per process and call). */
  name?: string;
  /** Second octet of the host subnets 10.<octet>.<i>.0/24 (default 200). */
  subnetOctet?: number;
  /** An htb rate limit on the router's link toward one host (traffic into that host). */
  bottleneck?: { host: number; rate: string };
}

export interface TestbedHost {
  index: number;
  /** Network namespace name. */
  netns: string;
  /** The host's address (on its `eth0`). */
  address: string;
  /** Its interface name inside the namespace. */
  dev: string;
  /** The router's address on this host's link (the host's gateway). */
  gateway: string;
  /** The router-side interface of this host's link (in the router namespace). */
  routerDev: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What `peer.js send` prints. */
export interface PeerReport {
  sent: number;
  /** Bytes the sink counted. */
  received: number;
  /** When the options reached the socket. */
  when?: 'now' | 'before-connect';
  /** getsockopt on the connected socket. */
  options?: { family: string; tos: number; dscp: number; soPriority: number; congestion: string };
  error?: string;
}

let counter = 0;

/** A name unique to this process and call: `st-<pid>-<n>`. */
export function uniqueName(prefix = DEFAULT_PREFIX): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/** The layout of a testbed, without creating anything (pure). */
export function planTestbed(opts: TestbedOptions & { name: string }): { router: string; hosts: TestbedHost[] } {
  if (!(Number.isInteger(opts.hosts) && opts.hosts >= 1 && opts.hosts <= 250)) throw new Error(`hosts must be 1-250, got ${opts.hosts}`);
  const octet = opts.subnetOctet ?? 200;
  if (!(Number.isInteger(octet) && octet >= 0 && octet <= 255)) throw new Error(`subnetOctet must be 0-255, got ${octet}`);
  if (!/^[A-Za-z0-9_.-]{1,40}$/.test(opts.name)) throw new Error(`testbed name '${opts.name}' must be 1-40 letters, digits, '_', '.' or '-'`);
  const hosts = Array.from({ length: opts.hosts }, (_, i) => ({
    index: i,
    netns: `${opts.name}-h${i}`,
    address: `10.${octet}.${i}.2`,
    dev: 'eth0',
    gateway: `10.${octet}.${i}.1`,
    routerDev: `h${i}`,
  }));
  return { router: `${opts.name}-${ROUTER_SUFFIX}`, hosts };
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args, { encoding: 'utf8' });
  } catch (err) {
    const e = err as { stderr?: string; code?: string | number };
    if (e.code === 'ENOENT') throw new Error('ip not found: install iproute2 (apt-get install iproute2)');
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? String(err)).trim()}`);
  }
}

export class Testbed {
  readonly name: string;
  readonly router: string;
  readonly hosts: readonly TestbedHost[];
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;

  private constructor(name: string, router: string, hosts: TestbedHost[]) {
    this.name = name;
    this.router = router;
    this.hosts = hosts;
  }

  /** Create the namespaces, links, addresses and routes; on any failure removes what it made and throws. */
  static async create(opts: TestbedOptions): Promise<Testbed> {
    if (process.getuid?.() !== 0) throw new Error('a testbed needs root (network namespaces, veth pairs)');
    const name = opts.name ?? uniqueName();
    const plan = planTestbed({ ...opts, name });
    const tb = new Testbed(name, plan.router, plan.hosts);
    try {
      await tb.build(opts);
    } catch (err) {
      await tb.destroy();
      throw err;
    }
    return tb;
  }

  private async build(opts: TestbedOptions): Promise<void> {
    const r = this.router;
    await ip(['netns', 'add', r]);
    await ip(['-n', r, 'link', 'set', 'lo', 'up']);
    await this.exec(r, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'], { check: true });
    for (const h of this.hosts) {
      await ip(['netns', 'add', h.netns]);
      await ip(['-n', h.netns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', r, 'link', 'add', h.routerDev, 'type', 'veth', 'peer', 'name', h.dev, 'netns', h.netns]);
      await ip(['-n', r, 'addr', 'add', `${h.gateway}/24`, 'dev', h.routerDev]);
      await ip(['-n', r, 'link', 'set', h.routerDev, 'up']);
      await ip(['-n', h.netns, 'addr', 'add', `${h.address}/24`, 'dev', h.dev]);
      await ip(['-n', h.netns, 'link', 'set', h.dev, 'up']);
      await ip(['-n', h.netns, 'route', 'add', 'default', 'via', h.gateway]);
    }
    if (opts.bottleneck) {
      const h = this.hosts[opts.bottleneck.host];
      if (!h) throw new Error(`bottleneck host ${opts.bottleneck.host} does not exist (0-${this.hosts.length - 1})`);
      const rate = opts.bottleneck.rate;
      await this.tc(r, ['qdisc', 'add', 'dev', h.routerDev, 'root', 'handle', '1:', 'htb', 'default', '1']);
      await this.tc(r, ['class', 'add', 'dev', h.routerDev, 'parent', '1:', 'classid', '1:1', 'htb', 'rate', rate, 'ceil', rate]);
    }
  }

  private async tc(netns: string, args: string[]): Promise<void> {
    try {
      await run('tc', ['-n', netns, ...args], { encoding: 'utf8' });
    } catch (err) {
      throw new Error(`tc -n ${netns} ${args.join(' ')} failed: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`);
    }
  }

  host(i: number): TestbedHost {
    const h = this.hosts[i];
    if (!h) throw new Error(`testbed ${this.name} has no host ${i}`);
    return h;
  }

  private nsOf(where: number | string): string {
    return typeof where === 'number' ? this.host(where).netns : where;
  }

  /** Run a command inside a host (index) or any namespace of this testbed (name); never throws on exit code unless `check`. */
  async exec(where: number | string, cmd: string[], opts: { check?: boolean; timeoutMs?: number } = {}): Promise<ExecResult> {
    const ns = this.nsOf(where);
    const [file, ...args] = cmd;
    if (!file) throw new Error('exec: empty command');
    let result: ExecResult;
    try {
      const r = await run('ip', ['netns', 'exec', ns, file, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 });
      result = { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { code?: number | string; stdout?: string; stderr?: string };
      result = { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
    }
    if (opts.check && result.code !== 0) throw new Error(`[${ns}] ${cmd.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
    return result;
  }

  /** Start a long-running process inside a namespace; it is killed by `destroy()`. */
  spawn(where: number | string, cmd: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    if (this.destroyed) throw new Error(`testbed ${this.name} is destroyed`);
    const child = spawnChild('ip', ['netns', 'exec', this.nsOf(where), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Start the peer's sink (testbed/peer.ts) in a host; resolves once it listens. */
  async startSink(where: number | string, port = 0, host = '0.0.0.0'): Promise<{ child: ChildProcess; port: number }> {
    const child = this.spawn(where, process.execPath, [PEER_SCRIPT, 'sink', '--host', host, '--port', String(port)]);
    const m = await waitForLine(child, /^listening (\d+)$/);
    return { child, port: Number(m[1]) };
  }

  /** Run the peer's sender in a host: connect (options set before the SYN), push bytes, report. */
  async send(where: number | string, to: { address: string; port: number }, opts: { bytes: number; dscp?: number; soPriority?: number; congestion?: string }): Promise<PeerReport> {
    const args = [PEER_SCRIPT, 'send', '--host', to.address, '--port', String(to.port), '--bytes', String(opts.bytes)];
    if (opts.dscp !== undefined) args.push('--dscp', String(opts.dscp));
    if (opts.soPriority !== undefined) args.push('--priority', String(opts.soPriority));
    if (opts.congestion !== undefined) args.push('--congestion', opts.congestion);
    const r = await this.exec(where, [process.execPath, ...args], { timeoutMs: 120_000 });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    let report: PeerReport;
    try {
      report = JSON.parse(line) as PeerReport;
    } catch {
      throw new Error(`peer send in ${this.nsOf(where)} printed no report (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    }
    if (report.error !== undefined) throw new Error(`peer send in ${this.nsOf(where)} failed: ${report.error}`);
    return report;
  }

  /** Kill what was spawned, then delete every namespace (veths and qdiscs go with them). Idempotent. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    await Promise.all([...this.children].map((c) => killAndWait(c)));
    this.children.clear();
    await deleteNamespaces([this.router, ...this.hosts.map((h) => h.netns)]);
  }
}

function killAndWait(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Namespaces that exist now (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'list'], { encoding: 'utf8' });
    return stdout.split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean);
  } catch {
    return [];
  }
}

/** Kill every process still inside the namespaces (by pid, from `ip netns pids`), then delete them. */
export async function deleteNamespaces(names: readonly string[]): Promise<void> {
  const existing = new Set(await listNamespaces());
  for (const ns of names) {
    if (!existing.has(ns)) continue;
    try {
      const { stdout } = await run('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
      for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    } catch {
      // no pids to list
    }
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
}

/** Namespaces of the testbed named `name` (`<name>-r`, `<name>-h<i>`). */
export async function testbedNamespaces(name: string): Promise<string[]> {
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(r|h\\d+)$`);
  return (await listNamespaces()).filter((n) => re.test(n));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove testbeds left by crashed runs: namespaces named `<prefix>-<pid>-<n>-…` whose creating
 * pid no longer runs. Live runs (this one included) are left alone. Returns the names removed.
 */
export async function cleanupStale(prefix = DEFAULT_PREFIX): Promise<string[]> {
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)-\\d+-(r|h\\d+)$`);
  const stale = (await listNamespaces()).filter((n) => {
    const m = re.exec(n);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  });
  await deleteNamespaces(stale);
  return stale;
}

/** Resolve with the first stdout line of `child` matching `re` (rejects on exit or timeout). */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let errText = '';
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
    };
    const onData = (c: Buffer): void => {
      buf += c.toString();
      for (const line of buf.split('\n')) {
        const m = re.exec(line);
        if (m) {
          cleanup();
          resolve(m);
          return;
        }
      }
    };
    const onErr = (c: Buffer): void => {
      errText += c.toString();
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`process exited (${code}) before printing ${re}: ${errText.trim() || buf.trim()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; stdout: ${buf.trim()} stderr: ${errText.trim()}`));
    }, timeoutMs);
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}
