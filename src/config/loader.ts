/**
 * @module config/loader
 * Configuration from disk: one file, or every *.yaml / *.yml / *.json file of a directory
 * (in name order). loadConfig() reads, decodes and compiles (loadResources() stops before compiling);
 * watch.ts repeats it on change. Expected failures — a missing file, a syntax error, an
 * invalid resource — are error results naming the file, never exceptions.
 */
import { fail, ok } from '../errors.js';
import type { Decoded, FieldError } from '../errors.js';
import { compileSnapshot } from './compile.js';
import { decodeResources } from './decode.js';
import type { Resource } from './resources.js';
import type { Snapshot } from './snapshot.js';
import { readSources } from './sources.js';

export async function loadConfig(pathOrDir: string): Promise<Decoded<Snapshot>> {
  const resources = await loadResources(pathOrDir);
  return resources.ok ? compileSnapshot(resources.value, pathOrDir) : resources;
}

/** Read and decode every file (not compiled): all resources, or every error of every file. */
export async function loadResources(pathOrDir: string): Promise<Decoded<Resource[]>> {
  const read = await readSources(pathOrDir);
  if (read.errors.length > 0) return fail(read.errors);
  const resources: Resource[] = [];
  const errors: FieldError[] = [];
  for (const f of read.files) {
    const d = decodeResources(f.text, f.path);
    if (d.ok) resources.push(...d.value);
    else errors.push(...d.errors);
  }
  return errors.length > 0 ? fail(errors) : ok(resources);
}
