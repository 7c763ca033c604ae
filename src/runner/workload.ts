/**
 * @module runner/workload
 * One workload on this machine: the application and its sidecar as child processes.
 * Start: make sure its Service exists → start the sidecar (`strata proxy --xds`) → wait for
 * its `/ready` (the first configuration from the control plane has been applied) → start the
 * app with HTTP_PROXY pointing at the sidecar → once the app accepts connections, register
 * the sidecar's inbound port as an endpoint of the service and keep it alive by heartbeat.
 * The app never starts before its sidecar can route its calls, and gets no traffic before it
 * listens. Stop: deregister (callers stop choosing it) → drain the sidecar → stop the app.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClientError } from '../control/api/client.js';
import type { ApiClient } from '../control/api/client.js';
import { Child } from './children.js';
import type { OutputSink } from './children.js';
import { canConnect, delay, freePorts, httpGet, portTaken } from './net.js';

export const STRATA_BIN = fileURLToPath(new URL('../../../bin/strata.js', import.meta.url));

export type AppProtocol = 'http' | 'http2' | 'grpc' | 'tcp';

export interface WorkloadOptions {
  /** Display name: the service, or `service-N` for replica N > 0. */
  name: string;
  service: string;
  replica: number;
  appPort: number;
  /** argv (no shell) or a shell command line. */
  command: string[] | string;
  cwd?: string;
  env?: Record<string, string>;
  protocol?: AppProtocol;
  dependencies?: string[];
  inboundPort?: number;
  proxyPort?: number;
  adminPort?: number;
  /** Extra endpoint metadata (weight, locality, version…); `sidecar: true` is always set. */
  metadata?: Record<string, unknown>;
  client: ApiClient;
  /** The control plane's ADS address(es), `HOST:PORT[,HOST:PORT]`. */
  xds: string;
  /** Where the generated sidecar configuration is written. */
  runDir: string;
  output(part: 'sidecar' | 'app'): OutputSink;
  progress(line: string): void;
  /** How long the sidecar may take to get its first configuration (default 60 s). */
  readyTimeoutMs?: number;
  /** How long the app may take to accept connections before it is registered anyway (default 30 s). */
  listenTimeoutMs?: number;
  ttlMs?: number;
  sidecarLogLevel?: string;
}

export interface WorkloadPorts {
  app: number;
  inbound: number;
  proxy: number;
  admin: number;
}

export type WorkloadState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed' | 'exited';

export class WorkloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkloadError';
  }
}

export class Workload {
  readonly name: string;
  readonly service: string;
  readonly replica: number;
  state: WorkloadState = 'starting';
  ports: WorkloadPorts | undefined;
  sidecar: Child | undefined;
  app: Child | undefined;
  endpointId: string | undefined;
  configVersion: string | undefined;
  /** Resolves with the app's exit code when the app exits (by itself or stopped). */
  readonly appExited: Promise<number>;
  private resolveAppExit!: (code: number) => void;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;
  private readonly ttlMs: number;

  constructor(private readonly o: WorkloadOptions) {
    this.name = o.name;
    this.service = o.service;
    this.replica = o.replica;
    this.ttlMs = o.ttlMs ?? 10_000;
    this.appExited = new Promise((r) => (this.resolveAppExit = r));
  }

  /** Start sidecar and app; on failure everything started is stopped and a WorkloadError thrown. */
  async start(): Promise<void> {
    try {
      await this.startInner();
      this.state = 'running';
    } catch (err) {
      this.state = 'failed';
      await this.stop();
      this.state = 'failed';
      if (err instanceof WorkloadError) throw err;
      if (err instanceof ApiClientError && err.code === 'STRATA_API_UNREACHABLE') {
        throw new WorkloadError(`${err.message} (is \`strata control\` running there? pass --control URL)`);
      }
      throw new WorkloadError(`${this.name}: ${(err as Error).message}`);
    }
  }

  private async startInner(): Promise<void> {
    const o = this.o;
    // Something else on the app port would answer for the app (and get its traffic).
    if (await portTaken(o.appPort)) throw new WorkloadError(`${o.name}: port ${o.appPort} is already in use; the app must be able to listen there (--port)`);
    await ensureService(o.client, o.service, o.protocol ?? 'http');

    const given = [o.inboundPort, o.proxyPort, o.adminPort];
    const picked = await freePorts(given.filter((p) => p === undefined).length, new Set([o.appPort, ...given.filter((p): p is number => p !== undefined)]));
    const next = (p: number | undefined): number => p ?? (picked.shift() as number);
    const ports: WorkloadPorts = { app: o.appPort, inbound: next(o.inboundPort), proxy: next(o.proxyPort), admin: next(o.adminPort) };
    this.ports = ports;

    const configPath = join(o.runDir, `${o.name}.sidecar.yaml`);
    writeFileSync(configPath, sidecarYaml(o, ports));
    const sidecar = new Child({
      name: `${o.name} sidecar`,
      command: process.execPath,
      args: [STRATA_BIN, 'proxy', '--config', configPath, '--xds', o.xds, '--node-id', `${o.name}~runner~${process.pid}`, '--no-watch', '--log-level', o.sidecarLogLevel ?? 'info'],
      env: { ...process.env },
      output: o.output('sidecar'),
    });
    this.sidecar = sidecar;
    this.configVersion = await this.waitReady(sidecar, ports.admin);
    o.progress(`${o.name}: sidecar ready (config ${this.configVersion}), pid ${sidecar.pid}, inbound :${ports.inbound}, HTTP_PROXY :${ports.proxy}, admin :${ports.admin}`);

    const proxyUrl = `http://127.0.0.1:${ports.proxy}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...o.env,
      HTTP_PROXY: proxyUrl,
      http_proxy: proxyUrl,
      NO_PROXY: 'localhost,127.0.0.1,::1',
      no_proxy: 'localhost,127.0.0.1,::1',
      PORT: String(ports.app),
      STRATA_SERVICE: o.service,
      STRATA_REPLICA: String(o.replica),
      STRATA_SIDECAR_ADMIN: `http://127.0.0.1:${ports.admin}`,
    };
    const argv = typeof o.command === 'string' ? undefined : o.command;
    const app = new Child({
      name: o.name,
      command: argv ? (argv[0] as string) : o.command as string,
      args: argv ? argv.slice(1) : [],
      shell: argv === undefined,
      ...(o.cwd !== undefined && { cwd: o.cwd }),
      env,
      output: o.output('app'),
    });
    this.app = app;
    void app.exited.then((e) => {
      const code = e.code ?? 128 + (e.signal === 'SIGKILL' ? 9 : e.signal === 'SIGINT' ? 2 : 15);
      if (this.state === 'running' || this.state === 'starting') this.state = 'exited';
      this.resolveAppExit(code);
    });
    o.progress(`${o.name}: app started, pid ${app.pid ?? '?'}, port ${ports.app} (${argv ? argv.join(' ') : o.command})`);

    // Traffic only once the app listens (a worker that never listens is registered after the timeout).
    const deadline = Date.now() + (o.listenTimeoutMs ?? 30_000);
    let listening = false;
    while (Date.now() < deadline) {
      if (!app.running()) throw new WorkloadError(`${o.name}: the app exited before it accepted connections on port ${ports.app}${tail(app)}`);
      if (await canConnect(ports.app)) {
        listening = true;
        break;
      }
      await delay(100);
    }
    if (!listening) o.progress(`${o.name}: warning: the app does not accept connections on port ${ports.app}; registering it anyway`);

    const reg = await o.client.register({ service: o.service, address: '127.0.0.1', port: ports.inbound, ttlMs: this.ttlMs, metadata: { ...o.metadata, sidecar: true } });
    this.endpointId = reg.id;
    o.progress(`${o.name}: endpoint registered (${o.service} → 127.0.0.1:${ports.inbound}, id ${reg.id})`);
    this.heartbeat = setInterval(() => void this.beat(), Math.max(500, Math.floor(this.ttlMs / 3)));
    this.heartbeat.unref();
  }

  private async beat(): Promise<void> {
    if (this.endpointId === undefined || !this.ports || this.state !== 'running') return;
    try {
      await this.o.client.heartbeat(this.endpointId);
    } catch (err) {
      // Expired or forgotten (a control plane restart): register again.
      if (err instanceof ApiClientError && err.status === 404 && this.state === 'running') {
        try {
          const reg = await this.o.client.register({
            service: this.o.service,
            address: '127.0.0.1',
            port: this.ports.inbound,
            ttlMs: this.ttlMs,
            metadata: { ...this.o.metadata, sidecar: true },
          });
          this.endpointId = reg.id;
          this.o.progress(`${this.name}: endpoint registered again (id ${reg.id})`);
        } catch {
          // next beat retries
        }
      }
    }
  }

  private async waitReady(sidecar: Child, adminPort: number): Promise<string> {
    const timeoutMs = this.o.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer from the admin port';
    while (Date.now() < deadline) {
      if (!sidecar.running()) throw new WorkloadError(`${this.name}: the sidecar exited before it was ready${tail(sidecar)}`);
      try {
        const r = await httpGet(adminPort, '/ready', 2000);
        if (r.status === 200) {
          try {
            const dump = JSON.parse((await httpGet(adminPort, '/config_dump', 3000)).body) as { version?: string };
            return dump.version ?? 'unknown';
          } catch {
            return 'unknown';
          }
        }
        last = r.body.trim();
      } catch (err) {
        last = `admin port: ${(err as Error).message}`;
      }
      await delay(100);
    }
    throw new WorkloadError(
      `${this.name}: the sidecar got no configuration from the control plane (xds ${this.o.xds}) within ${Math.round(timeoutMs / 1000)} s (${last}); is \`strata control\` running there?`,
    );
  }

  /** Deregister, drain the sidecar, stop the app. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopInner();
    return this.stopping;
  }

  private async stopInner(): Promise<void> {
    const failed = this.state === 'failed';
    this.state = 'stopping';
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.endpointId !== undefined) {
      try {
        await this.o.client.deregister(this.endpointId);
        this.o.progress(`${this.name}: endpoint deregistered`);
      } catch (err) {
        if (!(err instanceof ApiClientError && err.status === 404)) this.o.progress(`${this.name}: could not deregister: ${(err as Error).message}`);
      }
      this.endpointId = undefined;
    }
    // The sidecar drains its in-flight requests while the app can still answer them.
    if (this.sidecar) await this.sidecar.stop();
    if (this.app) await this.app.stop(10_000);
    this.state = failed ? 'failed' : 'stopped';
  }

  /** SIGKILL both processes now (second Ctrl-C). */
  kill(): void {
    this.sidecar?.signal('SIGKILL');
    this.app?.signal('SIGKILL');
  }
}

function tail(c: Child): string {
  const lines = c.lastLines(8);
  return lines.length > 0 ? `:\n    ${lines.join('\n    ')}` : '';
}

/** The generated Sidecar resource of a workload. */
export function sidecarYaml(o: Pick<WorkloadOptions, 'name' | 'service' | 'protocol' | 'dependencies'>, ports: WorkloadPorts): string {
  const lines = [
    '# Generated by the strata runner; the services and routes come from the control plane.',
    'apiVersion: strata.dev/v1alpha1',
    'kind: Sidecar',
    `metadata: { name: ${o.name} }`,
    'spec:',
    `  service: ${o.service}`,
  ];
  if (o.dependencies !== undefined) lines.push(`  dependencies: [${o.dependencies.map((d) => JSON.stringify(d)).join(', ')}]`);
  lines.push(
    `  inbound: { port: ${ports.inbound}, address: 127.0.0.1, appPort: ${ports.app}, appProtocol: ${o.protocol ?? 'http'} }`,
    `  outbound: { proxyPort: ${ports.proxy} }`,
    `  admin: { port: ${ports.admin} }`,
    '',
  );
  return lines.join('\n');
}

/** Create an empty Service (endpoints come from registration) unless one exists. */
export async function ensureService(client: ApiClient, service: string, protocol: AppProtocol): Promise<void> {
  try {
    await client.get('Service', 'default', service);
    return;
  } catch (err) {
    if (!(err instanceof ApiClientError) || err.status !== 404) throw err;
  }
  await client.applyText(
    `apiVersion: strata.dev/v1alpha1\nkind: Service\nmetadata: { name: ${service} }\nspec:\n  protocol: ${protocol}\n`,
    `strata-runner:${service}`,
  );
}
