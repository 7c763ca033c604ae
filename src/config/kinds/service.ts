/**
 * @module config/kinds/service
 * `Service`: a named upstream — what it speaks, the host names it answers for and its
 * endpoints. Every Service becomes one cluster.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FieldError } from '../../errors.js';
import { DEFAULT_APP_PROTOCOL, DEFAULT_ENDPOINT } from '../defaults.js';
import { Address, AppProtocolSchema, Closed, Count, HostName, Port } from './common.js';
import type { KindDefinition } from './common.js';

const EndpointSchema = Type.Object(
  {
    address: Address('IP address or host name.'),
    port: Port(),
    weight: Type.Optional(Count({ minimum: 1, maximum: 1_000_000, default: DEFAULT_ENDPOINT.weight, description: 'Relative share of traffic.' })),
    locality: Type.Optional(Type.String({ maxLength: 128, default: DEFAULT_ENDPOINT.locality, description: 'Zone or region label.' })),
    sidecar: Type.Optional(
      Type.Boolean({ default: DEFAULT_ENDPOINT.sidecar, description: "True when this is another Strata sidecar's inbound port." }),
    ),
  },
  Closed,
);

const ClientTlsSchema = Type.Object(
  {
    serverName: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'SNI and certificate name (default: the endpoint address).' })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM bundle of trusted CAs (default: system roots).' })),
    insecureSkipVerify: Type.Optional(Type.Boolean({ default: false, description: 'Do not verify the certificate (testing only).' })),
  },
  { ...Closed, description: 'Dial this service over TLS; ALPN chooses h2 or http/1.1.' },
);

export const ServiceSpecSchema = Type.Object(
  {
    protocol: Type.Optional(AppProtocolSchema({ default: DEFAULT_APP_PROTOCOL, description: 'What the application speaks.' })),
    aliases: Type.Optional(Type.Array(HostName(), { description: 'Extra Host names routed to this service.' })),
    endpoints: Type.Optional(
      Type.Array(EndpointSchema, { description: 'Where the service runs (static); the control plane adds endpoints registered by `strata run`.' }),
    ),
    tls: Type.Optional(ClientTlsSchema),
  },
  { ...Closed, description: 'An upstream service and its endpoints.' },
);

export type ServiceSpecInput = Static<typeof ServiceSpecSchema>;

/** Host names Strata uses for its own resources (e.g. the `strata.priority` listener). */
const RESERVED_PREFIX = 'strata.';

function validateService(spec: ServiceSpecInput, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const aliases = new Map<string, number>();
  spec.aliases?.forEach((a, i) => {
    const first = aliases.get(a.toLowerCase());
    if (a.toLowerCase().startsWith(RESERVED_PREFIX)) {
      errors.push({ path: `${path}.aliases[${i}]`, message: `names starting with "${RESERVED_PREFIX}" are reserved for Strata's own xDS resources` });
    } else if (first !== undefined) errors.push({ path: `${path}.aliases[${i}]`, message: `duplicate alias ${JSON.stringify(a)} (also aliases[${first}])` });
    else aliases.set(a.toLowerCase(), i);
  });
  const endpoints = new Map<string, number>();
  (spec.endpoints ?? []).forEach((e, i) => {
    const key = `${e.address.toLowerCase()}:${e.port}`;
    const first = endpoints.get(key);
    if (first !== undefined) errors.push({ path: `${path}.endpoints[${i}]`, message: `duplicate endpoint ${key} (also endpoints[${first}])` });
    else endpoints.set(key, i);
  });
  return errors;
}

export const serviceKind: KindDefinition<typeof ServiceSpecSchema> = {
  kind: 'Service',
  schema: ServiceSpecSchema,
  description: 'An upstream service: protocol, host aliases and endpoints.',
  validate: validateService,
};
