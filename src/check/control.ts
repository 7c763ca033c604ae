/**
 * @module check/control
 * Control plane reachable: GET <control>/api/v1/status within CONTROL_TIMEOUT_MS. Reachable →
 * ok with its store and revision; a degraded store → warn; unreachable → warn for the default
 * address (nothing may be meant to run yet), fail when the user named the control plane.
 */
import type { StatusReport } from '../control/api/server.js';
import { fail, ok, warn } from './checks.js';
import type { Check, CheckContext } from './checks.js';

export const CONTROL_TIMEOUT_MS = 2000;

export interface ControlResult {
  checks: Check[];
  /** Set when a strata control plane answered: its API URL. */
  running?: URL;
}

export async function checkControl(ctx: CheckContext): Promise<ControlResult> {
  const base = ctx.control.replace(/\/+$/, '');
  const url = `${base}/api/v1/status`;
  let res: { status: number; body: string };
  try {
    res = await ctx.probes.get(url, CONTROL_TIMEOUT_MS);
  } catch (err) {
    return { checks: [unreachable(ctx, base, `${base} unreachable: ${reason(err)}`)] };
  }
  const report = parseStatus(res.body);
  if (res.status !== 200 || report === undefined) {
    return { checks: [unreachable(ctx, base, `${base} answers (HTTP ${res.status}) but is not a strata control plane`)] };
  }
  const running = new URL(base);
  const { store } = report;
  const clients = report.xds === undefined ? '' : `, ${report.xds.length} xDS client(s)`;
  if (!store.ok) {
    return {
      running,
      checks: [
        warn(
          'control',
          `${base}: store ${store.kind} degraded${store.detail ? ` (${store.detail})` : ''}, revision ${report.revision}${clients}`,
          storeFix(store.kind, base),
        ),
      ],
    };
  }
  return { running, checks: [ok('control', `${base}: store ${store.kind} healthy, revision ${report.revision}${clients}`)] };
}

function unreachable(ctx: CheckContext, base: string, detail: string): Check {
  if (ctx.controlExplicit) return fail('control', detail, `start the control plane at ${base} (\`npx strata control --api-port PORT\`) or correct --control`);
  return warn('control', detail, 'start one: `npx strata control` (or `npx strata demo`)');
}

function storeFix(kind: string, base: string): string {
  const see = `see \`npx strata status --server ${base}\``;
  if (kind === 'etcd') return `make etcd reachable (\`etcdctl endpoint health\`); ${see}`;
  if (kind === 'sqlite') return `check the control plane's --data-dir (disk space, permissions); ${see}`;
  return `repair the ${kind} store; ${see}`;
}

function parseStatus(body: string): StatusReport | undefined {
  try {
    const v = JSON.parse(body) as Partial<StatusReport>;
    if (typeof v.revision !== 'number' || typeof v.store?.kind !== 'string' || typeof v.store.ok !== 'boolean') return undefined;
    return v as StatusReport;
  } catch {
    return undefined;
  }
}

function reason(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `no answer within ${CONTROL_TIMEOUT_MS} ms`;
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}
