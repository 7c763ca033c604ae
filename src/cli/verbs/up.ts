/**
 * @module cli/verbs/up
 * `strata up -f mesh.yaml`: the control plane, the file's resources and every workload with
 * its sidecar on this machine; progress while starting, a status table once up, then it
 * waits. Ctrl-C stops the workloads (deregister, drain) and then the control plane; a
 * second Ctrl-C kills everything at once.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { formatFieldError } from '../../errors.js';
import { decodeMeshFile } from '../../runner/mesh-file.js';
import { onStopSignals } from '../../runner/signals.js';
import { Up, UpError } from '../../runner/up.js';
import type { Verb } from '../verb.js';
import { portOption } from './run.js';

export const upVerb: Verb = {
  name: 'up',
  summary: 'Run a whole mesh locally from mesh.yaml: control plane, resources, workloads with sidecars',
  usage: 'strata up -f mesh.yaml [--api-port P] [--xds-port P] [--logs auto|prefix|files]',
  options: {
    file: { type: 'string', short: 'f', description: 'the mesh file (see examples/mesh.yaml)' },
    'api-port': { type: 'string', description: 'control plane REST API port (default: the file, else 15080)' },
    'xds-port': { type: 'string', description: 'control plane ADS port (default: the file, else 15010)' },
    logs: { type: 'string', default: 'auto', description: "children's output: prefix (on this terminal), files (under the run directory), auto" },
    'log-level': { type: 'string', default: 'warn', description: "sidecars' log level: debug | info | warn | error" },
  },
  async run({ values }) {
    const usage = (msg: string): number => {
      process.stderr.write(`strata up: ${msg}\n  usage: ${upVerb.usage}\n`);
      return 2;
    };
    const file = values['file'] as string | undefined;
    if (!file) return usage('-f mesh.yaml is required');
    const apiPort = portOption('api-port', values['api-port']);
    if (typeof apiPort === 'string') return usage(apiPort);
    const xdsPort = portOption('xds-port', values['xds-port']);
    if (typeof xdsPort === 'string') return usage(xdsPort);
    const logs = (values['logs'] as string | undefined) ?? 'auto';
    if (!['auto', 'prefix', 'files'].includes(logs)) return usage(`--logs must be auto, prefix or files, got '${logs}'`);
    const level = (values['log-level'] as string | undefined) ?? 'warn';
    if (!['debug', 'info', 'warn', 'error'].includes(level)) return usage(`--log-level must be debug, info, warn or error, got '${level}'`);

    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      process.stderr.write(`strata up: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      return 1;
    }
    const source = file;
    const decoded = decodeMeshFile(text, source);
    if (!decoded.ok) {
      process.stderr.write(`strata up: ${basename(file)} is invalid, nothing started:\n${decoded.errors.map((e) => `  ${formatFieldError(e)}`).join('\n')}\n`);
      return 1;
    }
    const up = new Up({
      mesh: decoded.value,
      source,
      baseDir: dirname(resolve(file)),
      ...(apiPort !== undefined && { apiPort }),
      ...(xdsPort !== undefined && { xdsPort }),
      out: process.stdout,
      logs: logs as 'auto' | 'prefix' | 'files',
      sidecarLogLevel: level,
      portHint: 'pick other ports in the file, or with --api-port / --xds-port',
    });
    return runUntilStopped(up, 'strata up');
  },
};

/**
 * Start `up`, print its status table, wait for Ctrl-C (or `until`), stop; the exit code.
 * `started` runs once everything is up (the demo starts its load there); when it returns a
 * promise, everything stops once that resolves.
 */
export function runUntilStopped(up: Up, who: string, hooks: { started?(): Promise<void> | void; stopping?(): void } = {}): Promise<number> {
  return new Promise<number>((done) => {
    let stopping = false;
    const finish = (code: number): void => {
      unhook();
      done(code);
    };
    const stop = (why: string, code: number): void => {
      if (stopping) return;
      stopping = true;
      hooks.stopping?.();
      process.stdout.write(`${why}: stopping the workloads, then the control plane (again to kill now)\n`);
      void up.stop().then(() => {
        process.stdout.write('stopped\n');
        finish(code);
      });
    };
    const unhook = onStopSignals(
      (signal) => stop(signal, 0),
      () => {
        up.kill();
        finish(130);
      },
    );
    up.start().then(
      async () => {
        if (stopping) return;
        process.stdout.write(`\n${await up.statusTable()}\n`);
        process.stdout.write(`mesh is up: \`strata status --server http://127.0.0.1:${up.apiPort}\`; Ctrl-C to stop\n`);
        void up.controlDied.then((why) => {
          process.stderr.write(`${who}: ${why}\n`);
          stop('control plane gone', 1);
        });
        // `started` may resolve when it is time to stop (the demo's --duration).
        const done = hooks.started?.();
        if (done) void done.then(() => stop('time is up', 0));
      },
      (err: unknown) => {
        if (stopping) {
          // interrupted while starting: stop() is already under way
          return;
        }
        stopping = true;
        process.stderr.write(`${who}: ${(err as Error).message}\n`);
        finish(err instanceof UpError ? err.exitCode : 1);
      },
    );
  });
}
