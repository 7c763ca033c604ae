import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyErrorCode } from '../../errors.js';
import type { FilterCallbacks, RequestHead } from './filter.js';
import { runFilterConformance } from './conformance.js';
import { registerBuiltinFilters } from './index.js';
import type { FaultConfig, Schedule } from './fault.js';
import { createFaultFilter, faultFilter, MAX_FAULT_DELAY_MS } from './fault.js';

registerBuiltinFilters();

runFilterConformance(
  'fault',
  { delay: { fixedMs: 5, percent: 50 }, abort: { status: 503, percent: 50 } },
  [
    { config: {}, path: '' },
    { config: { headerControl: false }, path: '' },
    { config: { headerControl: 'yes' }, path: 'headerControl' },
    { config: { delay: 100 }, path: 'delay' },
    { config: { delay: { percent: 1 } }, path: 'delay.fixedMs' },
    { config: { delay: { fixedMs: 0, percent: 1 } }, path: 'delay.fixedMs' },
    { config: { delay: { fixedMs: 1.5, percent: 1 } }, path: 'delay.fixedMs' },
    { config: { delay: { fixedMs: MAX_FAULT_DELAY_MS + 1, percent: 1 } }, path: 'delay.fixedMs' },
    { config: { delay: { fixedMs: 10 } }, path: 'delay.percent' },
    { config: { delay: { fixedMs: 10, percent: 1, jitter: 2 } }, path: 'delay.jitter' },
    { config: { abort: { status: 503, percent: 101 } }, path: 'abort.percent' },
    { config: { abort: { status: 503, percent: -0.1 } }, path: 'abort.percent' },
    { config: { abort: { status: 503, percent: '5' } }, path: 'abort.percent' },
    { config: { abort: { status: 199, percent: 1 } }, path: 'abort.status' },
    { config: { abort: { status: 600, percent: 1 } }, path: 'abort.status' },
    { config: { abort: { percent: 1 } }, path: 'abort.status' },
  ],
);

interface Reply {
  status: number;
  body: string;
  headers: Record<string, string> | undefined;
  code: ProxyErrorCode | undefined;
}

function callbacks(): { cb: FilterCallbacks; replies: Reply[]; resumes: () => number } {
  const replies: Reply[] = [];
  let resumes = 0;
  const cb: FilterCallbacks = {
    respond: (status, body, headers, code) => {
      replies.push({ status, body, headers, code });
    },
    resume: () => {
      resumes += 1;
    },
    now: () => 0,
    routeName: 'r',
    serviceName: 's',
  };
  return { cb, replies, resumes: () => resumes };
}

/** A schedule that records timers; the test fires them. */
function fakeTimers(): { schedule: Schedule; pending: Array<{ fn: () => void; ms: number }>; fireAll: () => void } {
  const pending: Array<{ fn: () => void; ms: number }> = [];
  return {
    schedule: (fn, ms) => {
      pending.push({ fn, ms });
    },
    pending,
    fireAll: () => {
      for (const t of pending.splice(0)) t.fn();
    },
  };
}

function request(headers: RequestHead['headers'] = {}): RequestHead {
  return { method: 'GET', authority: 'svc', path: '/', headers };
}

function decode(raw: unknown): FaultConfig {
  const r = faultFilter.decode(raw, 'f');
  assert.ok(r.ok, r.ok ? '' : JSON.stringify(r.errors));
  return r.value;
}

/** random() values that cover [0, 1) from both ends. */
const RANDOMS = [0, 1e-9, 0.25, 0.5, 0.999, 1 - Number.EPSILON];

test('percent 0 never fires, whatever random() returns', () => {
  for (const r of RANDOMS) {
    const timers = fakeTimers();
    const f = createFaultFilter(decode({ delay: { fixedMs: 10, percent: 0 }, abort: { status: 503, percent: 0 } }), () => r, timers.schedule)();
    const { cb, replies, resumes } = callbacks();
    assert.equal(f.onRequestHeaders?.(request(), cb), 'continue');
    assert.equal(timers.pending.length, 0);
    assert.equal(replies.length + resumes(), 0);
  }
});

test('percent 100 always fires, whatever random() returns', () => {
  for (const r of RANDOMS) {
    const f = createFaultFilter(decode({ abort: { status: 503, percent: 100 } }), () => r)();
    const { cb, replies } = callbacks();
    assert.equal(f.onRequestHeaders?.(request(), cb), 'stop');
    assert.equal(replies.length, 1);
  }
});

test('fractional percent compares random() * 100 against it', () => {
  const config = decode({ abort: { status: 503, percent: 0.5 } });
  const fires = (r: number): boolean => {
    const { cb, replies } = callbacks();
    createFaultFilter(config, () => r)().onRequestHeaders?.(request(), cb);
    return replies.length === 1;
  };
  assert.equal(fires(0.004), true);
  assert.equal(fires(0.00499), true);
  assert.equal(fires(0.005), false);
  assert.equal(fires(0.9), false);
});

test('abort replies locally with the configured status, header and code', () => {
  const f = createFaultFilter(decode({ abort: { status: 418, percent: 100 } }), Math.random)();
  const { cb, replies, resumes } = callbacks();
  assert.equal(f.onRequestHeaders?.(request(), cb), 'stop');
  assert.deepEqual(replies, [
    { status: 418, body: 'fault filter abort\n', headers: { 'x-strata-fault': 'abort' }, code: 'STRATA_FAULT_ABORT' },
  ]);
  assert.equal(resumes(), 0);
});

test('delay stops the chain and resumes once its timer fires', () => {
  const timers = fakeTimers();
  const f = createFaultFilter(decode({ delay: { fixedMs: 250, percent: 100 } }), Math.random, timers.schedule)();
  const { cb, replies, resumes } = callbacks();
  assert.equal(f.onRequestHeaders?.(request(), cb), 'stop');
  assert.deepEqual(timers.pending.map((t) => t.ms), [250]);
  assert.equal(resumes(), 0, 'nothing happens before the timer fires');
  timers.fireAll();
  assert.equal(resumes(), 1);
  assert.equal(replies.length, 0);
});

test('delay with the real timer resumes the stream', async () => {
  const f = faultFilter.build(decode({ delay: { fixedMs: 1, percent: 100 } }))();
  await new Promise<void>((resolve, reject) => {
    const cb: FilterCallbacks = {
      respond: () => reject(new Error('unexpected respond')),
      resume: resolve,
      now: () => performance.now(),
      routeName: 'r',
      serviceName: 's',
    };
    assert.equal(f.onRequestHeaders?.(request(), cb), 'stop');
  });
});

test('delay and abort together: delayed first, then aborted instead of resumed', () => {
  const timers = fakeTimers();
  const config = decode({ delay: { fixedMs: 40, percent: 100 }, abort: { status: 503, percent: 100 } });
  const f = createFaultFilter(config, Math.random, timers.schedule)();
  const { cb, replies, resumes } = callbacks();
  assert.equal(f.onRequestHeaders?.(request(), cb), 'stop');
  assert.equal(replies.length, 0, 'no reply before the delay');
  timers.fireAll();
  assert.equal(replies.length, 1);
  assert.equal(replies[0]?.status, 503);
  assert.equal(resumes(), 0);
});

test('delay and abort are drawn independently, delay first', () => {
  const timers = fakeTimers();
  const draws = [0.9, 0.1]; // delay misses (90 >= 50), abort hits (10 < 50)
  const config = decode({ delay: { fixedMs: 40, percent: 50 }, abort: { status: 502, percent: 50 } });
  const f = createFaultFilter(config, () => draws.shift() ?? assert.fail('too many draws'), timers.schedule)();
  const { cb, replies } = callbacks();
  assert.equal(f.onRequestHeaders?.(request(), cb), 'stop');
  assert.equal(timers.pending.length, 0, 'no delay');
  assert.equal(replies[0]?.status, 502, 'aborted at once');
  assert.equal(draws.length, 0);
});

test('control headers are ignored unless headerControl is on', () => {
  const headers = { 'x-strata-fault-delay-ms': '30', 'x-strata-fault-abort-status': '500' };
  const timers = fakeTimers();
  const off = createFaultFilter(decode({ abort: { status: 503, percent: 0 } }), Math.random, timers.schedule)();
  const { cb, replies } = callbacks();
  assert.equal(off.onRequestHeaders?.(request({ ...headers }), cb), 'continue');
  assert.equal(timers.pending.length + replies.length, 0);
});

test('with headerControl, control headers force their fault regardless of percent', () => {
  const config = decode({ headerControl: true, delay: { fixedMs: 10, percent: 0 }, abort: { status: 503, percent: 0 } });
  const never = (): number => 0.999;

  const timers = fakeTimers();
  const delayOnly = callbacks();
  const f = createFaultFilter(config, never, timers.schedule)();
  assert.equal(f.onRequestHeaders?.(request({ 'x-strata-fault-delay-ms': '75' }), delayOnly.cb), 'stop');
  assert.deepEqual(timers.pending.map((t) => t.ms), [75]);
  timers.fireAll();
  assert.equal(delayOnly.resumes(), 1);

  const abortOnly = callbacks();
  assert.equal(f.onRequestHeaders?.(request({ 'x-strata-fault-abort-status': '429' }), abortOnly.cb), 'stop');
  assert.equal(abortOnly.replies[0]?.status, 429);
  assert.equal(abortOnly.replies[0]?.code, 'STRATA_FAULT_ABORT');

  const none = callbacks();
  assert.equal(f.onRequestHeaders?.(request(), none.cb), 'continue');
});

test('headerControl alone is a valid config', () => {
  const f = createFaultFilter(decode({ headerControl: true }), Math.random)();
  const { cb, replies } = callbacks();
  assert.equal(f.onRequestHeaders?.(request(), cb), 'continue');
  assert.equal(f.onRequestHeaders?.(request({ 'x-strata-fault-abort-status': '503' }), cb), 'stop');
  assert.equal(replies.length, 1);
});

test('malformed control headers are ignored', () => {
  const timers = fakeTimers();
  const f = createFaultFilter(decode({ headerControl: true }), Math.random, timers.schedule)();
  for (const headers of [
    { 'x-strata-fault-delay-ms': 'soon' },
    { 'x-strata-fault-delay-ms': '0' },
    { 'x-strata-fault-delay-ms': '-5' },
    { 'x-strata-fault-delay-ms': '1.5' },
    { 'x-strata-fault-delay-ms': String(MAX_FAULT_DELAY_MS + 1) },
    { 'x-strata-fault-abort-status': '99' },
    { 'x-strata-fault-abort-status': '600' },
    { 'x-strata-fault-abort-status': '5O3' },
    { 'x-strata-fault-abort-status': ['503', '500'] },
  ]) {
    const { cb, replies } = callbacks();
    assert.equal(f.onRequestHeaders?.(request(headers), cb), 'continue', JSON.stringify(headers));
    assert.equal(timers.pending.length + replies.length, 0);
  }
});

test('decode reports every error with its path', () => {
  const r = faultFilter.decode({ delay: { fixedMs: -1, percent: 200 }, abort: { status: 'x' }, headerControl: 1 }, 'f');
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map((e) => e.path).sort(), [
    'f.abort.percent',
    'f.abort.status',
    'f.delay.fixedMs',
    'f.delay.percent',
    'f.headerControl',
  ]);
  const percentError = r.errors.find((e) => e.path === 'f.delay.percent');
  assert.match(percentError?.message ?? '', /must be a number between 0 and 100/);
});

test('decode keeps headerControl false by default and omits absent faults', () => {
  assert.deepEqual(decode({ abort: { status: 503, percent: 1.5 } }), {
    headerControl: false,
    abort: { status: 503, percent: 1.5 },
  });
});

test('streams share one instance', () => {
  const newStream = faultFilter.build(decode({ abort: { status: 503, percent: 1 } }));
  assert.equal(newStream(), newStream());
});
