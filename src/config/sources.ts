/**
 * @module config/sources
 * Reading configuration files: one file, or every *.yaml / *.yml / *.json file of a
 * directory (in name order), with a fingerprint of the content. Unreadable files are
 * error entries naming the file, never exceptions. No parsing here, so the watcher can run
 * without loading the decoders.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { extname, join } from 'node:path';
import type { FieldError } from '../errors.js';

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface SourceFile {
  path: string;
  text: string;
}

/** What was read: the files, or why nothing could be. `fingerprint` identifies the content. */
export type ReadResult = { files: SourceFile[]; errors: FieldError[]; fingerprint: string };

/** Read the file, or the config files of the directory; problems become entries too. */
export async function readSources(pathOrDir: string): Promise<ReadResult> {
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
export function readSourcesSync(pathOrDir: string): ReadResult {
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

export function ioMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') return 'no such file or directory';
  if (e?.code === 'EACCES') return 'permission denied';
  if (e?.code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message : String(err);
}


export function isDirectorySync(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
