/**
 * @module propagate/register
 * The preload entry: `node --import strata/propagate app.js` (or `--import
 * /path/to/dist/src/propagate/register.js`) carries x-strata-priority, traceparent/tracestate
 * and baggage from each inbound request of an unmodified Node app to the outbound requests it
 * causes (http, https, fetch, undici). See install.ts and context.ts.
 */
import { installPropagation } from './install.js';

installPropagation();
