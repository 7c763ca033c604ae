/**
 * @module control/store/etcd-test-server
 * Test support: a real single-node `etcd` on 127.0.0.1 with free client and peer ports and a
 * temporary data directory. `start()` waits for `/health`; `stop()` ends it by PID (SIGTERM,
 * then SIGKILL) and removes the data directory. `restart()` brings it back on the same ports
 * and data, for tests of an etcd that goes away and returns.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../util/free-port.js';

export const ETCD_BINARY = '/usr/bin/etcd';
export const ETCD_MISSING = 'etcd not installed: run scripts/provision.sh (apt-get install etcd-server)';
const START_DEADLINE_MS = 30_000;
const STOP_GRACE_MS = 5_000;


export class EtcdTestServer {
  readonly dataDir: string;
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly clientPort: number,
    readonly peerPort: number,
  ) {
    this.dataDir = mkdtempSync(join(tmpdir(), 'strata-etcd-'));
  }

  /** Start an etcd and wait until it is healthy. Throws ETCD_MISSING when the binary is absent. */
  static async start(): Promise<EtcdTestServer> {
    if (!existsSync(ETCD_BINARY)) throw new Error(ETCD_MISSING);
    const server = new EtcdTestServer(await freePort(), await freePort());
    try {
      await server.launch();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stop the process (keeping the data) and start it again on the same ports. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Stop the process but keep the data directory, so `restart()` can resume. */
  async pause(): Promise<void> {
    await this.kill();
  }

  async resume(): Promise<void> {
    await this.launch();
  }

  /** Stop the process and remove the data directory. Safe to call more than once. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.output = '';
    const child = spawn(
      ETCD_BINARY,
      [
        '--name', 'strata-test',
        '--data-dir', this.dataDir,
        '--listen-client-urls', this.url,
        '--advertise-client-urls', this.url,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `strata-test=${peer}`,
        '--initial-cluster-state', 'new',
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited: string | undefined;
    child.once('exit', (code, signal) => {
      exited = `etcd exited (${code ?? signal}) before it was healthy`;
    });
    const deadline = Date.now() + START_DEADLINE_MS;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`${exited}:\n${this.output}`);
      try {
        const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as { health?: string };
        if (res.ok && body.health === 'true') return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd on ${this.url} not healthy within ${START_DEADLINE_MS} ms:\n${this.output}`);
  }

  private async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const pid = child.pid;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    process.kill(pid, 'SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, STOP_GRACE_MS);
    await gone;
    clearTimeout(timer);
  }
}
