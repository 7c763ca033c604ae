/**
 * @module runner/signals
 * Ctrl-C / SIGTERM handling of the runner verbs: the first signal stops gracefully, a second
 * one kills every child immediately.
 */
import { killAllChildren } from './children.js';

/** Call `graceful` on the first SIGINT/SIGTERM, kill all children and `hard` on the next. Returns an unhook. */
export function onStopSignals(graceful: (signal: NodeJS.Signals) => void, hard: () => void): () => void {
  let count = 0;
  const handler = (signal: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      graceful(signal);
      return;
    }
    process.stderr.write(`second ${signal}: killing every child process now\n`);
    killAllChildren();
    hard();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
