/**
 * @module proxy/filters/local-rate-limit
 * `local-rate-limit`: a token bucket local to this proxy, shared by every stream of the route
 * (one bucket per built config).
 *
 * ```yaml
 * - name: local-rate-limit
 *   config: { maxTokens: 100, tokensPerFill: 100, fillIntervalMs: 1000, status: 429 }
 * ```
 *
 * The bucket starts full with `maxTokens`. Every `fillIntervalMs` it gains `tokensPerFill`
 * (capped at `maxTokens`), on a fixed cadence anchored at the first request. Refills are
 * computed lazily from cb.now() when a request arrives; there are no timers. Each request
 * takes one token; without one it gets a local reply: `status` (default 429),
 * `x-strata-ratelimited: true`, `retry-after` = whole seconds until the next fill (ceil, at
 * least 1) and code STRATA_RATE_LIMITED.
 */
import type { Decoded, FieldError } from '../../errors.js';
import { fail, ok } from '../../errors.js';
import type { FilterFactory, HttpFilter } from './filter.js';
import { registerFilter } from './registry.js';
import { expectInteger, expectObject, fieldPath, own, requireField } from './decode-helpers.js';

export const LOCAL_RATE_LIMIT_FILTER = 'local-rate-limit';

export interface LocalRateLimitConfig {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
  /** Status of the local reply, 400..599. */
  readonly status: number;
}

export const DEFAULT_RATE_LIMIT_STATUS = 429;

const FIELDS = ['maxTokens', 'tokensPerFill', 'fillIntervalMs', 'status'] as const;
const REQUIRED = ['maxTokens', 'tokensPerFill', 'fillIntervalMs'] as const;

export function decodeLocalRateLimit(raw: unknown, path: string): Decoded<LocalRateLimitConfig> {
  const errors: FieldError[] = [];
  const obj = expectObject(raw, path, FIELDS, errors);
  if (obj === undefined) return fail(errors);
  const [maxTokens, tokensPerFill, fillIntervalMs] = REQUIRED.map((key) => {
    const v = requireField(obj, key, path, errors);
    return v === undefined ? undefined : expectInteger(v, fieldPath(path, key), { min: 1 }, errors);
  });
  const rawStatus = own(obj, 'status');
  const status =
    rawStatus === undefined
      ? DEFAULT_RATE_LIMIT_STATUS
      : expectInteger(rawStatus, fieldPath(path, 'status'), { min: 400, max: 599 }, errors);
  if (
    errors.length > 0 ||
    maxTokens === undefined ||
    tokensPerFill === undefined ||
    fillIntervalMs === undefined ||
    status === undefined
  ) {
    return fail(errors);
  }
  return ok({ maxTokens, tokensPerFill, fillIntervalMs, status });
}

/** A lazily refilled token bucket on a caller-supplied millisecond clock. */
export class TokenBucket {
  private tokens: number;
  /** Time of the last fill boundary; NaN until the first take(). */
  private lastFill = Number.NaN;

  constructor(
    private readonly maxTokens: number,
    private readonly tokensPerFill: number,
    private readonly fillIntervalMs: number,
  ) {
    this.tokens = maxTokens;
  }

  /** Takes one token at time `now`: returns 0 on success, else the ms until the next fill. */
  take(now: number): number {
    if (Number.isNaN(this.lastFill)) {
      this.lastFill = now;
    } else if (now - this.lastFill >= this.fillIntervalMs) {
      const fills = Math.floor((now - this.lastFill) / this.fillIntervalMs);
      this.tokens = Math.min(this.maxTokens, this.tokens + fills * this.tokensPerFill);
      this.lastFill += fills * this.fillIntervalMs;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return this.lastFill + this.fillIntervalMs - now;
  }
}

export function buildLocalRateLimit(config: LocalRateLimitConfig): () => HttpFilter {
  const bucket = new TokenBucket(config.maxTokens, config.tokensPerFill, config.fillIntervalMs);
  const { status } = config;
  const filter: HttpFilter = Object.freeze({
    onRequestHeaders(_req, cb) {
      const waitMs = bucket.take(cb.now());
      if (waitMs === 0) return 'continue';
      const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
      cb.respond(
        status,
        'local rate limit exceeded\n',
        { 'x-strata-ratelimited': 'true', 'retry-after': String(retryAfter) },
        'STRATA_RATE_LIMITED',
      );
      return 'stop';
    },
  } satisfies HttpFilter);
  return () => filter;
}

export const localRateLimitFilter: FilterFactory<LocalRateLimitConfig> = {
  name: LOCAL_RATE_LIMIT_FILTER,
  decode: decodeLocalRateLimit,
  build: buildLocalRateLimit,
};

export function setup(): void {
  registerFilter(localRateLimitFilter);
}
