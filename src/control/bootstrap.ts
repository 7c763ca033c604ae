/**
 * @module control/bootstrap
 * Bootstrap files for xDS clients of the control plane. A proxyless gRPC client
 * (@grpc/grpc-js-xds and other gRPC languages) reads it from GRPC_XDS_BOOTSTRAP: the
 * control-plane addresses (tried in order), insecure channel credentials, and the node's
 * id and locality — the locality object must be present even when empty.
 */
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
