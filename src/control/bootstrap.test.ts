/**
 * Envoy compatibility without an Envoy: the bootstrap (and the JSON examples in docs/envoy.md)
 * are read the way Envoy reads them — strict proto3 JSON against envoy.config.bootstrap.v3 from
 * the same .proto trees the control plane encodes with — and the resources the control plane
 * serves carry the fields Envoy requires.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import type { Enum, Type } from 'protobufjs';
import '../proxy/balancer/index.js';
import '../proxy/filters/index.js';
import { decodeResources } from '../config/decode.js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  FILTER_CONFIG_TYPE_URL,
  HTTP_CONNECTION_MANAGER_TYPE_URL,
  HTTP_PROTOCOL_OPTIONS_KEY,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
  ROUTER_FILTER_NAME,
  TYPED_STRUCT_TYPE_URL,
  decodeResource,
  unpack,
} from '../xds/protos.js';
import type { XdsAny, XdsMessage } from '../xds/protos.js';
import { jsonToStruct, structToJson } from '../xds/wkt.js';
import { DEFAULT_ENVOY_ADMIN_PORT, ENVOY_XDS_CLUSTER, envoyBootstrap } from './bootstrap.js';
import type { EnvoyBootstrapOptions } from './bootstrap.js';
import { meshToXds } from './control-plane.js';
import { compileMesh } from './mesh-compile.js';
import { dependenciesOf } from './scope.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';

// ---- the protos, loaded as src/xds/protos.ts does, plus the bootstrap --------------------------

let root: protobuf.Root | undefined;
function bootstrapRoot(): protobuf.Root {
  if (root) return root;
  const require = createRequire(import.meta.url);
  const descriptor = require('protobufjs/google/protobuf/descriptor.json') as { nested: { google: { nested: { protobuf: { nested: unknown } } } } };
  protobuf.common('descriptor', descriptor.nested.google.nested.protobuf.nested as never);
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const includeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    if (target.startsWith('/') && existsSync(target)) return target;
    for (const dir of includeDirs) if (existsSync(join(dir, target))) return join(dir, target);
    return protobuf.util.path.resolve(origin, target);
  };
  r.loadSync(
    [
      'envoy/config/bootstrap/v3/bootstrap.proto',
      'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
      'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
      'envoy/extensions/filters/http/router/v3/router.proto',
    ],
    { keepCase: true },
  );
  r.resolveAll();
  root = r;
  return r;
}

// ---- proto3 JSON (what Envoy reads) → protobufjs objects, strictly --------------------------------

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`));
const DURATION = /^(\d+)(?:\.(\d{1,9}))?s$/;

/**
 * Convert proto3 canonical JSON to the object protobufjs `fromObject` takes, refusing what
 * Envoy's parser refuses: unknown fields, unknown enum names, two members of one oneof, an
 * Any whose `@type` is not a known message, a malformed Duration. protobufjs alone would drop
 * such values silently.
 */
function fromProtoJson(type: Type, json: unknown, path: string, errors: string[]): Record<string, unknown> {
  const name = type.fullName;
  if (name === '.google.protobuf.Struct') {
    if (!isObject(json)) errors.push(`${path}: expected an object (Struct)`);
    return isObject(json) ? jsonToStruct(json) : {};
  }
  if (name === '.google.protobuf.Duration') {
    const m = typeof json === 'string' ? DURATION.exec(json) : null;
    if (!m) errors.push(`${path}: expected a duration like "1.5s", got ${JSON.stringify(json)}`);
    const nanos = Number((m?.[2] ?? '').padEnd(9, '0'));
    return m ? { seconds: Number(m[1]), ...(nanos > 0 && { nanos }) } : {};
  }
  if (WRAPPERS.has(name)) return { value: json };
  if (!isObject(json)) {
    errors.push(`${path}: expected an object (${name.slice(1)}), got ${JSON.stringify(json)}`);
    return {};
  }
  if (name === '.google.protobuf.Any') {
    const typeUrl = json['@type'];
    const inner = typeof typeUrl === 'string' ? type.root.lookup(typeUrl.slice(typeUrl.lastIndexOf('/') + 1)) : null;
    if (!(inner instanceof protobuf.Type) || typeof typeUrl !== 'string') {
      errors.push(`${path}: Any with unknown @type ${JSON.stringify(typeUrl)}`);
      return {};
    }
    const { '@type': _drop, ...rest } = json;
    const value = fromProtoJson(inner, rest, `${path}<${inner.name}>`, errors);
    return { type_url: typeUrl, value: inner.encode(inner.fromObject(value)).finish() };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = type.fields[key] ?? type.fieldsArray.find((f) => protobuf.util.camelCase(f.name) === key);
    const at = `${path}.${key}`;
    if (!field) {
      errors.push(`${at}: unknown field of ${name.slice(1)}`);
      continue;
    }
    field.resolve();
    const one = (v: unknown, p: string): unknown => {
      const t = field.resolvedType;
      if (t instanceof protobuf.Type) return fromProtoJson(t, v, p, errors);
      if (t) {
        const e = t as Enum;
        if (typeof v === 'string' && !(v in e.values)) errors.push(`${p}: ${JSON.stringify(v)} is not a ${e.name} value`);
        return v;
      }
      return v;
    };
    if (field.map) {
      if (!isObject(value)) errors.push(`${at}: expected a map`);
      else out[field.name] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, one(v, `${at}[${k}]`)]));
    } else if (field.repeated) {
      if (!Array.isArray(value)) errors.push(`${at}: expected a list`);
      else out[field.name] = value.map((v, i) => one(v, `${at}[${i}]`));
    } else out[field.name] = one(value, at);
  }
  for (const oneof of type.oneofsArray) {
    const set = oneof.fieldsArray.filter((f) => f.name in out);
    if (set.length > 1) errors.push(`${path}: ${set.map((f) => f.name).join(' and ')} are one of ${oneof.name}; set only one`);
  }
  return out;
}

/** What Envoy would parse from `json` as `typeName`: verified, encoded, decoded again. */
function parseLikeEnvoy(typeName: string, json: unknown): { type: Type; message: protobuf.Message; object: XdsMessage } {
  const type = bootstrapRoot().lookupType(typeName);
  const errors: string[] = [];
  const plain = fromProtoJson(type, json, typeName.slice(typeName.lastIndexOf('.') + 1), errors);
  assert.deepEqual(errors, [], 'the JSON is not a valid message');
  const built = type.fromObject(plain);
  assert.equal(type.verify(built), null);
  const message = type.decode(type.encode(built).finish());
  const object = type.toObject(message, { enums: String, longs: String, defaults: false, oneofs: true });
  // Encoding is lossless: the decoded message re-encodes to the same bytes.
  assert.deepEqual(type.encode(type.fromObject(object)).finish(), type.encode(built).finish());
  return { type, message, object };
}

const rec = (v: unknown, what = 'value'): XdsMessage => {
  assert.ok(isObject(v), `expected ${what} to be a message, got ${JSON.stringify(v)}`);
  return v;
};
const list = (v: unknown, what = 'value'): unknown[] => {
  assert.ok(Array.isArray(v), `expected ${what} to be a list, got ${JSON.stringify(v)}`);
  return v;
};

/** Every Any in a decoded message (protobufjs objects carry type_url + value bytes). */
function anysIn(v: unknown, out: XdsAny[] = []): XdsAny[] {
  if (Array.isArray(v)) for (const x of v) anysIn(x, out);
  else if (isObject(v)) {
    if (typeof v.type_url === 'string' && v.value instanceof Uint8Array) out.push(v as unknown as XdsAny);
    else for (const x of Object.values(v)) anysIn(x, out);
  }
  return out;
}

const OPTIONS: EnvoyBootstrapOptions = {
  service: 'frontend',
  servers: ['10.0.0.1:15010', '10.0.0.2:15010'],
  namespace: 'shop',
  locality: 'eu/zone-a/rack-1',
  adminPort: 9902,
  dependencies: ['backend', 'db', 'backend'],
};

// ---- the bootstrap --------------------------------------------------------------------------------

test('envoy bootstrap: proto3 JSON that parses strictly as envoy.config.bootstrap.v3.Bootstrap', () => {
  const r = envoyBootstrap(OPTIONS);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  // What `strata bootstrap envoy` prints and Envoy reads is the JSON text.
  const { object: b } = parseLikeEnvoy(BOOTSTRAP, JSON.parse(JSON.stringify(r.value)));

  const node = rec(b.node);
  assert.equal(node.id, 'frontend~envoy');
  assert.equal(node.cluster, 'frontend');
  assert.deepEqual(node.locality, { region: 'eu', zone: 'zone-a', sub_zone: 'rack-1' });
  assert.deepEqual(structToJson(node.metadata), {
    'strata.service': 'frontend',
    'strata.namespace': 'shop',
    'strata.kind': 'envoy',
    'strata.dependencies': 'backend,db',
  });
  assert.deepEqual(dependenciesOf({ id: String(node.id), metadata: node.metadata }), ['backend', 'db'], 'the control plane reads the dependencies (scoped push)');

  const dyn = rec(b.dynamic_resources);
  const ads = rec(dyn.ads_config);
  assert.equal(ads.api_type, 'GRPC');
  assert.equal(ads.transport_api_version, 'V3');
  assert.deepEqual(list(ads.grpc_services).map((g) => rec(rec(g).envoy_grpc).cluster_name), [ENVOY_XDS_CLUSTER]);
  for (const key of ['cds_config', 'lds_config']) {
    const source = rec(dyn[key], key);
    assert.equal(source.config_source_specifier, 'ads', `${key} is served over ADS`);
    assert.equal(source.resource_api_version, 'V3');
  }

  const clusters = list(rec(b.static_resources).clusters).map((c) => rec(c));
  assert.equal(clusters.length, 1);
  const xds = clusters[0]!;
  assert.equal(xds.name, ENVOY_XDS_CLUSTER);
  assert.equal(xds.type, 'STATIC');
  const cla = rec(xds.load_assignment);
  assert.equal(cla.cluster_name, ENVOY_XDS_CLUSTER);
  const byPriority = list(cla.endpoints).map((e) => {
    const entry = rec(e);
    const sa = rec(rec(rec(rec(list(entry.lb_endpoints)[0]).endpoint).address).socket_address);
    return `${String(entry.priority ?? 0)} ${String(sa.address)}:${String(sa.port_value)}`;
  });
  assert.deepEqual(byPriority, ['0 10.0.0.1:15010', '1 10.0.0.2:15010'], 'one priority per address, in the order given');
  const hc = rec(list(xds.health_checks)[0]);
  assert.deepEqual(hc.interval, { seconds: '5' });
  assert.ok(hc.tcp_health_check !== undefined, 'a TCP check marks a dead control plane unhealthy, so the next priority takes over');

  const admin = rec(rec(rec(b.admin).address).socket_address);
  assert.deepEqual([admin.address, admin.port_value], ['127.0.0.1', 9902]);
});

test('envoy bootstrap: the extension options Any resolves to HttpProtocolOptions with HTTP/2', () => {
  const r = envoyBootstrap(OPTIONS);
  assert.ok(r.ok);
  const { object: b } = parseLikeEnvoy(BOOTSTRAP, JSON.parse(JSON.stringify(r.value)));
  const anys = anysIn(b);
  assert.equal(anys.length, 1);
  for (const any of anys) {
    const type = bootstrapRoot().lookupType(any.type_url.slice(any.type_url.lastIndexOf('/') + 1));
    assert.ok(any.value.length > 0, `${any.type_url} carries a message`);
    type.decode(any.value);
  }
  const cluster = rec(list(rec(b.static_resources).clusters)[0]);
  const any = rec(cluster.typed_extension_protocol_options)[HTTP_PROTOCOL_OPTIONS_KEY] as XdsAny;
  assert.equal(any.type_url, `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS_KEY}`);
  const options = unpack(any);
  assert.ok(rec(options.explicit_http_config).http2_protocol_options !== undefined, 'the xDS stream is gRPC: HTTP/2 to the control plane');
});

test('envoy bootstrap: a host name needs STRICT_DNS; one address needs no health check; defaults', () => {
  const r = envoyBootstrap({ service: 'echo', servers: ['strata-control.mesh.svc:15010'] });
  assert.ok(r.ok);
  const { object: b } = parseLikeEnvoy(BOOTSTRAP, JSON.parse(JSON.stringify(r.value)));
  const cluster = rec(list(rec(b.static_resources).clusters)[0]);
  assert.equal(cluster.type, 'STRICT_DNS');
  assert.equal(cluster.health_checks, undefined);
  assert.equal(rec(b.node).id, 'echo~envoy');
  assert.deepEqual(rec(b.node).locality, {}, 'the locality is present even when empty');
  assert.equal(structToJson(rec(b.node).metadata)?.['strata.dependencies'], undefined);
  assert.equal(r.value.admin.address.socket_address.port_value, DEFAULT_ENVOY_ADMIN_PORT);
  const v6 = envoyBootstrap({ service: 'echo', servers: ['[::1]:15010'] });
  assert.ok(v6.ok);
  assert.equal(v6.value.static_resources.clusters[0]?.type, 'STATIC');
  assert.equal(v6.value.static_resources.clusters[0]?.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint.address.socket_address.address, '::1');
});

test('envoy bootstrap: every bad option is reported, named as on the command line', () => {
  const r = envoyBootstrap({ service: 'Bad_Name', servers: ['ok:1', 'nope'], adminPort: 70000, dependencies: ['fine', 'not fine'] });
  assert.equal(r.ok, false);
  assert.deepEqual(
    !r.ok && r.errors.map((e) => e.path),
    ['--service', '--xds-server[1]', '--admin-port', '--dependencies[1]'],
  );
  const none = envoyBootstrap({ service: 'echo', servers: [] });
  assert.ok(!none.ok && none.errors.some((e) => e.path === '--xds-server'));
});

test('the strict reader refuses what Envoy refuses', () => {
  const bad = {
    node: { id: 'x', colour: 'blue' },
    dynamic_resources: { ads_config: { api_type: 'GRPCC' }, cds_config: { ads: {}, path: '/x' } },
    static_resources: { clusters: [{ name: 'c', typed_extension_protocol_options: { k: { '@type': 'type.googleapis.com/no.Such' } }, connect_timeout: '5 seconds' }] },
  };
  const errors: string[] = [];
  fromProtoJson(bootstrapRoot().lookupType(BOOTSTRAP), bad, 'Bootstrap', errors);
  assert.equal(errors.length, 5, errors.join('\n'));
  assert.ok(errors.some((e) => e.includes('colour') && e.includes('unknown field')));
  assert.ok(errors.some((e) => e.includes('GRPCC')));
  assert.ok(errors.some((e) => e.includes('one of config_source_specifier')));
  assert.ok(errors.some((e) => e.includes('no.Such')));
  assert.ok(errors.some((e) => e.includes('connect_timeout')));
});

// ---- docs/envoy.md --------------------------------------------------------------------------------

/** The ```json blocks of docs/envoy.md, each after a `<!-- proto: full.Name -->` line. */
function docExamples(): { typeName: string; json: unknown }[] {
  const text = readFileSync(join(ROOT, 'docs/envoy.md'), 'utf8');
  const out: { typeName: string; json: unknown }[] = [];
  for (const m of text.matchAll(/<!-- proto: ([\w.]+) -->\s*```json\n([\s\S]*?)```/g)) out.push({ typeName: m[1]!, json: JSON.parse(m[2]!) });
  return out;
}

test('docs/envoy.md: the example bootstrap is what the documented command prints; every example parses', () => {
  const examples = docExamples();
  assert.ok(examples.length >= 2, 'the doc shows a bootstrap and a static listener');
  const text = readFileSync(join(ROOT, 'docs/envoy.md'), 'utf8');
  assert.ok(text.includes('strata bootstrap envoy --service frontend --xds-server 10.0.0.1:15010 --xds-server 10.0.0.2:15010 --dependencies backend'));
  const expected = envoyBootstrap({ service: 'frontend', servers: ['10.0.0.1:15010', '10.0.0.2:15010'], dependencies: ['backend'], namespace: 'default' });
  assert.ok(expected.ok);
  assert.deepEqual(examples[0], { typeName: BOOTSTRAP, json: JSON.parse(JSON.stringify(expected.value)) }, 'docs/envoy.md is out of date with envoyBootstrap()');
  for (const e of examples) parseLikeEnvoy(e.typeName, e.json);
});

// ---- the resources the control plane serves -------------------------------------------------------

test('meshToXds: every resource decodes as its Envoy type with the fields Envoy requires', () => {
  const decoded = decodeResources(readFileSync(join(ROOT, 'examples/sidecar.yaml'), 'utf8'), 'examples/sidecar.yaml');
  assert.ok(decoded.ok, JSON.stringify(!decoded.ok && decoded.errors));
  const mesh = compileMesh(decoded.value, [{ service: 'backend', address: '10.1.0.7', port: 8080, metadata: { locality: 'eu/zone-b' } }]);
  assert.ok(mesh.ok, JSON.stringify(!mesh.ok && mesh.errors));
  const set = meshToXds(mesh.value);
  const resources = (typeUrl: string): [string, XdsMessage][] =>
    [...(set.get(typeUrl) ?? new Map<string, XdsAny>())].map(([name, any]) => {
      assert.equal(any.type_url, typeUrl);
      return [name, decodeResource(typeUrl, any.value)];
    });

  const clusters = resources(CLUSTER_TYPE_URL);
  assert.deepEqual(clusters.map(([n]) => n).sort(), ['backend', 'backend-canary', 'db']);
  for (const [name, c] of clusters) {
    assert.equal(c.name, name);
    assert.equal(c.type, 'EDS', `${name}: type EDS`);
    assert.ok(rec(rec(rec(c.eds_cluster_config).eds_config).ads, `${name} eds_config.ads`) !== undefined);
    assert.ok(['ROUND_ROBIN', 'RING_HASH'].includes(String(c.lb_policy ?? 'ROUND_ROBIN')), `${name}: lb_policy ${String(c.lb_policy)}`);
    for (const any of Object.values(rec(c.typed_extension_protocol_options ?? {}))) unpack(any as XdsAny);
  }
  const backend = rec(clusters.find(([n]) => n === 'backend')?.[1]);
  assert.ok(list(backend.health_checks).length === 1 && backend.outlier_detection !== undefined, 'native health check and outlier detection');

  const clas = resources(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL);
  assert.deepEqual(clas.map(([n]) => n).sort(), clusters.map(([n]) => n).sort(), 'one ClusterLoadAssignment per EDS cluster');
  for (const [name, cla] of clas) {
    assert.equal(cla.cluster_name, name);
    for (const e of list(cla.endpoints ?? [])) {
      for (const lb of list(rec(e).lb_endpoints)) {
        const sa = rec(rec(rec(rec(lb).endpoint).address).socket_address);
        assert.ok(typeof sa.address === 'string' && Number(sa.port_value) > 0, `${name}: socket address`);
      }
    }
  }
  assert.ok(
    clas.some(([, cla]) => list(cla.endpoints).some((e) => rec(rec(e).locality ?? {}).zone === 'zone-b')),
    'a registered endpoint lands in its locality',
  );

  const routeConfigs = new Map(resources(ROUTE_CONFIGURATION_TYPE_URL));
  // A TCP service (db) has a cluster only: no virtual host, so no routes and no listener.
  assert.deepEqual([...routeConfigs.keys()].sort(), ['backend-canary-routes', 'backend-routes']);
  let filterConfigs = 0;
  for (const [name, rc] of routeConfigs) {
    assert.equal(rc.name, name);
    const hosts = list(rc.virtual_hosts).map((h) => rec(h));
    assert.ok(hosts.length > 0, `${name}: virtual_hosts`);
    const domains = hosts.flatMap((h) => list(h.domains).map(String));
    assert.ok(domains.length > 0 && domains.every((d) => d !== ''), `${name}: domains`);
    assert.equal(new Set(domains).size, domains.length, `${name}: Envoy refuses a domain listed twice in one route configuration`);
    for (const h of hosts) {
      for (const r of list(h.routes).map((x) => rec(x))) {
        assert.ok(r.match !== undefined && rec(r.match).path_specifier !== undefined, `${name}/${String(r.name)}: match with a path specifier`);
        assert.ok(['route', 'redirect', 'direct_response'].includes(String(r.action)), `${name}/${String(r.name)}: an action`);
        const action = rec(r.route ?? {});
        const clusterNames = action.cluster !== undefined ? [action.cluster] : list(rec(action.weighted_clusters).clusters).map((w) => rec(w).name);
        for (const c of clusterNames) assert.ok(clusters.some(([n]) => n === c), `${name}: route to a served cluster ${String(c)}`);
        for (const [key, any] of Object.entries(rec(r.typed_per_filter_config ?? {}))) {
          const fc = unpack(any as XdsAny);
          assert.equal((any as XdsAny).type_url, FILTER_CONFIG_TYPE_URL, key);
          assert.equal(fc.is_optional, true, `${key}: optional, so an Envoy without the filter may skip it`);
          assert.equal(rec(fc.config).type_url, TYPED_STRUCT_TYPE_URL);
          filterConfigs++;
        }
      }
    }
  }
  assert.equal(filterConfigs, 3, 'the example route carries three Strata filters');

  const listeners = resources(LISTENER_TYPE_URL);
  assert.ok(listeners.length > 0);
  for (const [name, l] of listeners) {
    assert.equal(l.name, name);
    assert.equal(l.address, undefined, 'API listeners have no socket address (the proxyless-gRPC shape)');
    const any = rec(rec(l.api_listener, `${name}.api_listener`).api_listener) as unknown as XdsAny;
    assert.equal(any.type_url, HTTP_CONNECTION_MANAGER_TYPE_URL);
    const hcm = unpack(any);
    assert.ok(typeof hcm.stat_prefix === 'string' && hcm.stat_prefix !== '', `${name}: stat_prefix (required by Envoy)`);
    const rds = rec(hcm.rds);
    assert.ok(rec(rds.config_source).ads !== undefined, `${name}: RDS over ADS`);
    assert.ok(routeConfigs.has(String(rds.route_config_name)), `${name}: route_config_name ${String(rds.route_config_name)} is served`);
    const filters = list(hcm.http_filters).map((f) => rec(f));
    assert.equal(filters[filters.length - 1]?.name, ROUTER_FILTER_NAME);
  }
  assert.deepEqual(
    listeners.filter(([n]) => n === 'backend' || n === 'api.internal').map(([n, l]) => [n, rec(unpack(rec(l.api_listener).api_listener as XdsAny).rds).route_config_name]),
    [['backend', 'backend-routes'], ['api.internal', 'backend-routes']],
    'aliases get a listener too, onto the service routes',
  );
});
