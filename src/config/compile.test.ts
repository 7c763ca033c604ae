import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSnapshot } from './compile.js';
import { decodeResources } from './decode.js';
import type { Resource } from './resources.js';
import {
  SIDECAR,
  build,
  docs,
  errorAt,
  errorsOf,
  exampleText,
  policy,
  registerFakes,
  route,
  service,
  valueOf,
} from './test-support.js';

registerFakes();

const FORWARD_A = '      backends: [{ service: a }]\n';

test('the example compiles to the expected snapshot', () => {
  const s = valueOf(build(exampleText(), 'examples/sidecar.yaml'));
  assert.match(s.version, /^[0-9a-f]{12}$/);
  assert.equal(s.source, 'examples/sidecar.yaml');
  assert.deepEqual(s.sidecar, {
    service: 'frontend',
    namespace: 'default',
    locality: 'zone-a',
    inbound: { port: 15006, address: '0.0.0.0', appPort: 8080, appAddress: '127.0.0.1', appProtocol: 'http' },
    outbound: { port: 15001, address: '127.0.0.1' },
    localPorts: [
      { port: 9001, address: '127.0.0.1', service: 'backend', protocol: 'http' },
      { port: 9100, address: '127.0.0.1', service: 'db', protocol: 'tcp' },
    ],
    admin: { port: 15000, address: '127.0.0.1' },
    upstreamProtocol: 'h2',
    limits: {
      maxHeaderBytes: 61440,
      maxBodyBytes: 0,
      headerTimeoutMs: 10000,
      idleTimeoutMs: 60000,
      requestTimeoutMs: 15000,
      connectTimeoutMs: 5000,
      drainTimeoutMs: 10000,
    },
  });

  // db speaks tcp: a cluster, but no virtual host.
  assert.deepEqual(s.clusters.map((c) => c.name), ['backend', 'backend-canary', 'db']);
  assert.deepEqual(s.virtualHosts.map((v) => [v.name, v.domains]), [
    ['backend', ['backend', 'backend.default.svc', 'api.internal']],
    ['backend-canary', ['backend-canary']],
  ]);

  const [health, api, fallback] = s.virtualHosts[0]!.routes;
  assert.deepEqual(health, {
    name: 'health',
    match: { path: { exact: '/healthz' } },
    action: { kind: 'direct', status: 200, body: 'ok\n', headers: {} },
    timeoutMs: 0,
    filters: [],
  });
  assert.deepEqual(api?.match, {
    path: { prefix: '/api/v2' },
    methods: ['GET', 'POST'],
    headers: [{ name: 'x-canary', match: { exact: '1' } }],
  });
  assert.deepEqual(api?.action, {
    kind: 'forward',
    backends: [
      { cluster: 'backend', weight: 90 },
      { cluster: 'backend-canary', weight: 10 },
    ],
    prefixRewrite: '/v2',
  });
  assert.equal(api?.timeoutMs, 2000);
  assert.deepEqual(api?.retry, {
    attempts: 2,
    on: ['connect-failure', 'reset', 'gateway-error'],
    perTryTimeoutMs: 500,
    backoff: { baseMs: 25, maxMs: 250 },
    retryNonIdempotent: false,
  });
  assert.deepEqual(api?.filters.map((f) => f.name), ['header-mutation', 'fault', 'local-rate-limit']);
  // The filter's own decoder produced the config.
  assert.equal((api?.filters[1]?.config as { decodedBy?: string }).decodedBy, 'fake-fault');
  assert.deepEqual(fallback?.action, { kind: 'forward', backends: [{ cluster: 'backend', weight: 1 }] });
  assert.equal(fallback?.retry, undefined);

  assert.deepEqual(s.virtualHosts[1]!.routes, [
    {
      name: 'default',
      match: { path: { prefix: '/' } },
      action: { kind: 'forward', backends: [{ cluster: 'backend-canary', weight: 1 }] },
      timeoutMs: 0,
      filters: [],
    },
  ]);

  const backend = s.clusters[0]!;
  assert.deepEqual(backend.endpoints, [
    { address: '127.0.0.1', port: 15106, weight: 1, locality: 'zone-a', sidecar: true },
    { address: '127.0.0.1', port: 8082, weight: 1, locality: '', sidecar: false },
  ]);
  assert.deepEqual(backend.loadBalancer, { policy: 'peak-ewma' });
  assert.equal(backend.localityPreference, false);
  assert.deepEqual(backend.circuitBreaker, { maxConnections: 1024, maxPending: 1024, maxRequests: 1024 });
  assert.deepEqual(backend.healthCheck, {
    path: '/healthz',
    intervalMs: 5000,
    timeoutMs: 1000,
    unhealthyThreshold: 3,
    healthyThreshold: 2,
    expectedStatuses: [200, 399],
  });
  assert.equal(backend.outlierDetection?.maxEjectionPercent, 50);
  assert.deepEqual(backend.retryBudget, { budgetPercent: 20, minRetryConcurrency: 3 });

  const db = s.clusters[2]!;
  assert.equal(db.protocol, 'tcp');
  assert.deepEqual(db.loadBalancer, { policy: 'round-robin' });
  assert.equal(db.healthCheck, undefined);
  assert.equal(db.outlierDetection, undefined);

  // Plain data: survives a JSON round trip unchanged.
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
});

test('the version follows the content, not its layout', () => {
  const a = valueOf(build(docs(SIDECAR, service('a'))));
  const reordered = valueOf(
    build(docs('# a comment\nkind: Sidecar\napiVersion: strata.dev/v1alpha1\nspec: { service: me }\nmetadata: { name: me, namespace: default }\n', service('a'))),
  );
  const changed = valueOf(build(docs(SIDECAR, service('a').replace('8080', '8081'))));
  assert.equal(a.version, reordered.version);
  assert.notEqual(a.version, changed.version);
});

test('defaults are filled in for a minimal configuration', () => {
  const s = valueOf(
    build(
      docs(
        'apiVersion: strata.dev/v1alpha1\nkind: Sidecar\nmetadata: { name: me }\nspec: {}\n',
        'apiVersion: strata.dev/v1alpha1\nkind: Service\nmetadata: { name: a }\nspec:\n  endpoints: [{ address: 10.0.0.1, port: 80 }]\n',
        route('a', `  service: a\n  rules:\n    - match: { methods: [get], headers: [{ name: X-User, present: true, invert: true }] }\n      retries: {}\n${FORWARD_A}`),
        policy('a', '  service: a\n  healthCheck: { path: /ready }\n  circuitBreaker: { maxPending: 7 }\n'),
      ),
    ),
  );
  assert.deepEqual(s.sidecar, {
    service: '',
    namespace: 'default',
    locality: '',
    localPorts: [],
    upstreamProtocol: 'h2',
    limits: {
      maxHeaderBytes: 61440,
      maxBodyBytes: 0,
      headerTimeoutMs: 10000,
      idleTimeoutMs: 60000,
      requestTimeoutMs: 15000,
      connectTimeoutMs: 5000,
      drainTimeoutMs: 10000,
    },
  });
  const r = s.virtualHosts[0]!.routes[0]!;
  assert.equal(r.name, 'rule-0');
  assert.deepEqual(r.match, { methods: ['GET'], headers: [{ name: 'x-user', match: { present: true }, invert: true }] });
  assert.deepEqual(r.retry, {
    attempts: 2,
    on: ['connect-failure', 'reset', 'gateway-error'],
    perTryTimeoutMs: 0,
    backoff: { baseMs: 25, maxMs: 250 },
    retryNonIdempotent: false,
  });
  assert.equal(r.timeoutMs, 0);
  const c = s.clusters[0]!;
  assert.equal(c.protocol, 'http');
  assert.deepEqual(c.loadBalancer, { policy: 'round-robin' });
  assert.deepEqual(c.circuitBreaker, { maxConnections: 1024, maxPending: 7, maxRequests: 1024 });
  assert.deepEqual(c.retryBudget, { budgetPercent: 20, minRetryConcurrency: 3 });
  assert.deepEqual(c.healthCheck?.expectedStatuses, [200, 399]);
  assert.deepEqual(c.endpoints, [{ address: '10.0.0.1', port: 80, weight: 1, locality: '', sidecar: false }]);
});

test('zero-weight backends are left out of the compiled split', () => {
  const s = valueOf(
    build(docs(SIDECAR, service('a'), service('b'), route('a', '  service: a\n  rules:\n    - backends: [{ service: a, weight: 0 }, { service: b, weight: 5 }]\n'))),
  );
  assert.deepEqual(s.virtualHosts[0]!.routes[0]!.action, { kind: 'forward', backends: [{ cluster: 'b', weight: 5 }] });
});

test('rewrites and direct responses are normalised', () => {
  const s = valueOf(
    build(
      docs(
        SIDECAR,
        service('a'),
        route(
          'a',
          `  service: a
  rules:
    - match: { path: { prefix: /old } }
      rewrite: { prefix: /new, host: Upstream.Internal }
${FORWARD_A}    - directResponse: { status: 503, headers: { Retry-After: "5" } }
`,
        ),
      ),
    ),
  );
  const [rewrite, direct] = s.virtualHosts[0]!.routes;
  assert.deepEqual(rewrite?.action, {
    kind: 'forward',
    backends: [{ cluster: 'a', weight: 1 }],
    prefixRewrite: '/new',
    hostRewrite: 'upstream.internal',
  });
  assert.deepEqual(direct?.action, { kind: 'direct', status: 503, body: '', headers: { 'retry-after': '5' } });
});

test('rewrite and retries need backends; a prefix rewrite needs a prefix match', () => {
  const text = docs(
    SIDECAR,
    service('a'),
    route(
      'a',
      `  service: a
  rules:
    - directResponse: { status: 200 }
      retries: {}
    - match: { path: { exact: /x } }
      rewrite: { prefix: /y }
${FORWARD_A}    - rewrite: {}
      retries: { backoff: { baseMs: 500 } }
${FORWARD_A}`,
    ),
  );
  expectError(text, 'Route/a', 'spec.rules[0].retries', /applies only to rules with backends/);
  expectError(text, 'Route/a', 'spec.rules[1].rewrite.prefix', /needs match.path.prefix/);
  expectError(text, 'Route/a', 'spec.rules[2].rewrite', /set prefix, host or both/);
  expectError(text, 'Route/a', 'spec.rules[2].retries.backoff.maxMs', /at least baseMs \(500\), got 250/);
});

/** Compile `text` and expect an error at `resource`/`path` whose message matches. */
function expectError(text: string, resource: string | undefined, path: string, message: RegExp): void {
  const errors = errorsOf(build(text, 'cfg.yaml'));
  const e = errorAt(errors, path, resource);
  assert.ok(e, `no error at ${resource ?? '(config)'} ${path}; got ${JSON.stringify(errors, null, 1)}`);
  assert.match(e.message, message);
  assert.equal(e.source, 'cfg.yaml');
  assert.equal(e.resource, resource);
}

test('a Route for an unknown service', () => {
  expectError(docs(SIDECAR, service('a'), route('r', `  service: nope\n  rules:\n${'    - '}backends: [{ service: a }]\n`)), 'Route/r', 'spec.service', /unknown service "nope" \(services in namespace default: a\)/);
});

test('a backend naming an unknown service', () => {
  expectError(
    docs(SIDECAR, service('a'), route('r', '  service: a\n  rules:\n    - name: one\n      backends: [{ service: a }, { service: gone }]\n')),
    'Route/r',
    'spec.rules[0].backends[1].service',
    /unknown service "gone"/,
  );
});

test('references resolve within the namespace', () => {
  const other = service('a').replace('metadata: { name: a }', 'metadata: { name: a, namespace: other }');
  expectError(docs(SIDECAR, other, route('r', `  service: a\n  rules:\n    - backends: [{ service: a }]\n`)), 'Route/r', 'spec.service', /no services in namespace default/);
});

test('duplicate names of one kind in one namespace', () => {
  expectError(docs(SIDECAR, service('a'), service('a')), 'Service/a', 'metadata.name', /duplicate Service "a" in namespace default; first defined by Service\/a \(cfg.yaml, document #2\)/);
});

test('two Sidecars, or none', () => {
  expectError(docs(SIDECAR, service('a'), SIDECAR.replace('name: me', 'name: other')), 'Sidecar/other', 'kind', /exactly one is allowed \(the first is Sidecar\/me/);
  expectError(service('a'), undefined, '', /no Sidecar resource/);
});

test('an unknown filter lists the registered ones', () => {
  expectError(
    docs(SIDECAR, service('a'), route('a', `  service: a\n  rules:\n    - filters: [{ name: header-mutation, config: {} }, { name: gzip }]\n${FORWARD_A}`)),
    'Route/a',
    'spec.rules[0].filters[1].name',
    /unknown filter "gzip" \(registered filters: fault, header-mutation, local-rate-limit\)/,
  );
});

test("a filter's own config errors land under the filter's path", () => {
  const text = docs(
    SIDECAR,
    service('a'),
    route('a', `  service: a\n  rules:\n    - backends: [{ service: a }]\n    - filters: [{ name: local-rate-limit }, { name: fault, config: { abort: { status: 503, percent: 150 } } }]\n${FORWARD_A}`),
  );
  expectError(text, 'Route/a', 'spec.rules[1].filters[1].config.abort.percent', /between 0 and 100/);
  expectError(text, 'Route/a', 'spec.rules[1].filters[0].config.maxTokens', /required/);
});

test('an unknown load balancer lists the registered ones', () => {
  expectError(
    docs(SIDECAR, service('a'), policy('p', '  service: a\n  loadBalancer: { policy: random }\n')),
    'TrafficPolicy/p',
    'spec.loadBalancer.policy',
    /unknown load balancer "random" \(registered: least-request, peak-ewma, ring-hash, round-robin\)/,
  );
});

test('ring-hash needs hashOn', () => {
  expectError(docs(SIDECAR, service('a'), policy('p', '  service: a\n  loadBalancer: { policy: ring-hash }\n')), 'TrafficPolicy/p', 'spec.loadBalancer.hashOn', /required when policy is ring-hash/);
  const ok = valueOf(build(docs(SIDECAR, service('a'), policy('p', '  service: a\n  loadBalancer: { policy: ring-hash, hashOn: { header: X-User }, ringSize: 1024 }\n'))));
  assert.deepEqual(ok.clusters[0]!.loadBalancer, { policy: 'ring-hash', hashOn: { header: 'x-user' }, ringSize: 1024 });
});

test('a TrafficPolicy for an unknown service, and a second policy for one service', () => {
  expectError(docs(SIDECAR, service('a'), policy('p', '  service: b\n')), 'TrafficPolicy/p', 'spec.service', /unknown service "b"/);
  expectError(docs(SIDECAR, service('a'), policy('p', '  service: a\n'), policy('q', '  service: a\n')), 'TrafficPolicy/q', 'spec.service', /already has a policy: TrafficPolicy\/p/);
});

test('a Route for a tcp service, or forwarding to one', () => {
  expectError(docs(SIDECAR, service('db', '', 'tcp'), route('db', '  service: db\n  rules:\n    - backends: [{ service: db }]\n')), 'Route/db', 'spec.service', /speaks tcp/);
  expectError(docs(SIDECAR, service('a'), service('db', '', 'tcp'), route('a', '  service: a\n  rules:\n    - backends: [{ service: db }]\n')), 'Route/a', 'spec.rules[0].backends[0].service', /speaks tcp/);
});

test('Sidecar local ports: unknown service, http port to a tcp service', () => {
  const sidecar = (ports: string) => `apiVersion: strata.dev/v1alpha1\nkind: Sidecar\nmetadata: { name: me }\nspec:\n  outbound:\n    ports:\n${ports}`;
  expectError(docs(sidecar('      - { port: 9001, service: nope }\n'), service('a')), 'Sidecar/me', 'spec.outbound.ports[0].service', /unknown service "nope"/);
  expectError(docs(sidecar('      - { port: 9001, service: db, protocol: http }\n'), service('db', '', 'tcp')), 'Sidecar/me', 'spec.outbound.ports[0].protocol', /speaks tcp/);
});

test('port out of range and duplicate listener ports', () => {
  const sidecar = (spec: string) => `apiVersion: strata.dev/v1alpha1\nkind: Sidecar\nmetadata: { name: me }\nspec:\n${spec}`;
  expectError(docs(sidecar('  admin: { port: 0 }\n'), service('a')), 'Sidecar/me', 'spec.admin.port', /between 1 and 65535 \(got 0\)/);
  expectError(
    docs(sidecar('  admin: { port: 9001 }\n  outbound:\n    ports: [{ port: 9001, service: a }]\n'), service('a')),
    'Sidecar/me',
    'spec.admin.port',
    /port 9001 is already used by spec.outbound.ports\[0\].port/,
  );
});

test('all-zero weights and a bad regex are reported at their fields', () => {
  expectError(docs(SIDECAR, service('a'), route('a', '  service: a\n  rules:\n    - backends: [{ service: a, weight: 0 }]\n')), 'Route/a', 'spec.rules[0].backends', /more than 0/);
  expectError(
    docs(SIDECAR, service('a'), route('a', `  service: a\n  rules:\n    - match: { headers: [{ name: x, regex: "(" }] }\n${FORWARD_A}`)),
    'Route/a',
    'spec.rules[0].match.headers[0].regex',
    /invalid regular expression/,
  );
});

test('a host answered by two services', () => {
  expectError(docs(SIDECAR, service('a'), service('b', '  aliases: [A]\n')), 'Service/b', 'spec.aliases[0]', /host "a" is already answered by service "a"/);
});

test("an alias in Strata's own namespace is refused", () => {
  expectError(docs(SIDECAR, service('a', '  aliases: [ok.example, Strata.Priority]\n')), 'Service/a', 'spec.aliases[1]', /reserved for Strata's own xDS resources/);
});

test('errors across resources are all reported together', () => {
  const errors = errorsOf(
    build(
      docs(
        service('a'),
        route('a', '  service: a\n  rules:\n    - backends: [{ service: x }]\n      filters: [{ name: nope }]\n'),
        policy('p', '  service: y\n'),
      ),
      'cfg.yaml',
    ),
  );
  assert.deepEqual(
    errors.map((e) => `${e.resource ?? '-'} ${e.path}`).sort(),
    ['- ', 'Route/a spec.rules[0].backends[0].service', 'Route/a spec.rules[0].filters[0].name', 'TrafficPolicy/p spec.service'],
  );
});

test('hand-built resources are validated too', () => {
  const bad = { apiVersion: 'strata.dev/v1alpha1', kind: 'Service', metadata: { name: 'a' }, spec: { endpoints: 'none' } } as unknown as Resource;
  const errors = errorsOf(compileSnapshot([bad], 'api'));
  assert.deepEqual(errorAt(errors, 'spec.endpoints'), { source: 'api', resource: 'Service/a', path: 'spec.endpoints', message: 'expected a list, got "none"' });
  const good = valueOf(decodeResources(docs(SIDECAR, service('a')), 'x.yaml'));
  assert.equal(valueOf(compileSnapshot(good, 'x.yaml')).clusters.length, 1);
});
