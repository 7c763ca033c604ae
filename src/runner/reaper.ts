/**
 * @module runner/reaper
 * A tiny watchdog process started by the runner (children.ts): it reads `+PID` / `-PID`
 * lines on stdin — the process groups the runner started and those that ended — and when
 * stdin closes because the runner is gone (even by SIGKILL), it stops every group still
 * listed: SIGTERM, then SIGKILL after a grace period. Not a CLI verb; run as
 * `node dist/src/runner/reaper.js`.
 */
const groups = new Set<number>();
let buffered = '';

function signalAll(sig: NodeJS.Signals): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, sig);
    } catch {
      groups.delete(pid); // already gone
    }
  }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  const lines = buffered.split('\n');
  buffered = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^([+-])(\d+)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === '+') groups.add(Number(m[2]));
    else groups.delete(Number(m[2]));
  }
});
process.stdin.on('end', () => {
  if (groups.size === 0) process.exit(0);
  signalAll('SIGTERM');
  setTimeout(() => {
    signalAll('SIGKILL');
    process.exit(0);
  }, 5000);
});
// The runner's Ctrl-C must not reach this process first.
process.on('SIGINT', () => undefined);
