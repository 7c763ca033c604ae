import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyErrorCode } from '../../errors.js';
import type { FilterCallbacks, HttpFilter, RequestHead } from './filter.js';
import { runFilterConformance } from './conformance.js';
import { registerBuiltinFilters } from './index.js';
import type { LocalRateLimitConfig } from './local-rate-limit.js';
import { localRateLimitFilter, TokenBucket } from './local-rate-limit.js';

registerBuiltinFilters();

runFilterConformance(
  'local-rate-limit',
  // Fewer tokens than the suite's streams, so both outcomes are exercised.
  { maxTokens: 5, tokensPerFill: 1, fillIntervalMs: 1000 },
  [
    { config: { tokensPerFill: 1, fillIntervalMs: 1000 }, path: 'maxTokens' },
    { config: { maxTokens: 0, tokensPerFill: 1, fillIntervalMs: 1000 }, path: 'maxTokens' },
    { config: { maxTokens: 2.5, tokensPerFill: 1, fillIntervalMs: 1000 }, path: 'maxTokens' },
    { config: { maxTokens: '10', tokensPerFill: 1, fillIntervalMs: 1000 }, path: 'maxTokens' },
    { config: { maxTokens: 10, tokensPerFill: 0, fillIntervalMs: 1000 }, path: 'tokensPerFill' },
    { config: { maxTokens: 10, tokensPerFill: 1 }, path: 'fillIntervalMs' },
    { config: { maxTokens: 10, tokensPerFill: 1, fillIntervalMs: -1 }, path: 'fillIntervalMs' },
    { config: { maxTokens: 10, tokensPerFill: 1, fillIntervalMs: 1000, status: 200 }, path: 'status' },
    { config: { maxTokens: 10, tokensPerFill: 1, fillIntervalMs: 1000, status: 600 }, path: 'status' },
    { config: { maxTokens: 10, tokensPerFill: 1, fillIntervalMs: 1000, burst: 3 }, path: 'burst' },
  ],
);

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string> | undefined;
  code: ProxyErrorCode | undefined;
}

/** Streams on one built filter, with a hand-driven clock. */
function harness(raw: unknown): { send: () => Reply | 'passed'; clock: { t: number } } {
  const r = localRateLimitFilter.decode(raw, 'f');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  const newStream = localRateLimitFilter.build(r.value);
  const clock = { t: 10_000 };
  const send = (): Reply | 'passed' => {
    const filter: HttpFilter = newStream();
    let reply: Reply | undefined;
    const cb: FilterCallbacks = {
      respond: (status, body, headers, code) => {
        assert.equal(reply, undefined, 'one reply per stream');
        reply = { status, body, headers, code };
      },
      resume: () => assert.fail('the rate limiter never pauses'),
      now: () => clock.t,
      routeName: 'r',
      serviceName: 's',
    };
    const req: RequestHead = { method: 'GET', authority: 'svc', path: '/', headers: {} };
    const status = filter.onRequestHeaders?.(req, cb);
    if (status === 'continue') {
      assert.equal(reply, undefined);
      return 'passed';
    }
    assert.equal(status, 'stop');
    assert.ok(reply, "'stop' without a reply");
    return reply;
  };
  return { send, clock };
}

function sendN(send: () => Reply | 'passed', n: number): Array<Reply | 'passed'> {
  return Array.from({ length: n }, send);
}

test('maxTokens requests pass, the next one is limited', () => {
  const { send } = harness({ maxTokens: 3, tokensPerFill: 1, fillIntervalMs: 1000 });
  assert.deepEqual(sendN(send, 3), ['passed', 'passed', 'passed']);
  const limited = send();
  assert.notEqual(limited, 'passed');
  assert.deepEqual(limited, {
    status: 429,
    body: 'local rate limit exceeded\n',
    headers: { 'x-strata-ratelimited': 'true', 'retry-after': '1' },
    code: 'STRATA_RATE_LIMITED',
  });
});

test('the configured status is used', () => {
  const { send } = harness({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000, status: 503 });
  send();
  const limited = send();
  assert.ok(limited !== 'passed');
  assert.equal(limited.status, 503);
});

test('tokens refill every fillIntervalMs on a fake clock, capped at maxTokens', () => {
  const { send, clock } = harness({ maxTokens: 4, tokensPerFill: 2, fillIntervalMs: 500 });
  assert.equal(sendN(send, 5).filter((r) => r === 'passed').length, 4);

  clock.t += 499;
  assert.notEqual(send(), 'passed', 'no refill before the interval ends');

  clock.t += 1;
  assert.deepEqual(sendN(send, 3).map((r) => r === 'passed'), [true, true, false], 'tokensPerFill tokens after one interval');
});

test('one fill adds tokensPerFill; a long idle period refills only up to maxTokens', () => {
  const { send, clock } = harness({ maxTokens: 4, tokensPerFill: 2, fillIntervalMs: 500 });
  sendN(send, 4);
  assert.notEqual(send(), 'passed');

  clock.t += 500;
  assert.deepEqual(sendN(send, 3).map((r) => r === 'passed'), [true, true, false]);

  clock.t += 60_000;
  assert.deepEqual(sendN(send, 5).map((r) => r === 'passed'), [true, true, true, true, false]);
});

test('fills follow a fixed cadence anchored at the first request', () => {
  const { send, clock } = harness({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000 });
  assert.equal(send(), 'passed'); // t0 = 10 000
  clock.t += 1700; // one fill at 11 000
  assert.equal(send(), 'passed');
  clock.t += 300; // next fill at 12 000, not 12 700
  assert.equal(send(), 'passed');
});

test('retry-after is the whole seconds until the next fill, at least 1', () => {
  const { send, clock } = harness({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 4500 });
  const retryAfter = (): string | undefined => {
    const r = send();
    assert.ok(r !== 'passed', 'expected a limited request');
    return r.headers?.['retry-after'];
  };
  send();
  assert.equal(retryAfter(), '5'); // 4500 ms left
  clock.t += 500;
  assert.equal(retryAfter(), '4'); // 4000 ms
  clock.t += 1;
  assert.equal(retryAfter(), '4'); // 3999 ms, rounded up
  clock.t += 3998;
  assert.equal(retryAfter(), '1'); // 1 ms
});

test('the bucket is shared by every stream of one built config, not across builds', () => {
  const config: LocalRateLimitConfig = { maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1000, status: 429 };
  const a = harness(config);
  const b = harness(config);
  assert.equal(a.send(), 'passed');
  assert.notEqual(a.send(), 'passed');
  assert.equal(b.send(), 'passed', 'a second build has its own bucket');
});

test('decode defaults status to 429 and reports every error', () => {
  const r = localRateLimitFilter.decode({ maxTokens: 1, tokensPerFill: 1, fillIntervalMs: 1 }, 'f');
  assert.ok(r.ok);
  assert.equal(r.value.status, 429);

  const bad = localRateLimitFilter.decode({ maxTokens: 0, fillIntervalMs: 'x', status: 700, extra: 1 }, 'f');
  assert.ok(!bad.ok);
  assert.deepEqual(bad.errors.map((e) => e.path).sort(), [
    'f.extra',
    'f.fillIntervalMs',
    'f.maxTokens',
    'f.status',
    'f.tokensPerFill',
  ]);
});

test('TokenBucket: a clock that goes backwards does not refill', () => {
  const bucket = new TokenBucket(1, 1, 100);
  assert.equal(bucket.take(1000), 0);
  assert.ok(bucket.take(900) > 0);
  assert.equal(bucket.take(1100), 0);
});
