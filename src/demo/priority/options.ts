/**
 * @module demo/priority/options
 * The options of `strata demo --app priority` (pure): which layers, how much load, where its
 * ports go. The ports of the priority app are laid out from one base (experiment/topology.ts
 * portsFrom): every port keeps its distance to DEFAULT_PORTS' lowest, so the block spans
 * PORT_SPAN ports above the base.
 */
import { DEFAULT_WORKLOAD, portsFrom } from '../../experiment/topology.js';
import type { Ports } from '../../experiment/topology.js';

/** The default base of the priority app's ports (its block stays below the usual ephemeral range). */
export const PRIORITY_DEFAULT_BASE = 20000;

/** Every port the priority app listens on, from its Ports (sorted, distinct). */
export function portList(p: Ports): number[] {
  const all = [...Object.values(p).filter((v): v is number => typeof v === 'number'), ...Object.values(p.admin)];
  return [...new Set(all)].sort((a, b) => a - b);
}

/** How far the highest port is above the base. */
export const PORT_SPAN = ((): number => {
  const l = portList(portsFrom(0));
  return (l[l.length - 1] as number) - (l[0] as number);
})();

/** The highest base whose block still fits below port 65536. */
export const MAX_PRIORITY_BASE = 65535 - PORT_SPAN;

export interface PriorityDemoOptions {
  /** true: the proxy-broker configuration; false: mesh with priority off. */
  priority: boolean;
  lsRate: number;
  bulk: number;
  /** 0 = pick a free block. */
  base: number;
}

type Values = Record<string, string | boolean | string[] | undefined>;

/** --priority, --ls-rate, --bulk and --base-port of the priority app, or the first error (a message naming the option). */
export function parsePriorityOptions(values: Values): { ok: true; value: PriorityDemoOptions } | { ok: false; error: string } {
  const text = (name: string): string | undefined => (values[name] === undefined ? undefined : String(values[name]));
  const priorityText = text('priority') ?? 'on';
  if (priorityText !== 'on' && priorityText !== 'off') return { ok: false, error: `--priority must be on or off, got '${priorityText}'` };
  const lsText = text('ls-rate') ?? String(DEFAULT_WORKLOAD.lsRate);
  const lsRate = Number(lsText);
  if (!/^\d+(\.\d+)?$/.test(lsText) || !(lsRate > 0 && lsRate <= 1000)) {
    return { ok: false, error: `--ls-rate must be a number of latency-sensitive requests per second, above 0 and at most 1000, got '${lsText}'` };
  }
  const bulkText = text('bulk') ?? String(DEFAULT_WORKLOAD.bulkConcurrency);
  const bulk = Number(bulkText);
  if (!/^\d+$/.test(bulkText) || bulk > 256) return { ok: false, error: `--bulk must be a whole number of bulk workers from 0 to 256, got '${bulkText}'` };
  const baseText = text('base-port') ?? String(PRIORITY_DEFAULT_BASE);
  const base = Number(baseText);
  if (!/^\d+$/.test(baseText) || (base !== 0 && (base < 1024 || base > MAX_PRIORITY_BASE))) {
    return {
      ok: false,
      error: `--base-port must be 0 (a free block) or 1024-${MAX_PRIORITY_BASE} for --app priority (its ports span base…base+${PORT_SPAN}), got '${baseText}'`,
    };
  }
  return { ok: true, value: { priority: priorityText === 'on', lsRate, bulk, base } };
}
