/**
 * @module proxy/amqp/rabbitmq-test-server
 * Test support: a real RabbitMQ (Debian `rabbitmq-server`) on 127.0.0.1 with free AMQP,
 * distribution and epmd ports, its own temporary directories (Mnesia, logs, config, cookie)
 * and no plugins. It runs beside a private `epmd` this helper starts on its own port, so no
 * shared epmd daemon is started or used. `start()` waits until the broker accepts AMQP
 * (5–20 s); `stop()` ends the broker and its epmd by PID (SIGTERM, then SIGKILL of the process
 * group) and removes the directories. Should the test process exit without stop(), an exit
 * hook kills both (SIGKILL to their process groups).
 *
 * `start({ prefix })` runs the broker, epmd and the readiness probes behind a command prefix,
 * e.g. `['ip', 'netns', 'exec', NS]` to run the broker inside a network namespace (its
 * 127.0.0.1 is the namespace's loopback, reachable only from inside it). Without options it
 * behaves as before.
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../util/free-port.js';

/** The broker's start script (run directly: the /usr/sbin wrapper would `su rabbitmq`). */
export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
export const RABBITMQCTL = '/usr/lib/rabbitmq/bin/rabbitmqctl';
export const RABBITMQ_MISSING = 'rabbitmq-server not installed: run scripts/provision.sh (apt-get install rabbitmq-server)';
const START_DEADLINE_MS = 60_000;
const STOP_GRACE_MS = 15_000;

/**
 * Why RabbitMQ tests cannot run here, or undefined when they can. Only a missing broker on a
 * non-root machine is a reason: as root, provision.sh installs it, so a missing broker fails.
 */
export function rabbitmqSkipReason(): string | undefined {
  if (existsSync(RABBITMQ_SERVER)) return undefined;
  if (process.getuid?.() === 0) return undefined;
  return `${RABBITMQ_MISSING} — skipped because it is missing and this is not root`;
}


function epmdBinary(): string {
  const root = '/usr/lib/erlang';
  for (const d of existsSync(root) ? readdirSync(root) : []) {
    const p = join(root, d, 'bin', 'epmd');
    if (d.startsWith('erts-') && existsSync(p)) return p;
  }
  return 'epmd';
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(1000, () => s.destroy());
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('close', () => resolve(false));
  });
}

/** Ask RabbitMQ whether it answers AMQP: a protocol header gets connection.start back. */
function answersAmqp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(false));
    s.once('connect', () => s.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])));
    s.on('data', (c: Buffer) => {
      got = Buffer.concat([got, c]);
      // A method frame (type 1) for connection.start (class 10, method 10).
      if (got.length >= 11) done(got[0] === 1 && got.readUInt16BE(7) === 10 && got.readUInt16BE(9) === 10);
    });
    s.once('error', () => done(false));
    s.once('close', () => done(false));
  });
}

export interface RabbitMqStartOptions {
  /** Command prefix for the broker, epmd and the probes (e.g. `ip netns exec NS`). */
  prefix?: readonly string[];
}

/** A probe run behind a prefix: a short Node script that exits 0 when the check passes. */
const PROBE_SCRIPT = `
const net = require('node:net');
const [port, kind] = [Number(process.argv[1]), process.argv[2]];
const s = net.connect({ host: '127.0.0.1', port });
let got = Buffer.alloc(0);
const done = (v) => { s.destroy(); process.exit(v ? 0 : 1); };
s.setTimeout(2000, () => done(false));
s.once('connect', () => (kind === 'amqp' ? s.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])) : done(true)));
s.on('data', (c) => {
  got = Buffer.concat([got, c]);
  if (got.length >= 11) done(got[0] === 1 && got.readUInt16BE(7) === 10 && got.readUInt16BE(9) === 10);
});
s.once('error', () => done(false));
s.once('close', () => done(false));
`;

function probeBehind(prefix: readonly string[], port: number, kind: 'tcp' | 'amqp'): Promise<boolean> {
  return new Promise((resolve) => {
    const [file, ...args] = prefix;
    const child = spawn(file as string, [...args, process.execPath, '-e', PROBE_SCRIPT, String(port), kind], { stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

export class RabbitMqTestServer {
  readonly dir: string;
  readonly nodeName: string;
  private broker: ChildProcess | undefined;
  private epmd: ChildProcess | undefined;
  private output = '';
  private prefix: readonly string[] = [];
  /** If the test process exits without stop() (a crash), the broker and epmd must not outlive it. */
  private readonly onExit = (): void => {
    for (const c of [this.broker, this.epmd]) {
      try {
        if (c?.pid && c.exitCode === null && c.signalCode === null) process.kill(-c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // best effort: the killed VM may still be writing
    }
  };

  private constructor(
    readonly port: number,
    readonly distPort: number,
    readonly epmdPort: number,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'strata-rabbitmq-'));
    this.nodeName = `strata-test-${process.pid}-${port}@localhost`;
  }

  /** Start a broker and wait until it answers AMQP. Throws RABBITMQ_MISSING when absent. */
  static async start(opts: RabbitMqStartOptions = {}): Promise<RabbitMqTestServer> {
    if (!existsSync(RABBITMQ_SERVER)) throw new Error(RABBITMQ_MISSING);
    const server = new RabbitMqTestServer(await freePort(), await freePort(), await freePort());
    server.prefix = opts.prefix ?? [];
    try {
      await server.launch();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** PIDs this helper started (the broker's start script and epmd). */
  get pids(): { broker?: number; epmd?: number } {
    return { ...(this.broker?.pid && { broker: this.broker.pid }), ...(this.epmd?.pid && { epmd: this.epmd.pid }) };
  }

  /** The environment every RabbitMQ tool needs to find this node. */
  env(): NodeJS.ProcessEnv {
    const d = this.dir;
    return {
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      HOME: join(d, 'home'),
      ERL_EPMD_PORT: String(this.epmdPort),
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_USE_LONGNAME: 'false',
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_MNESIA_BASE: join(d, 'mnesia'),
      RABBITMQ_LOG_BASE: join(d, 'log'),
      RABBITMQ_LOGS: '-',
      RABBITMQ_CONFIG_FILE: join(d, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(d, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: join(d, 'rabbitmq-env.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, 'enabled_plugins'),
      RABBITMQ_PLUGINS_EXPAND_DIR: join(d, 'plugins-expand'),
    };
  }

  /** `rabbitmqctl list_queues name arguments` as {name → arguments text}. */
  listQueues(): Map<string, string> {
    const [file, ...pre] = [...this.prefix, RABBITMQCTL];
    const r = spawnSync(file as string, [...pre, '-q', '-n', this.nodeName, 'list_queues', '--no-table-headers', 'name', 'arguments'], {
      env: this.env(),
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`rabbitmqctl list_queues failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
    const out = new Map<string, string>();
    for (const line of r.stdout.split('\n')) {
      const [name, args] = line.split('\t');
      if (name) out.set(name, args ?? '');
    }
    return out;
  }

  /** Stop the broker and epmd by PID and remove the directories. Safe to call more than once. */
  async stop(): Promise<void> {
    process.off('exit', this.onExit);
    await kill(this.broker);
    this.broker = undefined;
    await kill(this.epmd);
    this.epmd = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawnBehind(file: string, args: string[], opts: SpawnOptions): ChildProcess {
    return spawnBehindPrefix(this.prefix, file, args, opts);
  }

  private async launch(): Promise<void> {
    const d = this.dir;
    for (const sub of ['home', 'mnesia', 'log', 'plugins-expand']) mkdirSync(join(d, sub), { recursive: true });
    writeFileSync(join(d, 'rabbitmq.conf'), ['loopback_users = none', `listeners.tcp.default = 127.0.0.1:${this.port}`, 'log.console = true', 'log.console.level = warning', ''].join('\n'));
    writeFileSync(join(d, 'advanced.config'), '[].\n');
    writeFileSync(join(d, 'rabbitmq-env.conf'), '');
    writeFileSync(join(d, 'enabled_plugins'), '[].\n');
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-8000);
    };
    process.once('exit', this.onExit);

    // A private epmd in the foreground (our child, known PID): the broker registers there.
    const epmd = this.spawnBehind(epmdBinary(), ['-port', String(this.epmdPort), '-address', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.epmd = epmd;
    epmd.stdout?.on('data', keep);
    epmd.stderr?.on('data', keep);
    const deadline = Date.now() + START_DEADLINE_MS;
    while (!(await (this.prefix.length > 0 ? probeBehind(this.prefix, this.epmdPort, 'tcp') : canConnect(this.epmdPort)))) {
      if (epmd.exitCode !== null || Date.now() > deadline) throw new Error(`epmd on port ${this.epmdPort} did not start:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    // Its own process group, so stop() can end the whole tree (script, beam, helpers) by PID.
    const broker = this.spawnBehind(RABBITMQ_SERVER, [], { env: this.env(), cwd: d, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.broker = broker;
    broker.stdout?.on('data', keep);
    broker.stderr?.on('data', keep);
    let exited: string | undefined;
    broker.once('exit', (code, signal) => {
      exited = `rabbitmq-server exited (${code ?? signal}) before it accepted AMQP`;
    });
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${exited}:\n${this.output}`);
      if (await (this.prefix.length > 0 ? probeBehind(this.prefix, this.port, 'amqp') : answersAmqp(this.port))) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`rabbitmq-server on 127.0.0.1:${this.port} did not accept AMQP within ${START_DEADLINE_MS} ms:\n${this.output}`);
  }
}

/** spawn(), behind the prefix when there is one. */
function spawnBehindPrefix(prefix: readonly string[], file: string, args: string[], opts: SpawnOptions): ChildProcess {
  const [first, ...rest] = [...prefix, file];
  return spawn(first as string, [...rest, ...args], opts);
}

/** SIGTERM the process (the broker's script stops the VM cleanly), SIGKILL its group after a grace period. */
async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid) return;
  const pid = child.pid;
  const group = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      // already gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => group('SIGKILL'), STOP_GRACE_MS);
    await gone;
    clearTimeout(timer);
  }
  // Anything left in the group (the VM's port helpers) goes too.
  group('SIGKILL');
}
