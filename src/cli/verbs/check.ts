/**
 * @module cli/verbs/check
 * `strata check`: preflight. Ports free, Node.js and kernel features, the packages the tests
 * use, the control plane reachable, the -f configs valid; one line each, ok / warn / fail with
 * the fix. Exit 1 when anything failed, 2 on bad arguments, else 0. Changes nothing.
 */
import { serverUrl } from '../../control/api/client.js';
import { systemProbes } from '../../check/probes.js';
import { anyFailed, formatChecks, loadConfigs, runChecks } from '../../check/run.js';
import type { Verb } from '../verb.js';
import '../../proxy/balancer/index.js';
import '../../proxy/filters/index.js';

const FORMATS = ['table', 'json'];

/** A --port value as a port number, or the message saying why not. */
export function parsePortArg(value: string): number | string {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) return `--port must be a port number 1-65535, got '${value}'`;
  return n;
}

const list = (v: string | boolean | string[] | undefined): string[] => (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []);

export const checkVerb: Verb = {
  name: 'check',
  summary: 'Preflight: ports free, kernel features, packages, control plane reachable, config valid',
  usage: 'strata check [-f FILE|DIR]... [--port N]... [--control URL] [-o table|json]',
  options: {
    config: { type: 'string', short: 'f', multiple: true, description: 'configuration file or directory to validate (and whose listener ports to check); repeatable' },
    port: { type: 'string', multiple: true, description: 'another port that must be free on 127.0.0.1; repeatable' },
    control: { type: 'string', description: 'control plane API URL (default: $STRATA_SERVER or http://127.0.0.1:15080); unreachable is then a fail' },
    server: { type: 'string', description: 'same as --control (the name the other verbs use)' },
    output: { type: 'string', short: 'o', default: 'table', description: 'output format: table or json' },
  },
  async run({ values, positionals }) {
    const bad = (msg: string): number => {
      process.stderr.write(`strata check: ${msg}\n`);
      return 2;
    };
    const output = (values['output'] as string | undefined) ?? 'table';
    if (!FORMATS.includes(output)) return bad(`-o must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(output)}`);
    if (positionals.length > 0) return bad(`unexpected argument '${positionals[0]}' (configs go after -f)`);
    const ports: number[] = [];
    for (const v of list(values['port'])) {
      const p = parsePortArg(v);
      if (typeof p === 'string') return bad(p);
      ports.push(p);
    }
    const given = (values['control'] as string | undefined) || (values['server'] as string | undefined);
    const control = serverUrl(given);
    try {
      const u = new URL(control);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
    } catch {
      return bad(`--control must be an http(s) URL such as http://127.0.0.1:15080, got '${control}'`);
    }
    const configs = await loadConfigs(list(values['config']));
    const checks = await runChecks({
      probes: systemProbes(),
      control,
      controlExplicit: Boolean(given || process.env['STRATA_SERVER']),
      ports,
      configs,
    });
    process.stdout.write(output === 'json' ? `${JSON.stringify(checks, null, 2)}\n` : formatChecks(checks));
    return anyFailed(checks) ? 1 : 0;
  },
};
