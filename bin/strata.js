#!/usr/bin/env -S node --max-semi-space-size=2
import { main } from '../dist/src/cli/main.js';

// A reader that went away (`strata get … | head`) is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err && err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

// A verb's promise resolves when it is done (a server after its drain): exit then, once
// stdout and stderr are flushed, even if a stray timer or socket is still around.
const exit = (code) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
main(process.argv.slice(2)).then(
  (code) => exit(typeof code === 'number' ? code : 0),
  (err) => {
    console.error(`strata: ${err instanceof Error ? err.message : String(err)}`);
    exit(1);
  },
);
