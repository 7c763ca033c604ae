/**
 * @module runner/up
 * A whole mesh on this machine from a decoded mesh file: `strata control` as a child, the
 * file's resources applied, then every workload (app + sidecar, see workload.ts) started.
 * Progress goes to `out` line by line; children's output is prefixed with their name, or
 * written to log files under the run directory when there are many of them.
 * Stop: every workload (deregister, drain, stop the app), then the control plane.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { formatFieldError } from '../errors.js';
import type { FieldError } from '../errors.js';
import { decodeResources } from '../config/decode.js';
import { readSources } from '../config/sources.js';
import { ApiClient, ApiClientError } from '../control/api/client.js';
import { Child } from './children.js';
import type { OutputSink } from './children.js';
import type { MeshFile } from './mesh-file.js';
import { delay, httpGet, portTaken, reservePorts } from './net.js';
import { formatTable } from './table.js';
import { STRATA_BIN, Workload } from './workload.js';

export const DEFAULT_API_PORT = 15080;
export const DEFAULT_XDS_PORT = 15010;

/** A failure of `up` with the exit code it means (1: could not start, 2: bad input). */
export class UpError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UpError';
  }
}

export interface UpOptions {
  mesh: MeshFile;
  /** Name of the mesh file in messages (`mesh.yaml`). */
  source: string;
  /** Relative paths in the mesh file (cwd, dataDir, apply) are resolved against this. */
  baseDir: string;
  apiPort?: number;
  xdsPort?: number;
  out: Writable;
  /** Children's output: prefixed on `out`, in log files, or `auto` (files above 7 children). */
  logs?: 'prefix' | 'files' | 'auto';
  sidecarLogLevel?: string;
  /** Appended to "port N is in use" errors: how to pick other ports. */
  portHint?: string;
  readyTimeoutMs?: number;
}

export interface StatusRow {
  service: string;
  replica: number;
  appPort: number;
  inbound: number;
  proxy: number;
  admin: number;
  state: string;
  ready: boolean;
  registered: boolean;
  pids: string;
}

export class Up {
  readonly workloads: Workload[] = [];
  control: Child | undefined;
  client: ApiClient | undefined;
  apiPort = 0;
  xdsPort = 0;
  runDir = '';
  logDir: string | undefined;
  /** Resolves if the control plane exits while the mesh is up (not when stopped by us). */
  readonly controlDied: Promise<string>;
  private resolveControlDied!: (why: string) => void;
  private tempDir: string | undefined;
  private stopping: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: UpOptions) {
    this.controlDied = new Promise((r) => (this.resolveControlDied = r));
  }

  private say(line: string): void {
    this.o.out.write(`${line}\n`);
  }

  /** Start everything; on failure whatever was started is stopped and an UpError thrown. */
  async start(): Promise<void> {
    const { mesh } = this.o;
    this.apiPort = this.o.apiPort ?? mesh.control.apiPort ?? DEFAULT_API_PORT;
    this.xdsPort = this.o.xdsPort ?? mesh.control.xdsPort ?? DEFAULT_XDS_PORT;

    // Everything that can be checked before starting anything.
    const files = await this.applyFiles();
    await this.checkPorts();

    try {
      await this.startInner(files);
    } catch (err) {
      await this.stop();
      throw err instanceof UpError ? err : new UpError((err as Error).message);
    }
  }

  private async startInner(files: { source: string; text: string }[]): Promise<void> {
    const { mesh } = this.o;
    let dataDir: string;
    if (mesh.control.dataDir !== undefined) {
      const root = resolve(this.o.baseDir, mesh.control.dataDir);
      dataDir = join(root, 'data');
      this.runDir = join(root, 'run');
      mkdirSync(this.runDir, { recursive: true });
    } else {
      this.tempDir = mkdtempSync(join(tmpdir(), 'strata-up-'));
      dataDir = join(this.tempDir, 'data');
      this.runDir = join(this.tempDir, 'run');
      mkdirSync(this.runDir, { recursive: true });
    }
    const replicas = mesh.workloads.reduce((n, w) => n + (w.replicas ?? 1), 0);
    const logs = this.o.logs ?? 'auto';
    const toFiles = logs === 'files' || (logs === 'auto' && 1 + 2 * replicas > 7);
    if (toFiles) {
      this.logDir = join(this.runDir, 'logs');
      mkdirSync(this.logDir, { recursive: true });
      this.say(`logs of the control plane, sidecars and apps: ${this.logDir}/`);
    }
    const sink = (name: string): OutputSink =>
      this.logDir ? { kind: 'file', path: join(this.logDir, `${name.replace(/ /g, '-')}.log`) } : { kind: 'prefix', prefix: `[${name}] `, out: this.o.out };

    // The control plane.
    let ready = false;
    const control = new Child({
      name: 'control',
      command: process.execPath,
      args: [STRATA_BIN, 'control', '--data-dir', dataDir, '--api-port', String(this.apiPort), '--xds-port', String(this.xdsPort), '--log-level', 'warn'],
      env: { ...process.env },
      output: sink('control'),
      onLine: (line) => {
        if (line.includes('strata control ready')) ready = true;
      },
    });
    this.control = control;
    const deadline = Date.now() + 60_000;
    while (!ready) {
      if (!control.running()) throw new UpError(`the control plane exited before it was ready:\n    ${control.lastLines(8).join('\n    ')}`);
      if (Date.now() > deadline) throw new UpError('the control plane did not become ready within 60 s');
      await delay(50);
    }
    void control.exited.then((e) => {
      if (!this.stopping) this.resolveControlDied(`the control plane exited (code ${e.code ?? e.signal})`);
    });
    const server = `http://127.0.0.1:${this.apiPort}`;
    this.client = new ApiClient(server);
    this.say(`control plane ready on ${server} (xds 127.0.0.1:${this.xdsPort}), pid ${control.pid}, data ${dataDir}`);

    // The resources: all or nothing, before any workload starts.
    if (files.length > 0) {
      try {
        const r = await this.client.apply(files);
        this.say(`applied ${r.results.length} resource${r.results.length === 1 ? '' : 's'} (revision ${r.revision})`);
      } catch (err) {
        if (err instanceof ApiClientError && err.errors.length > 0) {
          throw new UpError(`the control plane refused the resources, nothing started:\n  ${err.errors.map(formatFieldError).join('\n  ')}`);
        }
        throw new UpError(`applying the resources failed, nothing started: ${(err as Error).message}`);
      }
    }

    // The workloads, all at once.
    const client = this.client;
    mesh.workloads.forEach((w) => {
      for (let i = 0; i < (w.replicas ?? 1); i++) {
        const name = i === 0 ? w.service : `${w.service}-${i}`;
        const plus = (p: number | undefined): number | undefined => (p === undefined ? undefined : p + i);
        this.workloads.push(
          new Workload({
            name,
            service: w.service,
            replica: i,
            appPort: w.port + i,
            command: w.command,
            cwd: resolve(this.o.baseDir, w.cwd ?? '.'),
            ...(w.env && { env: w.env }),
            ...(w.protocol && { protocol: w.protocol }),
            ...(w.dependencies && { dependencies: w.dependencies }),
            ...(w.inboundPort !== undefined && { inboundPort: plus(w.inboundPort) as number }),
            ...(w.proxyPort !== undefined && { proxyPort: plus(w.proxyPort) as number }),
            ...(w.adminPort !== undefined && { adminPort: plus(w.adminPort) as number }),
            ...(w.metadata && { metadata: w.metadata }),
            client,
            xds: `127.0.0.1:${this.xdsPort}`,
            runDir: this.runDir,
            output: (part) => sink(part === 'sidecar' ? `${name} sidecar` : name),
            progress: (line) => this.say(line),
            sidecarLogLevel: this.o.sidecarLogLevel ?? 'warn',
            ...(this.o.readyTimeoutMs !== undefined && { readyTimeoutMs: this.o.readyTimeoutMs }),
          }),
        );
      }
    });
    const results = await Promise.allSettled(this.workloads.map((w) => w.start()));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (failures.length > 0) throw new UpError(`${failures.join('\n')}${this.logDir ? `\n(logs: ${this.logDir}/)` : ''}`);
    for (const w of this.workloads) {
      void w.appExited.then(async (code) => {
        if (this.stopping || w.state === 'stopping' || w.state === 'stopped') return;
        this.say(`${w.name}: the app exited with code ${code}; deregistering it and stopping its sidecar`);
        await w.stop();
      });
    }
  }

  /** Resources to apply: inline ones as one file, then the `apply:` files; decoded here first. */
  private async applyFiles(): Promise<{ source: string; text: string }[]> {
    const { mesh, source } = this.o;
    const files: { source: string; text: string }[] = [];
    if (mesh.rawResources.length > 0) {
      files.push({ source, text: mesh.rawResources.map((r) => JSON.stringify(r)).join('\n---\n') });
    }
    const errors: FieldError[] = [];
    for (const [i, p] of mesh.apply.entries()) {
      const read = await readSources(resolve(this.o.baseDir, p));
      for (const e of read.errors) errors.push({ ...e, source: `${source}: apply[${i}]: ${e.source ?? p}` });
      for (const f of read.files) {
        const d = decodeResources(f.text, f.path);
        if (!d.ok) errors.push(...d.errors);
        else files.push({ source: f.path, text: f.text });
      }
    }
    if (errors.length > 0) throw new UpError(`invalid resources, nothing started:\n  ${errors.map(formatFieldError).join('\n  ')}`);
    return files;
  }

  private async checkPorts(): Promise<void> {
    const fixed: [number, string][] = [
      [this.apiPort, 'the control plane API'],
      [this.xdsPort, 'the control plane xDS'],
    ];
    for (const w of this.o.mesh.workloads) {
      for (let i = 0; i < (w.replicas ?? 1); i++) {
        const name = i === 0 ? w.service : `${w.service}-${i}`;
        fixed.push([w.port + i, `${name} app`]);
        if (w.inboundPort !== undefined) fixed.push([w.inboundPort + i, `${name} sidecar inbound`]);
        if (w.proxyPort !== undefined) fixed.push([w.proxyPort + i, `${name} sidecar proxy`]);
        if (w.adminPort !== undefined) fixed.push([w.adminPort + i, `${name} sidecar admin`]);
      }
    }
    reservePorts(fixed.map(([p]) => p));
    const taken: string[] = [];
    for (const [port, what] of fixed) if (await portTaken(port)) taken.push(`port ${port} (${what}) is already in use`);
    if (taken.length > 0) throw new UpError(`${taken.join('\n')}${this.o.portHint ? `\n${this.o.portHint}` : ''}`);
  }

  /** One row per workload replica, with live readiness and registration. */
  async status(): Promise<StatusRow[]> {
    let registered = new Set<number>();
    try {
      const list = await this.client?.listEndpoints();
      registered = new Set((list?.items ?? []).map((e) => e.port));
    } catch {
      // the table shows "no" when the control plane cannot be asked
    }
    return Promise.all(
      this.workloads.map(async (w) => {
        let ready = false;
        if (w.ports && w.sidecar?.running()) {
          try {
            ready = (await httpGet(w.ports.admin, '/ready', 2000)).status === 200;
          } catch {
            ready = false;
          }
        }
        return {
          service: w.service,
          replica: w.replica,
          appPort: w.ports?.app ?? 0,
          inbound: w.ports?.inbound ?? 0,
          proxy: w.ports?.proxy ?? 0,
          admin: w.ports?.admin ?? 0,
          state: w.state,
          ready,
          registered: w.ports !== undefined && registered.has(w.ports.inbound),
          pids: `${w.app?.pid ?? '-'}/${w.sidecar?.pid ?? '-'}`,
        };
      }),
    );
  }

  async statusTable(): Promise<string> {
    const rows = await this.status();
    return formatTable(
      ['SERVICE', 'REPLICA', 'APP', 'INBOUND', 'HTTP_PROXY', 'ADMIN', 'STATE', 'READY', 'REGISTERED', 'PID (APP/SIDECAR)'],
      rows.map((r) => [
        r.service,
        String(r.replica),
        String(r.appPort),
        String(r.inbound),
        String(r.proxy),
        String(r.admin),
        r.state,
        r.ready ? 'yes' : 'no',
        r.registered ? 'yes' : 'no',
        r.pids,
      ]),
    );
  }

  /** Stop every workload, then the control plane. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopInner();
    return this.stopping;
  }

  private async stopInner(): Promise<void> {
    await Promise.all(this.workloads.map((w) => w.stop()));
    if (this.control) {
      await this.control.stop();
      if (this.workloads.length > 0) this.say('control plane stopped');
    }
    if (this.tempDir && !this.logDir) rmSync(this.tempDir, { recursive: true, force: true });
    else if (this.tempDir) rmSync(join(this.tempDir, 'data'), { recursive: true, force: true });
    this.stopped = true;
  }

  /** SIGKILL everything now. */
  kill(): void {
    for (const w of this.workloads) w.kill();
    this.control?.signal('SIGKILL');
  }

  isStopped(): boolean {
    return this.stopped;
  }
}
