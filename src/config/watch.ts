/**
 * @module config/watch
 * Reload configuration when the files change. Reading and change detection happen here;
 * turning the files into a Snapshot is the `load` function's job (config/loader.ts by default).
 */
import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { fail } from '../errors.js';
import type { Decoded } from '../errors.js';
import type { Snapshot } from './snapshot.js';
import { ioMessage, isDirectorySync, readSources, readSourcesSync } from './sources.js';

const DEFAULT_DEBOUNCE_MS = 100;

export interface WatchOptions {
  /** Quiet time after the last file event before reloading (default 100 ms). */
  debounceMs?: number;
  /** Turn the path into a Snapshot (default: config/loader.ts loadConfig, in-process). */
  load?: (path: string) => Promise<Decoded<Snapshot>>;
}

export interface ConfigWatcher {
  close(): void;
}

/**
 * Call `onChange` with a freshly loaded result whenever the content under `path` changes
 * (a file, or a directory of files). The directory is watched rather than the file, so
 * editors that save by writing a new file and renaming it over the old one (and Kubernetes
 * ConfigMap symlink swaps) are seen. Events are debounced; a reload whose content equals
 * the last one seen (initially: the content at the time of the call) is not reported.
 */
export function watchConfig(
  path: string,
  onChange: (result: Decoded<Snapshot>) => void,
  options: WatchOptions = {},
): ConfigWatcher {
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const load = options.load ?? (async (p: string) => (await import('./loader.js')).loadConfig(p));
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  // Read synchronously, so a change made right after this call is compared with the
  // content as it was at the call, never with itself.
  let last = readSourcesSync(path).fingerprint;

  const check = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        const read = await readSources(path);
        if (closed || read.fingerprint === last) continue;
        last = read.fingerprint;
        const result = read.errors.length > 0 ? fail(read.errors) : await load(path);
        if (!closed) onChange(result);
      } while (again && !closed);
    } finally {
      running = false;
    }
  };

  const schedule = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void check();
    }, debounceMs);
  };

  let watcher: FSWatcher | undefined;
  const dir = isDirectorySync(path) ? path : dirname(path);
  try {
    watcher = watch(dir, { persistent: false }, schedule);
    watcher.on('error', (err) => {
      if (closed) return;
      onChange(fail([{ source: path, path: '', message: `stopped watching: ${ioMessage(err)}` }]));
    });
  } catch (err) {
    queueMicrotask(() => {
      if (!closed) onChange(fail([{ source: path, path: '', message: `cannot watch: ${ioMessage(err)}` }]));
    });
  }

  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}

