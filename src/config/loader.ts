/**
 * @module config/loader
 * Configuration from disk: one file, or every *.yaml / *.yml / *.json file of a directory
 * (in name order). loadConfig() reads, decodes and compiles; watchConfig() does it again
 * whenever the content changes. Expected failures — a missing file, a syntax error, an
 * invalid resource — are error results naming the file, never exceptions.
 */
import { readFileSync, readdirSync, statSync, watch } from 'node:fs';
import type { Dirent, FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, extname, join } from 'node:path';
import { fail } from '../errors.js';
import type { Decoded, FieldError } from '../errors.js';
import { compileSnapshot } from './compile.js';
import { decodeResources } from './decode.js';
import type { Resource } from './resources.js';
import type { Snapshot } from './snapshot.js';

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
const DEFAULT_DEBOUNCE_MS = 100;

interface SourceFile {
  path: string;
  text: string;
}

/** What was read: the files, or why nothing could be. `fingerprint` identifies the content. */
type ReadResult = { files: SourceFile[]; errors: FieldError[]; fingerprint: string };

export async function loadConfig(pathOrDir: string): Promise<Decoded<Snapshot>> {
  return compileFiles(await readSources(pathOrDir), pathOrDir);
}

/** Decode every file, then compile them together. */
function compileFiles(read: ReadResult, source: string): Decoded<Snapshot> {
  if (read.errors.length > 0) return fail(read.errors);
  const resources: Resource[] = [];
  const errors: FieldError[] = [];
  for (const f of read.files) {
    const d = decodeResources(f.text, f.path);
    if (d.ok) resources.push(...d.value);
    else errors.push(...d.errors);
  }
  if (errors.length > 0) return fail(errors);
  return compileSnapshot(resources, source);
}

/** Read the file, or the config files of the directory; problems become entries too. */
async function readSources(pathOrDir: string): Promise<ReadResult> {
  let isDir: boolean;
  try {
    isDir = (await stat(pathOrDir)).isDirectory();
  } catch (err) {
    return finish([unreadable(pathOrDir, err)]);
  }
  if (!isDir) return finish([await readOne(pathOrDir)]);
  let names: string[];
  try {
    names = configFileNames(await readdir(pathOrDir, { withFileTypes: true }));
  } catch (err) {
    return finish([unlistable(pathOrDir, err)]);
  }
  if (names.length === 0) return finish([noConfigFiles(pathOrDir)]);
  return finish(await Promise.all(names.map((n) => readOne(join(pathOrDir, n)))));
}

/** The same as readSources, synchronously: the watcher's baseline must not race its events. */
function readSourcesSync(pathOrDir: string): ReadResult {
  let isDir: boolean;
  try {
    isDir = statSync(pathOrDir).isDirectory();
  } catch (err) {
    return finish([unreadable(pathOrDir, err)]);
  }
  const readSync = (path: string): SourceFile | FieldError => {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch (err) {
      return unreadable(path, err);
    }
  };
  if (!isDir) return finish([readSync(pathOrDir)]);
  let names: string[];
  try {
    names = configFileNames(readdirSync(pathOrDir, { withFileTypes: true }));
  } catch (err) {
    return finish([unlistable(pathOrDir, err)]);
  }
  if (names.length === 0) return finish([noConfigFiles(pathOrDir)]);
  return finish(names.map((n) => readSync(join(pathOrDir, n))));
}

/** Config files of a directory: by extension, not hidden, files or symlinks (ConfigMap mounts). */
function configFileNames(entries: Dirent[]): string[] {
  return entries
    .filter((d) => (d.isFile() || d.isSymbolicLink()) && !d.name.startsWith('.') && CONFIG_EXTENSIONS.has(extname(d.name).toLowerCase()))
    .map((d) => d.name)
    .sort();
}

function finish(entries: (SourceFile | FieldError)[]): ReadResult {
  const hash = createHash('sha256');
  const files: SourceFile[] = [];
  const errors: FieldError[] = [];
  for (const e of entries) {
    if ('text' in e) {
      files.push(e);
      hash.update(`${e.path}\0${e.text}\0`);
    } else {
      errors.push(e);
      hash.update(`!${e.source ?? ''}\0${e.message}\0`);
    }
  }
  return { files, errors, fingerprint: hash.digest('hex') };
}

async function readOne(path: string): Promise<SourceFile | FieldError> {
  try {
    return { path, text: await readFile(path, 'utf8') };
  } catch (err) {
    return unreadable(path, err);
  }
}

const unreadable = (path: string, err: unknown): FieldError => ({ source: path, path: '', message: `cannot read: ${ioMessage(err)}` });
const unlistable = (path: string, err: unknown): FieldError => ({ source: path, path: '', message: `cannot list directory: ${ioMessage(err)}` });
const noConfigFiles = (path: string): FieldError => ({ source: path, path: '', message: 'no *.yaml, *.yml or *.json files in this directory' });

function ioMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file or directory';
  if (e?.code === 'EACCES') return 'permission denied';
  if (e?.code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message : String(err);
}

// ---- watching -----------------------------------------------------------------------------

export interface WatchOptions {
  /** Quiet time after the last file event before reloading (default 100 ms). */
  debounceMs?: number;
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
        const result = compileFiles(read, path);
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

function isDirectorySync(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
