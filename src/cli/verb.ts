/**
 * @module cli/verb
 * The CLI verb contract. A verb declares its options (node:util parseArgs style) and help;
 * verbs register by name in registry.ts.
 */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  description: string;
}

export interface Verb {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** Returns the process exit code. */
  run(args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }): Promise<number>;
}
