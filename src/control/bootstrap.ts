/**
 * @module control/bootstrap
 * Bootstrap files for xDS clients of the control plane. A proxyless gRPC client
 * (@grpc/grpc-js-xds and other gRPC languages) reads it from GRPC_XDS_BOOTSTRAP: the
 * control-plane addresses (tried in order), insecure channel credentials, and the node's
 * id and locality — the locality object must be present even when empty. An Envoy reads its
 * bootstrap from `envoy -c FILE`: ADS over gRPC to the same control plane (see docs/envoy.md).
 */
import { isIP } from 'node:net';
import type { FieldError } from '../errors.js';

export interface GrpcBootstrapOptions {
  /** Service the client belongs to; the node id is `<service>~<hostname-or-suffix>`. */
  service: string;
  /** Control-plane ADS addresses, `host:port`. */
  servers: string[];
  /** Node id (default: `<service>~proxyless`). */
  nodeId?: string;
  namespace?: string;
  /** `region/zone/sub_zone`, `zone`, or empty. */
  locality?: string;
}

export interface GrpcBootstrap {
  xds_servers: { server_uri: string; channel_creds: { type: string }[]; server_features: string[] }[];
  node: { id: string; cluster: string; locality: { region?: string; zone?: string; sub_zone?: string }; metadata: Record<string, string> };
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;
const SERVICE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Build the bootstrap, or every problem with the option that caused it. */
export function grpcBootstrap(o: GrpcBootstrapOptions): { ok: true; value: GrpcBootstrap } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (!SERVICE.test(o.service)) errors.push({ path: '--service', message: `must be a DNS label, got '${o.service}'` });
  if (o.servers.length === 0) errors.push({ path: '--xds-server', message: 'at least one control-plane address (host:port) is required' });
  o.servers.forEach((s, i) => {
    const m = HOST_PORT.exec(s);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) errors.push({ path: `--xds-server[${i}]`, message: `must be host:port, got '${s}'` });
  });
  if (errors.length > 0) return { ok: false, errors };
  const parts = (o.locality ?? '').split('/').filter(Boolean);
  const locality = parts.length === 1 ? { zone: parts[0] } : parts.length > 1 ? { region: parts[0], zone: parts[1], ...(parts[2] && { sub_zone: parts[2] }) } : {};
  return {
    ok: true,
    value: {
      xds_servers: o.servers.map((server_uri) => ({ server_uri, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] })),
      node: {
        id: o.nodeId ?? `${o.service}~proxyless`,
        cluster: o.service,
        locality,
        metadata: { 'strata.service': o.service, 'strata.namespace': o.namespace ?? 'default', 'strata.kind': 'proxyless-grpc' },
      },
    },
  };
}

/** `region/zone/sub_zone`, `region/zone` or `zone` → the xDS locality (empty when not given); as grpcBootstrap splits it. */
function parseLocality(s: string | undefined): { region?: string; zone?: string; sub_zone?: string } {
  const parts = (s ?? '').split('/').filter(Boolean);
  if (parts.length === 1) return { zone: parts[0] };
  if (parts.length > 1) return { region: parts[0], zone: parts[1], ...(parts[2] && { sub_zone: parts[2] }) };
  return {};
}

// ---------------------------------------------------------------------------------------------
// Envoy

/** Name of the static cluster through which Envoy reaches the control plane. */
export const ENVOY_XDS_CLUSTER = 'strata-xds';
/** Envoy's conventional admin port. */
export const DEFAULT_ENVOY_ADMIN_PORT = 9901;
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export interface EnvoyBootstrapOptions {
  /** Service the Envoy belongs to; the node id is `<service>~envoy` unless given. */
  service: string;
  /** Control-plane ADS addresses, `host:port`, in order of preference. */
  servers: string[];
  nodeId?: string;
  namespace?: string;
  /** `region/zone/sub_zone`, `zone`, or empty. */
  locality?: string;
  /** Admin interface port on 127.0.0.1 (default 9901). */
  adminPort?: number;
  /**
   * Services (names or aliases, `*` for all) this workload calls: node metadata
   * `strata.dependencies`, so the control plane sends only those (scoped push).
   */
  dependencies?: string[];
}

/** A socket address in Envoy's v3 JSON. */
interface EnvoySocketAddress {
  socket_address: { address: string; port_value: number };
}

/**
 * An Envoy v3 Bootstrap in proto3 JSON (snake_case field names, `@type` in Any): what
 * `envoy -c FILE` reads. Only the fields Strata sets are typed.
 */
export interface EnvoyBootstrap {
  node: {
    id: string;
    cluster: string;
    locality: { region?: string; zone?: string; sub_zone?: string };
    metadata: Record<string, string>;
  };
  dynamic_resources: {
    ads_config: { api_type: 'GRPC'; transport_api_version: 'V3'; grpc_services: { envoy_grpc: { cluster_name: string } }[]; set_node_on_first_message_only: boolean };
    cds_config: { ads: Record<string, never>; resource_api_version: 'V3' };
    lds_config: { ads: Record<string, never>; resource_api_version: 'V3' };
  };
  static_resources: {
    clusters: {
      name: string;
      type: 'STATIC' | 'STRICT_DNS';
      typed_extension_protocol_options: Record<string, { '@type': string; explicit_http_config: { http2_protocol_options: Record<string, never> } }>;
      load_assignment: {
        cluster_name: string;
        endpoints: { priority: number; lb_endpoints: { endpoint: { address: EnvoySocketAddress } }[] }[];
      };
      /** Present with more than one address: priorities fail over only when a host is marked unhealthy. */
      health_checks?: { timeout: string; interval: string; no_traffic_interval: string; unhealthy_threshold: number; healthy_threshold: number; tcp_health_check: Record<string, never> }[];
    }[];
  };
  admin: { address: EnvoySocketAddress };
}

/**
 * A TCP connect check: Envoy moves traffic to the next priority only when every host of the
 * current one is unhealthy, and without a check a host never is. Durations and wrapper
 * numbers are in proto3 JSON form (`"5s"`, plain numbers).
 */
const XDS_HEALTH_CHECK = Object.freeze({
  timeout: '1s',
  interval: '5s',
  no_traffic_interval: '5s',
  unhealthy_threshold: 1,
  healthy_threshold: 1,
  tcp_health_check: {},
});

const HOST_NAME = /^(\*|[A-Za-z0-9]([-A-Za-z0-9.]{0,251}[A-Za-z0-9])?)$/;

/**
 * The Envoy bootstrap: ADS over gRPC (v3) to the control plane for clusters and listeners, the
 * control plane reached through the static cluster `strata-xds` (HTTP/2), one priority per
 * address so a later address takes over only when the earlier ones are unreachable.
 */
export function envoyBootstrap(o: EnvoyBootstrapOptions): { ok: true; value: EnvoyBootstrap } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  if (!SERVICE.test(o.service)) errors.push({ path: '--service', message: `must be a DNS label, got '${o.service}'` });
  if (o.servers.length === 0) errors.push({ path: '--xds-server', message: 'at least one control-plane address (host:port) is required' });
  const servers: { host: string; port: number }[] = [];
  o.servers.forEach((s, i) => {
    const m = HOST_PORT.exec(s);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) errors.push({ path: `--xds-server[${i}]`, message: `must be host:port, got '${s}'` });
    else servers.push({ host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port });
  });
  const adminPort = o.adminPort ?? DEFAULT_ENVOY_ADMIN_PORT;
  if (!Number.isInteger(adminPort) || adminPort < 1 || adminPort > 65535) {
    errors.push({ path: '--admin-port', message: `must be a port number 1-65535, got '${String(o.adminPort)}'` });
  }
  (o.dependencies ?? []).forEach((d, i) => {
    if (!HOST_NAME.test(d)) errors.push({ path: `--dependencies[${i}]`, message: `must be a service name, alias or *, got '${d}'` });
  });
  if (errors.length > 0) return { ok: false, errors };

  const metadata: Record<string, string> = { 'strata.service': o.service, 'strata.namespace': o.namespace ?? 'default', 'strata.kind': 'envoy' };
  // Comma-separated, as the control plane's scoped push reads it (control/scope.ts).
  if (o.dependencies && o.dependencies.length > 0) metadata['strata.dependencies'] = [...new Set(o.dependencies)].join(',');
  const ads = (): { ads: Record<string, never>; resource_api_version: 'V3' } => ({ ads: {}, resource_api_version: 'V3' });
  return {
    ok: true,
    value: {
      node: { id: o.nodeId ?? `${o.service}~envoy`, cluster: o.service, locality: parseLocality(o.locality), metadata },
      dynamic_resources: {
        ads_config: {
          api_type: 'GRPC',
          transport_api_version: 'V3',
          grpc_services: [{ envoy_grpc: { cluster_name: ENVOY_XDS_CLUSTER } }],
          set_node_on_first_message_only: true,
        },
        cds_config: ads(),
        lds_config: ads(),
      },
      static_resources: {
        clusters: [
          {
            name: ENVOY_XDS_CLUSTER,
            // STATIC takes IP literals only; a host name needs DNS resolution.
            type: servers.every((s) => isIP(s.host) !== 0) ? 'STATIC' : 'STRICT_DNS',
            typed_extension_protocol_options: {
              [HTTP_PROTOCOL_OPTIONS]: { '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`, explicit_http_config: { http2_protocol_options: {} } },
            },
            load_assignment: {
              cluster_name: ENVOY_XDS_CLUSTER,
              endpoints: servers.map((s, priority) => ({
                priority,
                lb_endpoints: [{ endpoint: { address: { socket_address: { address: s.host, port_value: s.port } } } }],
              })),
            },
            ...(servers.length > 1 && { health_checks: [XDS_HEALTH_CHECK] }),
          },
        ],
      },
      admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    },
  };
}
