/**
 * @module bench/lib/args
 * Command-line flags of `npm run bench` (node dist/bench/proxy-bench.js).
 */
import { parseArgs } from 'node:util';

export interface BenchArgs {
  /** Seconds of each measured throughput run. */
  duration: number;
  /** Seconds of each fixed-rate latency run. */
  latencyDuration: number;
  /** Seconds of load before each measured run (not measured). */
  warmup: number;
  repeat: number;
  out: string;
  /** wrk connections (closed loop). */
  connections: number;
  /** h2load connections × streams per connection (closed loop). */
  h2Clients: number;
  h2Streams: number;
  /** Total requests/s of the latency runs (10 workers/clients share it). */
  rate: number;
  pin: boolean;
  /** Only these rows (empty = all). */
  rows: string[];
  help: boolean;
}

export const USAGE = `Usage: node dist/bench/proxy-bench.js [flags]   (npm run bench -- [flags])

  --duration 10s          measured throughput run length (per repeat)
  --latency-duration 10s  fixed-rate latency run length (default: --duration)
  --warmup 2s             unmeasured load before every measured run
  --repeat 3              runs per measurement; the median is reported
  --quick                 smoke run: --duration 3s --warmup 1s (explicit flags still win)
  --connections 64        wrk connections (HTTP/1.1 rows)
  --h2-clients 8          h2load connections (HTTP/2 and gRPC rows)
  --h2-streams 8          h2load concurrent streams per connection
  --rate 1000             total req/s of the latency runs (10 workers × rate/10)
  --rows a,b,...          only these rows (direct rows are added as baselines when needed)
  --no-pin                do not pin processes to CPUs with taskset
  --out FILE              JSON results (default bench-results/proxy.json)
  -h, --help
`;

function seconds(flag: string, v: string): number {
  const m = /^(\d+)(s|m)?$/.exec(v.trim());
  if (!m?.[1]) throw new Error(`${flag}: expected whole seconds like 10s or 2m, got "${v}"`);
  const n = Number(m[1]) * (m[2] === 'm' ? 60 : 1);
  if (n < 1) throw new Error(`${flag}: must be at least 1s`);
  return n;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got "${v}"`);
  return n;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      duration: { type: 'string' },
      'latency-duration': { type: 'string' },
      warmup: { type: 'string' },
      repeat: { type: 'string' },
      quick: { type: 'boolean', default: false },
      connections: { type: 'string' },
      'h2-clients': { type: 'string' },
      'h2-streams': { type: 'string' },
      rate: { type: 'string' },
      rows: { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const quick = values.quick === true;
  const duration = seconds('--duration', values.duration ?? (quick ? '3s' : '10s'));
  const rate = positiveInt('--rate', values.rate ?? '1000');
  if (rate % 10 !== 0) throw new Error('--rate: must be a multiple of 10 (10 workers share it)');
  return {
    duration,
    latencyDuration: values['latency-duration'] !== undefined ? seconds('--latency-duration', values['latency-duration']) : duration,
    warmup: seconds('--warmup', values.warmup ?? (quick ? '1s' : '2s')),
    repeat: positiveInt('--repeat', values.repeat ?? '3'),
    out: values.out ?? 'bench-results/proxy.json',
    connections: positiveInt('--connections', values.connections ?? '64'),
    h2Clients: positiveInt('--h2-clients', values['h2-clients'] ?? '8'),
    h2Streams: positiveInt('--h2-streams', values['h2-streams'] ?? '8'),
    rate,
    pin: values['no-pin'] !== true,
    rows: (values.rows ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    help: values.help === true,
  };
}
