/**
 * @module cli/verbs/run
 * `strata run --service NAME --port APP_PORT -- CMD…`: run one application beside its own
 * sidecar. The sidecar starts first and the app only once the sidecar has its configuration
 * from the control plane; the app gets HTTP_PROXY pointing at the sidecar; the sidecar's
 * inbound port is registered as an endpoint of NAME once the app listens. Ctrl-C: deregister,
 * drain the sidecar, stop the app. When the app exits by itself, so does `strata run`, with
 * the app's exit code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, serverUrl } from '../../control/api/client.js';
import { onStopSignals } from '../../runner/signals.js';
import { Workload } from '../../runner/workload.js';
import type { AppProtocol } from '../../runner/workload.js';
import type { Verb } from '../verb.js';

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PROTOCOLS: readonly AppProtocol[] = ['http', 'http2', 'grpc', 'tcp'];
export const DEFAULT_XDS = '127.0.0.1:15010';

/** A port option: undefined when absent, a number, or an error message. */
export function portOption(name: string, value: unknown, required = false): number | undefined | string {
  if (value === undefined) return required ? `--${name} is required` : undefined;
  const s = String(value);
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > 65535) return `--${name} must be a port number 1-65535, got '${s}'`;
  return n;
}

export const runVerb: Verb = {
  name: 'run',
  summary: 'Run an application beside its own sidecar, registered with the control plane',
  usage: 'strata run --service NAME --port APP_PORT [--control URL] [--xds HOST:PORT] [--dependencies a,b] -- COMMAND [ARG…]',
  options: {
    service: { type: 'string', short: 's', description: 'the service this application serves (required)' },
    port: { type: 'string', short: 'p', description: 'the port the application listens on, given to it as PORT (required)' },
    control: { type: 'string', description: 'control plane REST API (default: $STRATA_SERVER or http://127.0.0.1:15080)' },
    xds: { type: 'string', description: `control plane ADS address(es) (default: ${DEFAULT_XDS})` },
    'inbound-port': { type: 'string', description: 'sidecar inbound port (default: a free port)' },
    'proxy-port': { type: 'string', description: 'sidecar HTTP_PROXY port (default: a free port)' },
    'admin-port': { type: 'string', description: 'sidecar admin port (default: a free port)' },
    protocol: { type: 'string', default: 'http', description: 'what the application speaks: http | http2 | grpc | tcp' },
    dependencies: { type: 'string', description: 'services the application calls, comma-separated (scoped configuration)' },
    'ready-timeout': { type: 'string', default: '60', description: 'seconds to wait for the sidecar to get its configuration' },
    'log-level': { type: 'string', default: 'info', description: "the sidecar's log level: debug | info | warn | error" },
  },
  async run({ values, positionals }) {
    const usage = (msg: string): number => {
      process.stderr.write(`strata run: ${msg}\n  usage: ${runVerb.usage}\n`);
      return 2;
    };
    const service = values['service'] as string | undefined;
    if (service === undefined || service === '') return usage('--service NAME is required');
    if (!NAME.test(service) || service.length > 63) return usage(`--service must be a DNS label (lower-case letters, digits, "-"), got '${service}'`);
    const port = portOption('port', values['port'], true);
    if (typeof port !== 'number') return usage(port ?? '--port is required');
    const extra: Record<'inbound' | 'proxy' | 'admin', number | undefined> = { inbound: undefined, proxy: undefined, admin: undefined };
    for (const k of ['inbound', 'proxy', 'admin'] as const) {
      const p = portOption(`${k}-port`, values[`${k}-port`]);
      if (typeof p === 'string') return usage(p);
      extra[k] = p;
    }
    const protocol = (values['protocol'] as string | undefined) ?? 'http';
    if (!(PROTOCOLS as readonly string[]).includes(protocol)) return usage(`--protocol must be one of ${PROTOCOLS.join(', ')}, got '${protocol}'`);
    const xds = (values['xds'] as string | undefined) ?? DEFAULT_XDS;
    if (!xds.split(',').every((s) => /^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/.test(s.trim()))) return usage(`--xds must be HOST:PORT[,HOST:PORT], got '${xds}'`);
    const depsArg = values['dependencies'] as string | undefined;
    const dependencies = depsArg === undefined ? undefined : depsArg.split(',').map((d) => d.trim()).filter(Boolean);
    const readyTimeout = Number(values['ready-timeout'] ?? 60);
    if (!(readyTimeout > 0)) return usage(`--ready-timeout must be a positive number of seconds`);
    const level = (values['log-level'] as string | undefined) ?? 'info';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) return usage(`--log-level must be debug, info, warn or error, got '${level}'`);
    if (positionals.length === 0) return usage('the application command is missing: strata run … -- COMMAND [ARG…]');

    const client = new ApiClient(serverUrl(values['control'] as string | undefined));
    const runDir = mkdtempSync(join(tmpdir(), `strata-run-${service}-`));
    const say = (line: string): void => void process.stdout.write(`strata run: ${line}\n`);
    const w = new Workload({
      name: service,
      service,
      replica: 0,
      appPort: port,
      command: positionals,
      protocol: protocol as AppProtocol,
      ...(dependencies && { dependencies }),
      ...(extra.inbound !== undefined && { inboundPort: extra.inbound }),
      ...(extra.proxy !== undefined && { proxyPort: extra.proxy }),
      ...(extra.admin !== undefined && { adminPort: extra.admin }),
      client,
      xds,
      runDir,
      output: (part) => ({ kind: 'prefix', prefix: part === 'sidecar' ? `[${service} sidecar] ` : `[${service}] `, out: process.stdout }),
      progress: say,
      readyTimeoutMs: readyTimeout * 1000,
      sidecarLogLevel: level,
    });

    return new Promise<number>((resolve) => {
      let stopping = false;
      const finish = (code: number): void => {
        unhook();
        rmSync(runDir, { recursive: true, force: true });
        resolve(code);
      };
      const unhook = onStopSignals(
        (signal) => {
          stopping = true;
          say(`${signal}: deregistering, draining the sidecar, stopping the app (again to kill now)`);
          void w.stop().then(() => finish(0));
        },
        () => finish(130),
      );
      w.start().then(
        () => {
          say(`${service} is running; Ctrl-C to stop`);
          void w.appExited.then(async (code) => {
            if (stopping) return;
            stopping = true;
            say(`the app exited with code ${code}; deregistering and stopping the sidecar`);
            await w.stop();
            finish(code);
          });
        },
        (err: unknown) => {
          if (stopping) return; // interrupted while starting
          stopping = true;
          process.stderr.write(`strata run: ${(err as Error).message}\n`);
          void w.stop().then(() => finish(1));
        },
      );
    });
  },
};
