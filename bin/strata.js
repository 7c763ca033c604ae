#!/usr/bin/env -S node --max-semi-space-size=2
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(`strata: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
