/**
 * @module xds/protos
 * The xDS v3 protobuf types, loaded once from the .proto trees that ship in
 * `@grpc/grpc-js-xds`'s deps/ folder, plus `pack`/`unpack` for `google.protobuf.Any`.
 * Messages are plain objects with the proto field names (snake_case), the shape
 * protobufjs `fromObject` accepts and `toObject` returns.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';

export const LISTENER_TYPE_URL = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_CONFIGURATION_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE_URL = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const CLUSTER_LOAD_ASSIGNMENT_TYPE_URL = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const HTTP_CONNECTION_MANAGER_TYPE_URL =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_FILTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const TYPED_STRUCT_TYPE_URL = 'type.googleapis.com/xds.type.v3.TypedStruct';
export const FILTER_CONFIG_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';
export const UPSTREAM_TLS_CONTEXT_TYPE_URL =
  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const HTTP_PROTOCOL_OPTIONS_TYPE_URL = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Name of the router HTTP filter; it must end every HttpConnectionManager filter chain. */
export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';
export const TLS_TRANSPORT_SOCKET_NAME = 'envoy.transport_sockets.tls';
export const HTTP_PROTOCOL_OPTIONS_KEY = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** `google.protobuf.Any` as a plain object. */
export interface XdsAny {
  type_url: string;
  value: Uint8Array;
}

/** A decoded or to-be-encoded protobuf message as a plain object. */
export type XdsMessage = Record<string, unknown>;

const PROTO_FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'xds/type/v3/typed_struct.proto',
];

/** How decoded messages become plain objects: enum names, 64-bit integers as strings, oneof discriminators. */
export const TO_OBJECT_OPTIONS = Object.freeze({ longs: String, enums: String, defaults: false, oneofs: true });

let root: protobuf.Root | undefined;

/** Make google/protobuf/descriptor.proto (imported by the validate annotations) resolvable. */
function addDescriptorProto(): void {
  const require = createRequire(import.meta.url);
  const json = require('protobufjs/google/protobuf/descriptor.json') as {
    nested: { google: { nested: { protobuf: { nested: Record<string, unknown> } } } };
  };
  protobuf.common('descriptor', json.nested.google.nested.protobuf.nested as never);
}

function depsDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json');
  return join(dirname(pkg), 'deps');
}

/** The protobuf root holding every xDS type Strata uses (loaded on first use, then cached). */
export function xdsRoot(): protobuf.Root {
  if (root) return root;
  const deps = depsDir();
  const includeDirs = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
  addDescriptorProto();
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    if (target.startsWith('/') && existsSync(target)) return target;
    for (const dir of includeDirs) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    // Well-known types (google/protobuf/*.proto) come from protobufjs itself.
    return protobuf.util.path.resolve(origin, target);
  };
  r.loadSync(PROTO_FILES, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** The protobuf message type named by a type URL (`type.googleapis.com/pkg.Name`) or a full name. */
export function lookupType(typeUrlOrName: string): Type {
  const name = typeUrlOrName.slice(typeUrlOrName.lastIndexOf('/') + 1);
  return xdsRoot().lookupType(name);
}

/** Encode `message` (a plain object) as the given type and wrap it in an Any. Throws on a value the type rejects. */
export function pack(typeUrl: string, message: XdsMessage): XdsAny {
  const type = lookupType(typeUrl);
  // fromObject turns enum names into numbers; verify then checks every field's type.
  const built = type.fromObject(message);
  const err = type.verify(built);
  if (err) throw new Error(`${typeUrl}: ${err}`);
  return { type_url: typeUrl, value: type.encode(built).finish() };
}

/** Decode an Any into a plain object. Throws on an unknown type URL or malformed bytes. */
export function unpack(any: XdsAny): XdsMessage {
  const type = lookupType(any.type_url);
  return type.toObject(type.decode(any.value), TO_OBJECT_OPTIONS);
}

/** Encode a resource to bytes (what goes on the wire inside a DiscoveryResponse). */
export function encodeResource(typeUrl: string, message: XdsMessage): Uint8Array {
  return pack(typeUrl, message).value;
}

/** Decode resource bytes into a plain object. */
export function decodeResource(typeUrl: string, bytes: Uint8Array): XdsMessage {
  return unpack({ type_url: typeUrl, value: bytes });
}
