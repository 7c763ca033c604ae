import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthCheckSpec } from '../../config/snapshot.js';
import { Endpoint } from './endpoint.js';
import type { HealthCheckEvent } from './health-check.js';
import { HEALTH_CHECK_CHANNEL, HealthChecker, jitteredDelay } from './health-check.js';

/** Generous: the suite may share two cores with everything else. */
const WAIT_MS = 20_000;

function spec(over: Partial<HealthCheckSpec> = {}): HealthCheckSpec {
  return {
    path: '/healthz',
    intervalMs: 25,
    timeoutMs: 2_000,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
    expectedStatuses: [200, 204],
    ...over,
  };
}

function endpointAt(port: number): Endpoint {
  return new Endpoint({ address: '127.0.0.1', port, weight: 1, locality: '', sidecar: false });
}

/** Rejects after `ms` unless `p` settles first; the timer never outlives the race. */
function within<T>(p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** onChange recorder: `next()` resolves on the next call. */
function changes() {
  let waiter: (() => void) | undefined;
  const rec = {
    count: 0,
    onChange: () => {
      rec.count++;
      const w = waiter;
      waiter = undefined;
      w?.();
    },
    next: (what: string) => within(new Promise<void>((resolve) => (waiter = resolve)), what),
  };
  return rec;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return server;
}

const servers: Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
});

const portOf = (s: Server) => (s.address() as AddressInfo).port;

test('jitteredDelay stays within ±10% of the interval and is at least 1 ms', () => {
  assert.equal(jitteredDelay(1000, () => 0), 900);
  assert.equal(jitteredDelay(1000, () => 0.5), 1000);
  assert.equal(jitteredDelay(1000, () => 1 - Number.EPSILON), 1100);
  assert.equal(jitteredDelay(1000, () => Number.NaN), 1000);
  assert.equal(jitteredDelay(0, () => 0), 1);
  for (let i = 0; i < 1000; i++) {
    const d = jitteredDelay(5000);
    assert.ok(d >= 4500 && d <= 5500, String(d));
  }
});

test('flips unhealthy and back as the server answers 500 then 204; sends the agreed request', async () => {
  let status = 204;
  const seen: { method?: string; url?: string; headers: IncomingHttpHeaders }[] = [];
  let firstRequest: (() => void) | undefined;
  const gotFirst = new Promise<void>((resolve) => (firstRequest = resolve));
  const server = await listen((req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers });
    firstRequest?.();
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 204 ? undefined : 'nope');
  });
  const ep = endpointAt(portOf(server));
  const rec = changes();
  const hc = new HealthChecker(spec(), () => [ep], rec.onChange, { host: 'payments' });
  try {
    hc.start();
    hc.start(); // idempotent
    await within(gotFirst, 'the first check');
    const first = seen[0];
    assert.ok(first);
    assert.equal(first.method, 'GET');
    assert.equal(first.url, '/healthz');
    assert.equal(first.headers.host, 'payments');
    assert.equal(first.headers['x-strata-health-check'], '1');
    assert.equal(first.headers.connection, 'close');

    const down = rec.next('unhealthy');
    status = 500;
    await down;
    assert.equal(ep.healthy, false);
    assert.equal(ep.available(Date.now()), false);
    assert.equal(rec.count, 1);

    const up = rec.next('healthy again');
    status = 204;
    await up;
    assert.equal(ep.healthy, true);
    assert.equal(rec.count, 2);
    assert.ok(hc.stats.successes >= 3 && hc.stats.failures >= 2);
    assert.equal(hc.stats.networkFailures, 0);
    assert.equal(hc.stats.timeouts, 0);
  } finally {
    hc.stop();
  }
});

test('a status outside expectedStatuses fails, and the flip waits for the threshold', async () => {
  let answered = 0;
  const server = await listen((_req, res) => {
    answered++;
    res.writeHead(301, { location: '/elsewhere' }).end();
  });
  const ep = endpointAt(portOf(server));
  const rec = changes();
  const hc = new HealthChecker(spec({ unhealthyThreshold: 3 }), () => [ep], rec.onChange, { host: 'svc' });
  const events: HealthCheckEvent[] = [];
  const onEvent = (m: unknown) => events.push(m as HealthCheckEvent);
  subscribe(HEALTH_CHECK_CHANNEL, onEvent);
  try {
    const down = rec.next('unhealthy');
    hc.start();
    await down;
    assert.ok(answered >= 3);
    assert.equal(hc.stats.failures, 3, 'exactly the threshold');
    assert.deepEqual(events.filter((e) => e.type !== 'error'), [{ type: 'unhealthy', endpoint: ep.key, reason: 'status' }]);
  } finally {
    hc.stop();
    unsubscribe(HEALTH_CHECK_CHANNEL, onEvent);
  }
});

test('connection refused counts as a failure', async () => {
  // A port that was just free: listen, note it, close.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = portOf(probe);
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const ep = endpointAt(port);
  const rec = changes();
  const hc = new HealthChecker(spec(), () => [ep], rec.onChange, { host: 'svc' });
  try {
    const down = rec.next('unhealthy (refused)');
    hc.start();
    await down;
    assert.equal(ep.healthy, false);
    assert.ok(hc.stats.networkFailures >= 2);
    assert.equal(hc.stats.timeouts, 0);
  } finally {
    hc.stop();
  }
});

test('a server that never answers times out', async () => {
  const hung: ServerResponse[] = [];
  const server = await listen((_req, res) => {
    hung.push(res); // never answered
  });
  const ep = endpointAt(portOf(server));
  const rec = changes();
  const hc = new HealthChecker(spec({ timeoutMs: 100, intervalMs: 50 }), () => [ep], rec.onChange, { host: 'svc' });
  try {
    const down = rec.next('unhealthy (timeout)');
    hc.start();
    await down;
    assert.equal(ep.healthy, false);
    assert.ok(hc.stats.timeouts >= 2);
    assert.equal(hc.stats.successes, 0);
  } finally {
    hc.stop();
  }
});

test('stop() aborts a check in flight and discards its result', async () => {
  let arrived: (() => void) | undefined;
  const gotRequest = new Promise<void>((resolve) => (arrived = resolve));
  let clientGone: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => (clientGone = resolve));
  const server = await listen((req) => {
    req.socket.on('close', () => clientGone?.());
    arrived?.();
  });
  const ep = endpointAt(portOf(server));
  const rec = changes();
  const hc = new HealthChecker(spec({ timeoutMs: 60_000, unhealthyThreshold: 1 }), () => [ep], rec.onChange, {
    host: 'svc',
  });
  hc.start();
  await within(gotRequest, 'the check to arrive');
  hc.stop();
  hc.stop(); // idempotent
  await within(aborted, 'the aborted connection to close');
  // The client side has already settled its 'close' by the time the server sees the FIN.
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(hc.stats.attempts, 1);
  assert.equal(hc.stats.failures, 0);
  assert.equal(rec.count, 0);
  assert.equal(ep.healthy, true);
});

test('membership is read every round; endpoints that leave are no longer checked', async () => {
  let hitsA = 0;
  let hitsB = 0;
  const a = await listen((_req, res) => {
    hitsA++;
    res.end('ok');
  });
  const b = await listen((_req, res) => {
    hitsB++;
    res.statusCode = 503;
    res.end();
  });
  const epA = endpointAt(portOf(a));
  const epB = endpointAt(portOf(b));
  let members: Endpoint[] = [epA];
  const rec = changes();
  const hc = new HealthChecker(spec({ expectedStatuses: [200, 200] }), () => members, rec.onChange, {
    host: 'svc',
    random: () => 0.5,
  });
  try {
    hc.start();
    const bDown = rec.next('the added endpoint to fail');
    members = [epA, epB];
    await bDown;
    assert.equal(epB.healthy, false);
    assert.equal(epA.healthy, true);
    members = [epA];
    const frozenB = hitsB;
    const target = hitsA + 3;
    await within(
      new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (hitsA >= target) {
            clearInterval(poll);
            resolve();
          }
        }, 5);
      }),
      'more checks of the remaining endpoint',
    );
    assert.equal(hitsB, frozenB);
    assert.equal(rec.count, 1);
  } finally {
    hc.stop();
  }
});

test('errors never escape: a throwing endpoints() or onChange is published, checks go on', async () => {
  const server = await listen((_req, res) => {
    res.statusCode = 500;
    res.end();
  });
  const ep = endpointAt(portOf(server));
  let calls = 0;
  const events: HealthCheckEvent[] = [];
  let sawBoth: (() => void) | undefined;
  const done = new Promise<void>((resolve) => (sawBoth = resolve));
  const onEvent = (m: unknown) => {
    const e = m as HealthCheckEvent;
    events.push(e);
    const errors = events.filter((x) => x.type === 'error').length;
    if (errors >= 2 && events.some((x) => x.type === 'unhealthy')) sawBoth?.();
  };
  subscribe(HEALTH_CHECK_CHANNEL, onEvent);
  const hc = new HealthChecker(
    spec({ unhealthyThreshold: 1 }),
    () => {
      if (++calls === 1) throw new Error('membership unavailable');
      return [ep];
    },
    () => {
      throw new Error('listener bug');
    },
    { host: 'svc' },
  );
  try {
    hc.start();
    await within(done, 'both errors and the transition');
    assert.equal(ep.healthy, false);
    const messages = events.flatMap((e) => (e.type === 'error' && e.error instanceof Error ? [e.error.message] : []));
    assert.ok(messages.includes('membership unavailable'));
    assert.ok(messages.includes('listener bug'));
  } finally {
    hc.stop();
    unsubscribe(HEALTH_CHECK_CHANNEL, onEvent);
  }
});

test('a check that cannot be sent (invalid port) is a failure, not a crash', async () => {
  const ep = endpointAt(70_000);
  const rec = changes();
  const hc = new HealthChecker(spec({ unhealthyThreshold: 1 }), () => [ep], rec.onChange, { host: 'svc' });
  try {
    const down = rec.next('unhealthy (invalid port)');
    hc.start();
    await down;
    assert.equal(ep.healthy, false);
    assert.ok(hc.stats.networkFailures >= 1);
  } finally {
    hc.stop();
  }
});
