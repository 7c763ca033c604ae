/**
 * @module check/config
 * Config valid: each -f FILE|DIR loaded and validated exactly as `strata validate` does. A
 * valid config is one ok line; an invalid one is a fail line per error (file, resource,
 * field), each fixed by editing that file. Without -f there is one ok line saying so, so that
 * every check name appears in every report.
 */
import { formatFieldError } from '../errors.js';
import { fail, ok } from './checks.js';
import type { Check, CheckContext } from './checks.js';

export function checkConfig(ctx: CheckContext): Check[] {
  if (ctx.configs.length === 0) return [ok('config', 'no -f/--config given: nothing to validate')];
  const out: Check[] = [];
  for (const { path, result } of ctx.configs) {
    if (result.ok) {
      const s = result.value;
      const routes = s.virtualHosts.reduce((n, v) => n + v.routes.length, 0);
      out.push(ok('config', `${path}: valid (version ${s.version}): sidecar for '${s.sidecar.service || '-'}', ${s.clusters.length} services, ${routes} routes`));
      continue;
    }
    for (const e of result.errors) {
      const field = [e.resource, e.path].filter(Boolean).join(' ');
      out.push(fail('config', formatFieldError({ ...e, source: e.source ?? path }), `edit ${e.source ?? path}: ${field ? `${field}: ` : ''}${e.message}`));
    }
  }
  return out;
}
