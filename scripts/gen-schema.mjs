#!/usr/bin/env node
// `npm run schema`: build, then write the published JSON Schema of the resources to
// docs/schema/ (resource.json + one file per kind; stale *.json files there are removed).
// src/config/json-schema-published.test.ts fails when the files differ from the code.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('gen-schema: the build (tsc) failed; schema not written');
  process.exit(build.status || 1);
}
const { SCHEMA_DIR, publishedSchemaFiles } = await import(pathToFileURL(join(root, 'dist/src/config/json-schema-publish.js')).href);
const dir = join(root, SCHEMA_DIR);
mkdirSync(dir, { recursive: true });
const files = publishedSchemaFiles();
let changed = 0;
for (const name of readdirSync(dir)) {
  if (name.endsWith('.json') && !files.has(name)) {
    rmSync(join(dir, name));
    console.log(`removed ${SCHEMA_DIR}/${name}`);
    changed++;
  }
}
for (const [name, text] of files) {
  const path = join(dir, name);
  let old;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === text) continue;
  writeFileSync(path, text);
  console.log(`wrote ${SCHEMA_DIR}/${name}`);
  changed++;
}
console.log(changed === 0 ? `${SCHEMA_DIR}: up to date (${files.size} files)` : `${SCHEMA_DIR}: ${changed} file(s) changed`);
