/**
 * @module bench/lib/upstream
 * Starts the benchmark upstream (`dist/bench/upstream.js`) as its own process and waits for its
 * `ready <port>` line.
 */
import { fileURLToPath } from 'node:url';
import { start, stop, tail, type Child, type CpuList } from './procs.js';
import { freePorts, waitUntil } from './ports.js';

const script = fileURLToPath(new URL('../upstream.js', import.meta.url));

export interface Upstream {
  mode: 'http1' | 'h2c';
  port: number;
  child: Child;
  stop(): Promise<void>;
}

export async function startUpstream(mode: 'http1' | 'h2c', cpus: CpuList): Promise<Upstream> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  const child = start(`upstream-${mode}`, process.execPath, [script, '--port', String(port), '--mode', mode], { cpus });
  const why = await waitUntil(async () => child.stdout().includes(`ready ${port}`), 10_000, () => child.done());
  if (why !== 'ready') {
    await stop(child);
    throw new Error(`upstream (${mode}) did not start (${why}): ${tail(child.stderr())}`);
  }
  return { mode, port, child, stop: () => stop(child) };
}
