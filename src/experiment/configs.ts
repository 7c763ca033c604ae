/**
 * @module experiment/configs
 * The five configurations of `strata experiment priority`, as data: which layers are on.
 * Each one adds a layer to the one before it (except the first, which has no mesh at all);
 * `proxy-kernel` is an extra, run only when named, that leaves the broker layer out of all layers.
 */
export interface ExperimentConfig {
  id: string;
  label: string;
  /** Sidecars beside every workload (false: the apps call each other and the broker directly). */
  mesh: boolean;
  /** Proxy layer: classification at the gateway, admission by class at each limit, per-class pools. */
  proxy: boolean;
  /** Broker layer: the job queue is declared with x-max-priority through the AMQP listener. */
  broker: boolean;
  /** Kernel/transport layer: DSCP, SO_PRIORITY and congestion control on the sidecars'
   * per-class sockets, and an htb class per priority on the bottleneck (strata net qos). */
  kernel: boolean;
  /** Not run by default (only when named in --configs): for isolating one layer's contribution. */
  extra?: boolean;
}

export const CONFIGS: readonly ExperimentConfig[] = [
  { id: 'no-mesh', label: 'no mesh', mesh: false, proxy: false, broker: false, kernel: false },
  { id: 'mesh', label: 'mesh, priority off', mesh: true, proxy: false, broker: false, kernel: false },
  { id: 'proxy', label: 'priority in the proxy', mesh: true, proxy: true, broker: false, kernel: false },
  { id: 'proxy-broker', label: 'proxy + broker', mesh: true, proxy: true, broker: true, kernel: false },
  { id: 'all-layers', label: 'all layers', mesh: true, proxy: true, broker: true, kernel: true },
  // All layers but the broker's: what the priority queue adds once the link no longer queues.
  { id: 'proxy-kernel', label: 'proxy + kernel (no broker)', mesh: true, proxy: true, broker: false, kernel: true, extra: true },
];

/** The configurations named in `--configs a,b` (in the canonical order), or an error naming the unknown ones. */
export function selectConfigs(list: string | undefined): { ok: true; value: ExperimentConfig[] } | { ok: false; error: string } {
  if (list === undefined || list.trim() === '') return { ok: true, value: CONFIGS.filter((c) => !c.extra) };
  const wanted = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = wanted.filter((w) => !CONFIGS.some((c) => c.id === w));
  if (unknown.length > 0) return { ok: false, error: `unknown configuration ${unknown.map((u) => `'${u}'`).join(', ')} (known: ${CONFIGS.map((c) => c.id).join(', ')})` };
  return { ok: true, value: CONFIGS.filter((c) => wanted.includes(c.id)) };
}
