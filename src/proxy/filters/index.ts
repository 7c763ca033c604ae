/**
 * @module proxy/filters
 * The built-in HTTP filters. Importing this module registers them all; lookups go through
 * the registry. To add a filter: write `<name>.ts` exporting setup(), list it below, and run
 * the conformance suite from its test.
 */
import { setup as setupFault } from './fault.js';
import { setup as setupHeaderMutation } from './header-mutation.js';
import { setup as setupLocalRateLimit } from './local-rate-limit.js';

export { filterNames, getFilter } from './registry.js';

const BUILTIN_SETUPS: ReadonlyArray<() => void> = [setupFault, setupHeaderMutation, setupLocalRateLimit];

let registered = false;

/** Registers every built-in filter; later calls do nothing. */
export function registerBuiltinFilters(): void {
  if (registered) return;
  registered = true;
  for (const setup of BUILTIN_SETUPS) setup();
}

registerBuiltinFilters();
