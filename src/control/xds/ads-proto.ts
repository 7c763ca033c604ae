/**
 * @module control/xds/ads-proto
 * The Aggregated Discovery Service (envoy.service.discovery.v3) loaded with @grpc/proto-loader
 * from @grpc/grpc-js-xds's deps/ folder, and the request/response shapes the server uses.
 * Messages keep the proto field names (keepCase); `Any` is `{type_url, value}`.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
} from '../../xds/protos.js';
import type { XdsAny } from '../../xds/protos.js';
import type { XdsNode } from './snapshot-cache.js';

export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

/** Push order on change: CDS → EDS → LDS → RDS (make-before-break). */
export const PUSH_ORDER: readonly string[] = Object.freeze([
  CLUSTER_TYPE_URL,
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
]);

/** Types whose empty subscription means "everything" (wildcard) and whose SotW replies carry every resource. */
export const WILDCARD_TYPES: ReadonlySet<string> = new Set([LISTENER_TYPE_URL, CLUSTER_TYPE_URL]);

/** google.rpc.Status as carried in error_detail. */
export interface RpcStatus {
  code?: number;
  message?: string;
}

export interface DiscoveryRequest {
  version_info?: string;
  node?: XdsNode | null;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: RpcStatus | null;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: XdsAny[];
  type_url: string;
  nonce: string;
  control_plane?: { identifier: string };
}

export interface DeltaDiscoveryRequest {
  node?: XdsNode | null;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: RpcStatus | null;
}

export interface DeltaResource {
  name: string;
  version: string;
  resource: XdsAny;
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
  control_plane?: { identifier: string };
}

export const LOADER_OPTIONS: protoLoader.Options = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: includeDirs(),
});

function includeDirs(): string[] {
  const pkg = createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json');
  const deps = join(dirname(pkg), 'deps');
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
}

let cached: grpc.ServiceClientConstructor | undefined;

/** The ADS client constructor (its `.service` is the service definition a server adds). */
export function adsService(): grpc.ServiceClientConstructor {
  if (cached) return cached;
  const def = protoLoader.loadSync('envoy/service/discovery/v3/ads.proto', LOADER_OPTIONS);
  const ctor = def[ADS_SERVICE_NAME];
  if (!ctor) throw new Error(`${ADS_SERVICE_NAME} not found in ads.proto`);
  const loaded = grpc.loadPackageDefinition({ [ADS_SERVICE_NAME]: ctor }) as unknown as Record<string, grpc.ServiceClientConstructor>;
  const svc = loaded[ADS_SERVICE_NAME] ?? lookupNested(loaded, ADS_SERVICE_NAME);
  cached = svc;
  return svc;
}

function lookupNested(obj: Record<string, unknown>, dotted: string): grpc.ServiceClientConstructor {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) cur = (cur as Record<string, unknown>)[part];
  if (typeof cur !== 'function') throw new Error(`${dotted} not found`);
  return cur as grpc.ServiceClientConstructor;
}
