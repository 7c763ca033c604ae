#!/usr/bin/env node
/**
 * @module experiment/sidecar-main
 * `strata proxy`, optionally with the kernel layer switched on: with `--mark` first it installs
 * the socket-marking implementation (net/marking.ts: DSCP, SO_PRIORITY and TCP congestion
 * control of each class on the sidecar's per-class upstream sockets) before running the proxy
 * verb with the remaining arguments. The experiment runs every sidecar through this entry so
 * that only its all-layers configuration marks sockets.
 *   node sidecar-main.js [--mark] --config FILE [proxy options]
 */
import { main } from '../cli/main.js';
import { installSocketMarking } from '../net/marking.js';

const args = process.argv.slice(2);
const mark = args[0] === '--mark';
if (mark && !installSocketMarking()) {
  process.stderr.write('sidecar-main: socket marking is not available here (koffi / setsockopt)\n');
  process.exit(1);
}
const code = await main(['proxy', ...(mark ? args.slice(1) : args)]);
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
