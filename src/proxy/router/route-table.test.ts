import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { RouteSpec, VirtualHostSpec } from '../../config/snapshot.js';
import { RouteTable, compileRoute, pickBackend, rewritePath } from './route-table.js';

function route(name: string, match: RouteSpec['match'], backends = [{ cluster: name, weight: 1 }], prefixRewrite?: string): RouteSpec {
  return { name, match, action: { kind: 'forward', backends, ...(prefixRewrite !== undefined && { prefixRewrite }) }, timeoutMs: 0, filters: [] };
}

const hosts: VirtualHostSpec[] = [
  {
    name: 'web',
    domains: ['web', 'web.example'],
    routes: [
      route('exact', { path: { exact: '/exact' } }),
      route('regex', { path: { regex: '/items/[0-9]+' } }),
      route('post', { path: { prefix: '/api' }, methods: ['POST'] }),
      route('hdr', { path: { prefix: '/api' }, headers: [{ name: 'x-v', match: { exact: '2' } }] }),
      route('not-beta', { path: { prefix: '/api' }, headers: [{ name: 'x-beta', match: { present: true }, invert: true }] }),
      route('rest', { path: { prefix: '/' } }),
    ],
  },
  { name: 'fallback', domains: ['*'], routes: [route('any', {})] },
];

test('virtual host by authority: name, alias, port ignored, case-insensitive, wildcard', () => {
  const t = new RouteTable(hosts);
  assert.equal(t.virtualHost('web')?.spec.name, 'web');
  assert.equal(t.virtualHost('WEB.example:8080')?.spec.name, 'web');
  assert.equal(t.virtualHost('other')?.spec.name, 'fallback');
  assert.equal(new RouteTable([hosts[0] as VirtualHostSpec]).virtualHost('other'), undefined);
});

test('first matching rule wins; path, method and header matchers', () => {
  const vh = new RouteTable(hosts).virtualHost('web');
  assert.ok(vh);
  const m = (method: string, path: string, headers: Record<string, string> = {}): string | undefined => RouteTable.match(vh, method, path, headers)?.spec.name;
  assert.equal(m('GET', '/exact'), 'exact');
  assert.equal(m('GET', '/exact?q=1'), 'exact', 'the query is not part of an exact match');
  assert.equal(m('GET', '/exact/more'), 'rest');
  assert.equal(m('GET', '/items/42'), 'regex');
  assert.equal(m('GET', '/items/42x'), 'rest', 'regex is anchored');
  assert.equal(m('POST', '/api/x'), 'post');
  assert.equal(m('GET', '/api/x', { 'x-v': '2' }), 'hdr');
  assert.equal(m('GET', '/api/x'), 'not-beta');
  assert.equal(m('GET', '/api/x', { 'x-beta': '1' }), 'rest');
});

test('prefix rewrite replaces only the matched prefix', () => {
  const r = compileRoute(route('rw', { path: { prefix: '/old/' } }, undefined, '/new/'));
  assert.equal(rewritePath(r, '/old/a?b=1'), '/new/a?b=1');
  const root = compileRoute(route('rw2', { path: { prefix: '/v1' } }, undefined, ''));
  assert.equal(rewritePath(root, '/v1/users'), '/users');
  assert.equal(rewritePath(root, '/v1'), '/');
});

test('weighted split follows the weights', () => {
  const r = compileRoute(route('split', {}, [{ cluster: 'a', weight: 3 }, { cluster: 'b', weight: 1 }]));
  let seed = 1;
  const rand = (): number => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  let a = 0;
  for (let i = 0; i < 10_000; i++) if (pickBackend(r, rand)?.cluster === 'a') a++;
  assert.ok(a > 7200 && a < 7800, `a got ${a}`);
});

test('matching never throws on arbitrary methods, paths and headers', () => {
  const t = new RouteTable(hosts);
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.string(), fc.dictionary(fc.string(), fc.string()), (authority, method, path, headers) => {
      const vh = t.virtualHost(authority);
      if (vh) RouteTable.match(vh, method, path, headers);
    }),
    { numRuns: 500 },
  );
});
