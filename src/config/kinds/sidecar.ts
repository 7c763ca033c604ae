/**
 * @module config/kinds/sidecar
 * `Sidecar`: the proxy itself — its listeners (inbound, outbound proxy, local upstream
 * ports, admin), the protocol between sidecars, and request limits. Exactly one per config.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import {
  DEFAULT_APP_PROTOCOL,
  DEFAULT_INBOUND_ADDRESS,
  DEFAULT_LIMITS,
  DEFAULT_LOCAL_ADDRESS,
  DEFAULT_UPSTREAM_PROTOCOL,
} from '../defaults.js';
import { fieldPath } from '../field-path.js';
import { Address, AppProtocolSchema, Closed, Count, DNS_LABEL, HostName, Millis, Name, Port, StringEnum } from './common.js';
import type { KindDefinition } from './common.js';
import { AmqpSchema, validateAmqp } from './sidecar-amqp.js';
import { GatewaySchema, SidecarPrioritySchema, validateSidecarPriority } from './priority-limits.js';

const LimitsSchema = Type.Object(
  {
    maxHeaderBytes: Type.Optional(
      Count({ minimum: 1024, maximum: 1 << 20, default: DEFAULT_LIMITS.maxHeaderBytes, description: 'Max request header section size in bytes (431 above).' }),
    ),
    maxBodyBytes: Type.Optional(Count({ default: DEFAULT_LIMITS.maxBodyBytes, description: 'Max request body in bytes (413 above); 0 = unlimited.' })),
    headerTimeoutMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_LIMITS.headerTimeoutMs, description: 'Time to receive a complete header section.' })),
    idleTimeoutMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_LIMITS.idleTimeoutMs, description: 'Idle keep-alive timeout, downstream.' })),
    requestTimeoutMs: Type.Optional(Millis({ default: DEFAULT_LIMITS.requestTimeoutMs, description: 'Per-request timeout when a route sets none; 0 = none.' })),
    connectTimeoutMs: Type.Optional(Millis({ minimum: 1, default: DEFAULT_LIMITS.connectTimeoutMs, description: 'Upstream connect timeout.' })),
    drainTimeoutMs: Type.Optional(Millis({ default: DEFAULT_LIMITS.drainTimeoutMs, description: 'How long a drain waits for in-flight requests.' })),
  },
  Closed,
);

const ServerTlsSchema = Type.Object(
  {
    certFile: Type.String({ minLength: 1, description: 'PEM certificate chain file.' }),
    keyFile: Type.String({ minLength: 1, description: 'PEM private key file.' }),
  },
  { ...Closed, description: 'Terminate TLS on this listener (ALPN: h2, http/1.1).' },
);

const InboundSchema = Type.Object(
  {
    port: Port('Listener for other sidecars.'),
    address: Type.Optional(Address(`Listen address (default ${DEFAULT_INBOUND_ADDRESS}).`)),
    appPort: Port('Port of the local application.'),
    appAddress: Type.Optional(Address(`Address of the local application (default ${DEFAULT_LOCAL_ADDRESS}).`)),
    appProtocol: Type.Optional(AppProtocolSchema({ default: DEFAULT_APP_PROTOCOL, description: 'What the local application speaks.' })),
    tls: Type.Optional(ServerTlsSchema),
  },
  Closed,
);

const LocalPortSchema = Type.Object(
  {
    port: Port(`Local listener: ${DEFAULT_LOCAL_ADDRESS}:port → service.`),
    service: Name('Service this port forwards to.'),
    address: Type.Optional(Address(`Listen address (default ${DEFAULT_LOCAL_ADDRESS}).`)),
    protocol: Type.Optional(AppProtocolSchema({ description: "Defaults to the service's protocol; tcp = opaque tunnel." })),
  },
  Closed,
);

const OutboundSchema = Type.Object(
  {
    proxyPort: Type.Optional(Port('HTTP forward proxy port (HTTP_PROXY), absolute-form and CONNECT.')),
    address: Type.Optional(Address(`Forward proxy listen address (default ${DEFAULT_LOCAL_ADDRESS}).`)),
    ports: Type.Optional(Type.Array(LocalPortSchema, { description: 'Explicit local upstream ports.' })),
  },
  Closed,
);

const AdminSchema = Type.Object(
  {
    port: Port('Admin listener (/stats, /config_dump, /ready…).'),
    address: Type.Optional(Address(`Listen address (default ${DEFAULT_LOCAL_ADDRESS}).`)),
  },
  Closed,
);

export const SidecarSpecSchema = Type.Object(
  {
    service: Type.Optional(
      Type.String({
        pattern: `(${DNS_LABEL})|^$`,
        maxLength: 63,
        errorMessage: 'must be a DNS label (or empty for a pure client)',
        description: 'The workload beside this sidecar; empty for a pure client or gateway.',
      }),
    ),
    locality: Type.Optional(Type.String({ maxLength: 128, default: '', description: 'Zone or region of this sidecar (for locality preference).' })),
    dependencies: Type.Optional(
      Type.Array(HostName('A service (name or alias) the workload calls; * for the whole mesh.'), {
        maxItems: 1000,
        description:
          'Services this workload calls: with a control plane the sidecar receives only these (scoped push). Absent: it learns them from the calls the app makes.',
      }),
    ),
    inbound: Type.Optional(InboundSchema),
    outbound: Type.Optional(OutboundSchema),
    admin: Type.Optional(AdminSchema),
    amqp: Type.Optional(AmqpSchema),
    upstreamProtocol: Type.Optional(
      StringEnum(['h2', 'http1'] as const, { default: DEFAULT_UPSTREAM_PROTOCOL, description: 'Protocol between sidecars.' }),
    ),
    limits: Type.Optional(LimitsSchema),
    gateway: Type.Optional(GatewaySchema),
    priority: Type.Optional(SidecarPrioritySchema),
  },
  { ...Closed, description: 'The proxy: listeners, sidecar-to-sidecar protocol and limits.' },
);

export type SidecarSpecInput = Static<typeof SidecarSpecSchema>;

/** Every listener the sidecar opens, with the field that declares it. */
export function sidecarListeners(spec: SidecarSpecInput, path: string): { port: number; path: string }[] {
  const out: { port: number; path: string }[] = [];
  if (spec.inbound) out.push({ port: spec.inbound.port, path: fieldPath(fieldPath(path, 'inbound'), 'port') });
  if (spec.outbound?.proxyPort !== undefined) {
    out.push({ port: spec.outbound.proxyPort, path: fieldPath(fieldPath(path, 'outbound'), 'proxyPort') });
  }
  spec.outbound?.ports?.forEach((p, i) => out.push({ port: p.port, path: `${path}.outbound.ports[${i}].port` }));
  if (spec.admin) out.push({ port: spec.admin.port, path: fieldPath(fieldPath(path, 'admin'), 'port') });
  if (spec.amqp) out.push({ port: spec.amqp.port, path: fieldPath(fieldPath(path, 'amqp'), 'port') });
  if (spec.gateway) out.push({ port: spec.gateway.port, path: fieldPath(fieldPath(path, 'gateway'), 'port') });
  return out;
}

function validateSidecar(spec: SidecarSpecInput, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Map<number, string>();
  for (const l of sidecarListeners(spec, path)) {
    const first = seen.get(l.port);
    if (first !== undefined) errors.push({ path: l.path, message: `port ${l.port} is already used by ${first}` });
    else seen.set(l.port, l.path);
  }
  if (spec.amqp) errors.push(...validateAmqp(spec.amqp, fieldPath(path, 'amqp')));
  if (spec.priority) errors.push(...validateSidecarPriority(spec.priority, fieldPath(path, 'priority')));
  return errors;
}

export const sidecarKind: KindDefinition<typeof SidecarSpecSchema> = {
  kind: 'Sidecar',
  schema: SidecarSpecSchema,
  description: 'The sidecar proxy itself; exactly one per configuration.',
  validate: validateSidecar,
};
