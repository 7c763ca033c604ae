/**
 * Resilience against real upstream processes: outlier ejection, active health checks,
 * circuit breaking, local rate limiting, fault injection, and HTTP/1.1 between sidecars.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePorts, request, startSidecar, startUpstream, waitFor } from './lib/harness.js';
import type { SidecarProcess, Upstream } from './lib/harness.js';

interface ClusterDump {
  name: string;
  endpoints: { address: string; healthy: boolean; ejected: boolean }[];
}

async function clusters(admin: number): Promise<ClusterDump[]> {
  return JSON.parse((await request({ port: admin, path: '/clusters' })).body) as ClusterDump[];
}

describe('resilience', () => {
  let good: Upstream;
  let bad: Upstream;
  let sick: Upstream;
  let peer: Upstream;
  let sickHealthy = true;
  let sc: SidecarProcess;
  let inboundSc: SidecarProcess;
  let ports: number[];

  before(async () => {
    good = await startUpstream('good');
    bad = await startUpstream('bad', (_req, res) => {
      res.writeHead(500).end('broken');
      return true;
    });
    sick = await startUpstream('sick', (req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(sickHealthy ? 200 : 503).end();
        return true;
      }
      return false;
    });
    peer = await startUpstream('peer');
    ports = await freePorts(10);
    const [admin, outlierPort, healthPort, breakerPort, limitPort, faultPort, h1Port, peerInbound, peerAdmin, queuePort] = ports as number[];
    inboundSc = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: peer }
spec:
  service: peer
  inbound: { port: ${peerInbound}, appPort: ${peer.port} }
  admin: { port: ${peerAdmin} }
`,
      peerAdmin as number,
    );
    sc = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: r }
spec:
  service: r
  upstreamProtocol: http1
  outbound:
    ports:
      - { port: ${outlierPort}, service: flappy }
      - { port: ${healthPort}, service: checked }
      - { port: ${breakerPort}, service: narrow }
      - { port: ${limitPort}, service: limited }
      - { port: ${faultPort}, service: faulty }
      - { port: ${h1Port}, service: peer }
      - { port: ${queuePort}, service: queued }
  admin: { port: ${admin} }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: flappy }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${good.port} }, { address: 127.0.0.1, port: ${bad.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: flappy }
spec:
  service: flappy
  outlierDetection: { consecutive5xx: 3, intervalMs: 200, baseEjectionMs: 60000, maxEjectionPercent: 50 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: checked }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${good.port} }, { address: 127.0.0.1, port: ${sick.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: checked }
spec:
  service: checked
  healthCheck: { path: /healthz, intervalMs: 100, timeoutMs: 1000, unhealthyThreshold: 2, healthyThreshold: 2 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: narrow }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${good.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: narrow }
spec:
  service: narrow
  circuitBreaker: { maxConnections: 1, maxPending: 1, maxRequests: 1 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: queued }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${good.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: queued }
spec:
  service: queued
  circuitBreaker: { maxConnections: 1, maxPending: 1, maxRequests: 100 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: limited }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${good.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: limited }
spec:
  service: limited
  rules:
    - match: { path: { prefix: / } }
      backends: [ { service: limited } ]
      filters:
        - name: local-rate-limit
          config: { maxTokens: 2, tokensPerFill: 2, fillIntervalMs: 3600000 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: faulty }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${good.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: faulty }
spec:
  service: faulty
  rules:
    - match: { path: { prefix: /abort } }
      backends: [ { service: faulty } ]
      filters: [ { name: fault, config: { abort: { status: 418, percent: 100 } } } ]
    - match: { path: { prefix: /delay } }
      backends: [ { service: faulty } ]
      filters: [ { name: fault, config: { delay: { fixedMs: 200, percent: 100 } } } ]
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: peer }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${peerInbound}, sidecar: true } ]
`,
      admin as number,
    );
  });

  after(async () => {
    await Promise.all([sc?.stop(), inboundSc?.stop()]);
    await Promise.all([good?.close(), bad?.close(), sick?.close(), peer?.close()]);
  });

  test('outlier detection ejects an endpoint after consecutive 5xx; traffic then goes to the healthy one', async () => {
    const port = ports[1] as number;
    await waitFor('bad endpoint ejected', async () => {
      await request({ port, path: '/o' });
      const c = (await clusters(ports[0] as number)).find((x) => x.name === 'flappy');
      return c?.endpoints.find((e) => e.address.endsWith(`:${bad.port}`))?.ejected;
    });
    for (let i = 0; i < 20; i++) {
      const r = await request({ port, path: `/after/${i}` });
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).upstream, 'good');
    }
    const stats = await request({ port: ports[0] as number, path: '/stats' });
    assert.match(stats.body, /strata_upstream_endpoints\{cluster="flappy",state="ejected"\} 1/);
  });

  test('active health checks take an endpoint out while it fails its check and back when it recovers', async () => {
    const admin = ports[0] as number;
    const sickState = async (): Promise<boolean | undefined> =>
      (await clusters(admin)).find((x) => x.name === 'checked')?.endpoints.find((e) => e.address.endsWith(`:${sick.port}`))?.healthy;
    sickHealthy = false;
    await waitFor('sick endpoint unhealthy', async () => (await sickState()) === false);
    for (let i = 0; i < 10; i++) assert.equal(JSON.parse((await request({ port: ports[2] as number, path: '/h' })).body).upstream, 'good');
    sickHealthy = true;
    await waitFor('sick endpoint healthy again', async () => (await sickState()) === true);
  });

  test('circuit breaker: requests over maxRequests get 503 STRATA_OVERFLOW', async () => {
    const port = ports[3] as number;
    const slow = request({ port, path: '/slow/1000' });
    await waitFor('first request in flight', () => good.requests.some((r) => r.url === '/slow/1000'));
    const r = await request({ port, path: '/second' });
    assert.equal(r.status, 503);
    assert.equal(r.headers['x-strata-error'], 'STRATA_OVERFLOW');
    assert.match(r.body, /maxRequests/);
    assert.equal((await slow).status, 200);
  });

  test('circuit breaker: with one connection busy and one request queued, the next gets 503 (maxPending)', async () => {
    const port = ports[9] as number;
    const first = request({ port, path: '/slow/1500' });
    await waitFor('first request in flight', () => good.requests.some((r) => r.url === '/slow/1500'));
    const second = request({ port, path: '/slow/10' });
    await waitFor('second request queued', async () => {
      const c = (await clusters(ports[0] as number)).find((x) => x.name === 'queued') as (ClusterDump & { pending: number }) | undefined;
      return c?.pending === 1;
    });
    const third = await request({ port, path: '/third' });
    assert.equal(third.status, 503);
    assert.equal(third.headers['x-strata-error'], 'STRATA_OVERFLOW');
    assert.match(third.body, /maxPending/);
    assert.equal((await first).status, 200);
    assert.equal((await second).status, 200);
  });

  test('local rate limit: the third request in the window gets 429 with Retry-After', async () => {
    const port = ports[4] as number;
    assert.equal((await request({ port, path: '/1' })).status, 200);
    assert.equal((await request({ port, path: '/2' })).status, 200);
    const r = await request({ port, path: '/3' });
    assert.equal(r.status, 429);
    assert.equal(r.headers['x-strata-error'], 'STRATA_RATE_LIMITED');
    assert.ok(Number(r.headers['retry-after']) >= 1);
  });

  test('fault injection: abort answers with the configured status; delay still reaches the upstream', async () => {
    const port = ports[5] as number;
    const a = await request({ port, path: '/abort' });
    assert.equal(a.status, 418);
    assert.equal(a.headers['x-strata-error'], 'STRATA_FAULT_ABORT');
    const d = await request({ port, path: '/delay' });
    assert.equal(d.status, 200);
    assert.equal(JSON.parse(d.body).url, '/delay');
  });

  test('HTTP/1.1 between sidecars when upstreamProtocol is http1', async () => {
    const r = await request({ port: ports[6] as number, path: '/over-h1', method: 'POST', body: 'payload' });
    assert.equal(r.status, 200);
    const echo = JSON.parse(r.body);
    assert.equal(echo.upstream, 'peer');
    assert.equal(echo.body, 'payload');
  });
});

describe('a client that leaves during a fault delay', () => {
  test('is counted as finished (499) and the sidecar still drains promptly', async () => {
    const up = await startUpstream('late');
    const [admin, port] = (await freePorts(2)) as [number, number];
    const sc = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: f }
spec:
  service: f
  outbound: { ports: [ { port: ${port}, service: late } ] }
  admin: { port: ${admin} }
  limits: { drainTimeoutMs: 60000 }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: late }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${up.port} } ]
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: late }
spec:
  service: late
  rules:
    - match: { path: { prefix: / } }
      backends: [ { service: late } ]
      filters: [ { name: fault, config: { delay: { fixedMs: 30000, percent: 100 } } } ]
`,
      admin,
    );
    try {
      await assert.rejects(request({ port, path: '/held', timeoutMs: 300 }));
      await waitFor('499 counted', async () => /strata_requests_total\{[^}]*code="499"\} 1/.test((await request({ port: admin, path: '/stats' })).body));
      const t0 = Date.now();
      sc.proc.kill('SIGTERM');
      assert.equal(await sc.exited, 0);
      assert.ok(Date.now() - t0 < 20_000, 'drain must not wait for the abandoned delay');
    } finally {
      await sc.stop();
      await up.close();
    }
  });
});
