/**
 * @module cli/main
 * `strata <verb> [options]`: parses arguments for the verb and runs it.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findVerb, verbs } from './registry.js';
import type { Verb } from './verb.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

export function mainHelp(): string {
  const width = Math.max(...verbs.map((v) => v.name.length));
  return [
    'strata — a service mesh that carries request priority across every layer',
    '',
    'Usage: strata <command> [options]',
    '',
    'Commands:',
    ...verbs.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`),
    '',
    'Run `strata <command> --help` for the options of a command.',
    '',
  ].join('\n');
}

export function verbHelp(v: Verb): string {
  const lines = [`Usage: ${v.usage}`, '', v.summary, '', 'Options:'];
  const entries = Object.entries(v.options);
  const flag = (name: string, o: Verb['options'][string]): string => `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ' VALUE' : ''}`;
  const width = Math.max(12, ...entries.map(([n, o]) => flag(n, o).length));
  for (const [name, o] of entries) {
    lines.push(`  ${flag(name, o).padEnd(width)}  ${o.description}${o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : ''}`);
  }
  lines.push(`  ${'-h, --help'.padEnd(width)}  show this help`, '');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`strata ${version()}\n`);
    return 0;
  }
  const verb = findVerb(name);
  if (!verb) {
    process.stderr.write(`strata: unknown command '${name}'\n\n${mainHelp()}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...verb.options, help: { type: 'boolean', short: 'h' } } as Parameters<typeof parseArgs>[0] extends infer C ? C extends { options?: infer O } ? O : never : never,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`strata ${verb.name}: ${(err as Error).message}\n\n${verbHelp(verb)}`);
    return 2;
  }
  if (parsed.values['help']) {
    process.stdout.write(verbHelp(verb));
    return 0;
  }
  return verb.run({ values: parsed.values as Record<string, string | boolean | string[] | undefined>, positionals: parsed.positionals });
}
