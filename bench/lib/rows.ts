/**
 * @module bench/lib/rows
 * The rows of the benchmark table: what each one puts between the load generator and the
 * upstream app, which protocol the client speaks, and which direct row it is compared with.
 */
import type { CpuList } from './procs.js';
import type { RunningProxy } from './peers.js';
import { startHaproxy, startNginx } from './peers.js';
import { startStrata, startStrataPair } from './strata.js';

/** What the load generator speaks: wrk/hey (HTTP/1.1), h2load h2c GETs, or h2load unary gRPC. */
export type ClientProtocol = 'http1' | 'h2c' | 'grpc';

export interface UpstreamPorts {
  http1: number;
  h2c: number;
}

export interface RowDef {
  name: string;
  description: string;
  client: ClientProtocol;
  /** Which upstream app the requests end at. */
  upstream: keyof UpstreamPorts;
  /** The direct row whose latency is subtracted for addedP50/P99 (none for direct rows). */
  baseline?: string;
  /** Whether this row is the Strata sidecar (a start failure skips it instead of failing). */
  strata: boolean;
  /** Starts the proxy under test in front of the upstream on `upstreamPort`; absent for direct rows. */
  start?(upstreamPort: number, cpus: CpuList): Promise<RunningProxy>;
}

export const ROWS: readonly RowDef[] = [
  { name: 'direct', client: 'http1', upstream: 'http1', strata: false, description: 'wrk/hey → upstream (HTTP/1.1), no proxy' },
  { name: 'direct-h2c', client: 'h2c', upstream: 'h2c', strata: false, description: 'h2load → h2c upstream, no proxy (baseline of strata-http2)' },
  { name: 'direct-grpc', client: 'grpc', upstream: 'h2c', strata: false, description: 'h2load unary gRPC → h2c upstream, no proxy (baseline of strata-grpc)' },
  {
    name: 'nginx', client: 'http1', upstream: 'http1', strata: false, baseline: 'direct',
    description: 'wrk/hey → nginx (1 worker, upstream keepalive 64) → upstream',
    start: (port, cpus) => startNginx(port, cpus),
  },
  {
    name: 'haproxy', client: 'http1', upstream: 'http1', strata: false, baseline: 'direct',
    description: 'wrk/hey → haproxy (nbthread 1, http-reuse always) → upstream',
    start: (port, cpus) => startHaproxy(port, cpus),
  },
  {
    name: 'strata-http1', client: 'http1', upstream: 'http1', strata: true, baseline: 'direct',
    description: 'wrk/hey → sidecar local upstream port → upstream (HTTP/1.1)',
    start: (port, cpus) => startStrata(port, 'http', cpus),
  },
  {
    name: 'strata-http2', client: 'h2c', upstream: 'http1', strata: true, baseline: 'direct-h2c',
    description: 'h2load (h2c prior knowledge) → sidecar local port → upstream (HTTP/1.1)',
    start: (port, cpus) => startStrata(port, 'http', cpus),
  },
  {
    name: 'strata-grpc', client: 'grpc', upstream: 'h2c', strata: true, baseline: 'direct-grpc',
    description: 'h2load unary gRPC → sidecar local port → h2c gRPC-shaped upstream',
    start: (port, cpus) => startStrata(port, 'grpc', cpus),
  },
  {
    name: 'strata-two-sidecar', client: 'http1', upstream: 'http1', strata: true, baseline: 'direct',
    description: 'wrk/hey → sidecar A local port → HTTP/2 → sidecar B inbound → upstream (CPU/RSS: both sidecars)',
    start: (port, cpus) => startStrataPair(port, cpus),
  },
];

/** The rows to run for a `--rows` selection: the named ones plus the direct rows they compare with. */
export function selectRows(names: readonly string[]): RowDef[] {
  if (names.length === 0) return [...ROWS];
  const unknown = names.filter((n) => !ROWS.some((r) => r.name === n));
  if (unknown.length > 0) throw new Error(`--rows: unknown row(s) ${unknown.join(', ')}; known: ${ROWS.map((r) => r.name).join(', ')}`);
  const wanted = new Set(names);
  for (const r of ROWS) if (wanted.has(r.name) && r.baseline) wanted.add(r.baseline);
  return ROWS.filter((r) => wanted.has(r.name));
}
