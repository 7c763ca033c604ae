/**
 * @module config/loader
 * Configuration from disk: one file, or every *.yaml / *.yml / *.json file of a directory
 * (in name order). loadConfig() reads, decodes and compiles; watch.ts repeats it on change. Expected failures — a missing file, a syntax error, an
 * invalid resource — are error results naming the file, never exceptions.
 */
import { fail } from '../errors.js';
import type { Decoded, FieldError } from '../errors.js';
import { compileSnapshot } from './compile.js';
import { decodeResources } from './decode.js';
import type { Resource } from './resources.js';
import type { Snapshot } from './snapshot.js';
import type { ReadResult } from './sources.js';
import { readSources } from './sources.js';

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

