/**
 * @module check/packages
 * Required packages: the commands the tests and benchmarks use, looked up on PATH and in the
 * sbin directories. Missing ones are a warn (the mesh itself runs without them) with one
 * `apt-get install` line for all of them.
 */
import { ok, warn } from './checks.js';
import type { Check, CheckContext } from './checks.js';

/**
 * command → Debian package. Mirrors `need` in scripts/provision.sh (a unit test keeps them in
 * step; that script is not shipped in the npm package, so the list lives here too), plus `tc`
 * for the priority queues.
 */
export const REQUIRED_COMMANDS: Readonly<Record<string, string>> = {
  curl: 'curl',
  nghttp: 'nghttp2-client',
  h2load: 'nghttp2-client',
  wrk: 'wrk',
  hey: 'hey',
  nginx: 'nginx-light',
  haproxy: 'haproxy',
  ip: 'iproute2',
  tc: 'iproute2',
  taskset: 'util-linux',
  etcd: 'etcd-server',
  etcdctl: 'etcd-client',
  openssl: 'openssl',
  iptables: 'iptables',
  'rabbitmq-server': 'rabbitmq-server',
};

export async function checkPackages(ctx: CheckContext, commands: Readonly<Record<string, string>> = REQUIRED_COMMANDS): Promise<Check[]> {
  const names = Object.keys(commands).sort();
  const found = await Promise.all(names.map((c) => ctx.probes.which(c)));
  const missing = names.filter((_, i) => found[i] === undefined);
  if (missing.length === 0) return [ok('packages', `all ${names.length} commands found (${names.join(', ')})`)];
  const pkgs = [...new Set(missing.map((c) => commands[c] ?? c))].sort();
  const which = missing.map((c) => (commands[c] === c ? c : `${c} (${commands[c]})`)).join(', ');
  return [
    warn(
      'packages',
      `${missing.length === 1 ? `${which} not found` : `not found: ${which}`}; needed by tests and benchmarks`,
      `sudo apt-get install -y ${pkgs.join(' ')}`,
    ),
  ];
}
