/**
 * @module cli/registry
 * CLI verbs by name. Add a verb: write src/cli/verbs/<name>.ts exporting a Verb, and list it here.
 */
import type { Verb } from './verb.js';
import { applyVerb } from './verbs/apply.js';
import { bootstrapVerb } from './verbs/bootstrap.js';
import { checkVerb } from './verbs/check.js';
import { controlVerb } from './verbs/control.js';
import { deleteVerb } from './verbs/delete.js';
import { demoVerb } from './verbs/demo.js';
import { experimentVerb } from './verbs/experiment.js';
import { gatewayVerb } from './verbs/gateway.js';
import { getVerb } from './verbs/get.js';
import { netVerb } from './verbs/net.js';
import { proxyVerb } from './verbs/proxy.js';
import { runVerb } from './verbs/run.js';
import { statusVerb } from './verbs/status.js';
import { upVerb } from './verbs/up.js';
import { validateVerb } from './verbs/validate.js';

export const verbs: readonly Verb[] = [applyVerb, bootstrapVerb, checkVerb, controlVerb, deleteVerb, demoVerb, experimentVerb, gatewayVerb, getVerb, netVerb, proxyVerb, runVerb, statusVerb, upVerb, validateVerb];

export function findVerb(name: string): Verb | undefined {
  return verbs.find((v) => v.name === name);
}
