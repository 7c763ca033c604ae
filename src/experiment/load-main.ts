#!/usr/bin/env node
/**
 * @module experiment/load-main
 * The load generator as a program, run inside the experiment's client namespace:
 *   node load-main.js --target URL --ls-rate R --bulk N --bulk-bytes B --warmup S --duration S
 * Prints one JSON line: a LoadReport (experiment/load.ts).
 */
import { parseArgs } from 'node:util';
import { runLoad } from './load.js';

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    'ls-rate': { type: 'string', default: '50' },
    bulk: { type: 'string', default: '0' },
    'bulk-bytes': { type: 'string', default: '65536' },
    warmup: { type: 'string', default: '0' },
    duration: { type: 'string', default: '10' },
    timeout: { type: 'string', default: '15000' },
  },
});
if (!values.target) {
  process.stderr.write('usage: load-main.js --target URL [--ls-rate R] [--bulk N] [--bulk-bytes B] [--warmup S] [--duration S]\n');
  process.exit(2);
}
const report = await runLoad({
  target: values.target,
  lsRate: Number(values['ls-rate']),
  bulkConcurrency: Number(values.bulk),
  bulkBytes: Number(values['bulk-bytes']),
  warmupS: Number(values.warmup),
  durationS: Number(values.duration),
  timeoutMs: Number(values.timeout),
});
process.stdout.write(`${JSON.stringify(report)}\n`);
process.exit(0);
