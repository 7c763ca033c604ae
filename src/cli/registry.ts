/**
 * @module cli/registry
 * CLI verbs by name. Add a verb: write src/cli/verbs/<name>.ts exporting a Verb, and list it here.
 */
import type { Verb } from './verb.js';
import { bootstrapVerb } from './verbs/bootstrap.js';
import { demoVerb } from './verbs/demo.js';
import { proxyVerb } from './verbs/proxy.js';
import { validateVerb } from './verbs/validate.js';

export const verbs: readonly Verb[] = [bootstrapVerb, demoVerb, proxyVerb, validateVerb];

export function findVerb(name: string): Verb | undefined {
  return verbs.find((v) => v.name === name);
}
