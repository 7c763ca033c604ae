import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RetryOn, RetrySpec } from '../../config/snapshot.js';
import type { AttemptOutcome } from './retry.js';
import { DEFAULT_RETRIABLE_STATUSES, isGatewayError, isIdempotent, retryOnMatches, shouldRetry } from './retry.js';

const ALL_ON: RetryOn[] = ['connect-failure', 'reset', '5xx', 'gateway-error', 'retriable-status'];

function spec(over: Partial<RetrySpec> = {}): RetrySpec {
  return {
    attempts: 2,
    on: ['5xx'],
    perTryTimeoutMs: 0,
    backoff: { baseMs: 25, maxMs: 250 },
    retryNonIdempotent: false,
    ...over,
  };
}

const connectFailure: AttemptOutcome = { kind: 'connect-failure' };
const reset: AttemptOutcome = { kind: 'reset' };
const timeout: AttemptOutcome = { kind: 'timeout' };
const status = (s: number): AttemptOutcome => ({ kind: 'response', status: s });

test('isIdempotent: the RFC 9110 idempotent methods, case-sensitive', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']) assert.equal(isIdempotent(m), true, m);
  for (const m of ['POST', 'PATCH', 'CONNECT', 'get', 'Put', '', 'PURGE']) assert.equal(isIdempotent(m), false, m);
});

test('isGatewayError: local-origin failures and 502/503/504 only', () => {
  assert.equal(isGatewayError(connectFailure), true);
  assert.equal(isGatewayError(reset), true);
  assert.equal(isGatewayError(timeout), true);
  for (const s of [502, 503, 504]) assert.equal(isGatewayError(status(s)), true, String(s));
  for (const s of [200, 404, 429, 500, 501, 505, 599]) assert.equal(isGatewayError(status(s)), false, String(s));
});

test('retryOnMatches: the documented condition × outcome matrix', () => {
  const outcomes: [string, AttemptOutcome][] = [
    ['connect-failure', connectFailure],
    ['reset', reset],
    ['timeout', timeout],
    ['200', status(200)],
    ['404', status(404)],
    ['429', status(429)],
    ['500', status(500)],
    ['501', status(501)],
    ['502', status(502)],
    ['503', status(503)],
    ['504', status(504)],
    ['505', status(505)],
  ];
  // Expected matches per condition, by outcome label.
  const expected: Record<RetryOn, string[]> = {
    'connect-failure': ['connect-failure'],
    reset: ['connect-failure', 'reset', 'timeout'],
    '5xx': ['connect-failure', 'reset', 'timeout', '500', '501', '502', '503', '504', '505'],
    'gateway-error': ['connect-failure', 'reset', 'timeout', '502', '503', '504'],
    'retriable-status': ['503'],
  };
  for (const on of ALL_ON) {
    for (const [label, outcome] of outcomes) {
      assert.equal(retryOnMatches(on, outcome), expected[on].includes(label), `${on} × ${label}`);
    }
  }
});

test('retriable-status: 503 by default, a caller-supplied list replaces it', () => {
  assert.deepEqual(DEFAULT_RETRIABLE_STATUSES, [503]);
  const opts = { retriableStatuses: [409, 429] };
  assert.equal(retryOnMatches('retriable-status', status(409), opts), true);
  assert.equal(retryOnMatches('retriable-status', status(429), opts), true);
  assert.equal(retryOnMatches('retriable-status', status(503), opts), false);
  assert.equal(retryOnMatches('retriable-status', reset, opts), false);
  const s = spec({ on: ['retriable-status'] });
  assert.equal(shouldRetry(s, 'GET', status(429), 0), false);
  assert.equal(shouldRetry(s, 'GET', status(429), 0, opts), true);
});

test('shouldRetry: attempts exhausted', () => {
  const s = spec({ attempts: 2, on: ['5xx'] });
  assert.equal(shouldRetry(s, 'GET', status(500), 0), true);
  assert.equal(shouldRetry(s, 'GET', status(500), 1), true);
  assert.equal(shouldRetry(s, 'GET', status(500), 2), false);
  assert.equal(shouldRetry(s, 'GET', status(500), 7), false);
  assert.equal(shouldRetry(spec({ attempts: 0 }), 'GET', status(500), 0), false);
  assert.equal(shouldRetry(s, 'GET', status(500), Number.NaN), false);
});

test('shouldRetry: non-idempotent methods only when retryNonIdempotent', () => {
  const strict = spec({ on: ALL_ON });
  const lax = spec({ on: ALL_ON, retryNonIdempotent: true });
  for (const m of ['POST', 'PATCH']) {
    assert.equal(shouldRetry(strict, m, connectFailure, 0), false, m);
    assert.equal(shouldRetry(lax, m, connectFailure, 0), true, m);
  }
  assert.equal(shouldRetry(strict, 'PUT', connectFailure, 0), true);
});

test('shouldRetry: an outcome no condition covers is final', () => {
  assert.equal(shouldRetry(spec({ on: ['connect-failure'] }), 'GET', reset, 0), false);
  assert.equal(shouldRetry(spec({ on: ['gateway-error'] }), 'GET', status(500), 0), false);
  assert.equal(shouldRetry(spec({ on: ALL_ON }), 'GET', status(404), 0), false);
  assert.equal(shouldRetry(spec({ on: [] }), 'GET', connectFailure, 0), false);
  assert.equal(shouldRetry(spec({ on: ['connect-failure', 'retriable-status'] }), 'GET', status(503), 0), true);
});

const outcomeArb: fc.Arbitrary<AttemptOutcome> = fc.oneof(
  fc.constant(connectFailure),
  fc.constant(reset),
  fc.constant(timeout),
  fc.integer({ min: 100, max: 599 }).map(status),
);
const specArb: fc.Arbitrary<RetrySpec> = fc.record({
  attempts: fc.integer({ min: 0, max: 5 }),
  on: fc.subarray(ALL_ON),
  perTryTimeoutMs: fc.nat(1000),
  backoff: fc.record({ baseMs: fc.nat(100), maxMs: fc.nat(1000) }),
  retryNonIdempotent: fc.boolean(),
});
const methodArb = fc.constantFrom('GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE', 'POST', 'PATCH', 'CONNECT', 'get');

test('property: never retries a non-idempotent method unless allowed', () => {
  fc.assert(
    fc.property(specArb, methodArb, outcomeArb, fc.integer({ min: 0, max: 10 }), (s, m, o, a) => {
      if (!isIdempotent(m) && !s.retryNonIdempotent) return !shouldRetry(s, m, o, a);
      return true;
    }),
  );
});

test('property: never exceeds the configured attempts', () => {
  fc.assert(
    fc.property(specArb, methodArb, outcomeArb, (s, m, o) => {
      // Simulate a request that keeps failing the same way: count the retries granted.
      let retries = 0;
      while (shouldRetry(s, m, o, retries)) retries++;
      return retries <= s.attempts && (retries === 0 || retries === s.attempts);
    }),
  );
});

test('property: retries exactly when some listed condition matches (within limits)', () => {
  fc.assert(
    fc.property(specArb, methodArb, outcomeArb, fc.integer({ min: 0, max: 10 }), (s, m, o, a) => {
      const allowed = a < s.attempts && (s.retryNonIdempotent || isIdempotent(m));
      const matches = s.on.some((on) => retryOnMatches(on, o));
      return shouldRetry(s, m, o, a) === (allowed && matches);
    }),
  );
});
