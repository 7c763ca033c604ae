/**
 * @module check/run
 * Runs every check group and formats the report. The control plane is asked first so the
 * ports check can tell its ports from a conflict; the other groups run concurrently.
 */
import { loadConfig } from '../config/loader.js';
import type { Check, CheckContext, LoadedConfig } from './checks.js';
import { checkConfig } from './config.js';
import { checkControl } from './control.js';
import { checkKernel } from './kernel.js';
import { checkPackages } from './packages.js';
import { checkPorts } from './ports.js';

/** Load each -f path once; the ports and config checks both read the result. */
export async function loadConfigs(paths: readonly string[]): Promise<LoadedConfig[]> {
  return Promise.all(paths.map(async (path) => ({ path, result: await loadConfig(path) })));
}

/** Every check, in report order: ports, node, kernel, packages, control, config. */
export async function runChecks(ctx: CheckContext): Promise<Check[]> {
  const [control, kernel, packages] = await Promise.all([checkControl(ctx), checkKernel(ctx), checkPackages(ctx)]);
  const ports = await checkPorts(ctx, control.running);
  return [...ports, ...kernel, ...packages, ...control.checks, ...checkConfig(ctx)];
}

/** True when any check failed (exit code 1). */
export const anyFailed = (checks: readonly Check[]): boolean => checks.some((c) => c.status === 'fail');

/** The text report: `STATUS NAME DETAIL → fix: FIX` per line, then a count line. */
export function formatChecks(checks: readonly Check[]): string {
  const width = Math.max(0, ...checks.map((c) => c.name.length));
  const lines = checks.map((c) => `${c.status.padEnd(4)} ${c.name.padEnd(width)}  ${c.detail}${c.fix ? ` → fix: ${c.fix}` : ''}`);
  const count = (s: Check['status']): number => checks.filter((c) => c.status === s).length;
  lines.push(`${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail`);
  return `${lines.join('\n')}\n`;
}
