/**
 * @module config/compile
 * Validated resources → the Snapshot a sidecar runs on. Resolves references between
 * resources (Route → Service, TrafficPolicy → Service, Sidecar ports → Service), fills in
 * defaults, checks filters and balancers against their registries, and reports every
 * problem with the file, resource and field it concerns. Pure: the registries are read,
 * nothing else outside the arguments.
 *
 * Callers populate the registries first (import src/proxy/filters/index.ts and
 * src/proxy/balancer/index.ts).
 */
import { fail, ok } from '../errors.js';
import type { Decoded } from '../errors.js';
import { compileClusters, indexPolicies } from './compile-clusters.js';
import { compilePriority } from './compile-priority.js';
import { Diagnostics, describeResource, withDefaults } from './compile-context.js';
import type { ServiceIndex } from './compile-context.js';
import { compileVirtualHosts, indexRoutes } from './compile-routes.js';
import { compileAmqp } from './kinds/sidecar-amqp.js';
import {
  DEFAULT_APP_PROTOCOL,
  DEFAULT_INBOUND_ADDRESS,
  DEFAULT_LIMITS,
  DEFAULT_LOCAL_ADDRESS,
  DEFAULT_UPSTREAM_PROTOCOL,
} from './defaults.js';
import type { Resource, SidecarResource } from './resources.js';
import { sortResources } from './compile-resources.js';
import type { SidecarSpec, Snapshot } from './snapshot.js';
import { contentVersion } from './version.js';

export function compileSnapshot(resources: Resource[], source: string): Decoded<Snapshot> {
  const diag = new Diagnostics(source);
  const { valid, sidecars, services, routes, policies, priorityClasses, priorityPolicies } = sortResources(diag, resources, source);

  const [sidecarResource, ...extra] = sidecars;
  if (!sidecarResource) diag.add(undefined, '', 'no Sidecar resource: exactly one is required');
  for (const r of extra) {
    diag.add(r, 'kind', `a second Sidecar: exactly one is allowed (the first is ${sidecarResource ? describeResource(sidecarResource) : ''})`);
  }

  const clusters = compileClusters(diag, services, indexPolicies(diag, services, policies));
  const virtualHosts = compileVirtualHosts(diag, services, indexRoutes(diag, services, routes));
  const sidecar = sidecarResource ? compileSidecar(diag, services, sidecarResource) : undefined;
  const priority = compilePriority(diag, { classes: priorityClasses, policies: priorityPolicies, ...(sidecarResource && { sidecar: sidecarResource }) });

  if (diag.errors.length > 0 || !sidecar) return fail(diag.errors);
  return ok({ version: contentVersion(valid), source, sidecar, virtualHosts, clusters, ...(priority && { priority }) });
}

function compileSidecar(diag: Diagnostics, services: ServiceIndex, r: SidecarResource): SidecarSpec {
  const s = r.spec;
  const inbound: SidecarSpec['inbound'] = s.inbound && {
    port: s.inbound.port,
    address: s.inbound.address ?? DEFAULT_INBOUND_ADDRESS,
    appPort: s.inbound.appPort,
    appAddress: s.inbound.appAddress ?? DEFAULT_LOCAL_ADDRESS,
    appProtocol: s.inbound.appProtocol ?? DEFAULT_APP_PROTOCOL,
    ...(s.inbound.tls && { tls: { certFile: s.inbound.tls.certFile, keyFile: s.inbound.tls.keyFile } }),
  };
  const proxyPort = s.outbound?.proxyPort;
  const outbound: SidecarSpec['outbound'] =
    proxyPort === undefined ? undefined : { port: proxyPort, address: s.outbound?.address ?? DEFAULT_LOCAL_ADDRESS };
  const admin: SidecarSpec['admin'] = s.admin && { port: s.admin.port, address: s.admin.address ?? DEFAULT_LOCAL_ADDRESS };
  const gateway: SidecarSpec['gateway'] = s.gateway && {
    port: s.gateway.port,
    address: s.gateway.address ?? DEFAULT_INBOUND_ADDRESS,
    ...(s.gateway.defaultService !== undefined && { defaultService: s.gateway.defaultService }),
  };
  // Built in reading order (it is what /config_dump shows); absent listeners stay absent.
  return {
    service: s.service ?? '',
    namespace: r.metadata.namespace,
    locality: s.locality ?? '',
    ...(s.dependencies && { dependencies: [...new Set(s.dependencies)].sort() }),
    ...(inbound && { inbound }),
    ...(outbound && { outbound }),
    localPorts: compileLocalPorts(diag, services, r),
    ...(admin && { admin }),
    ...(s.amqp && { amqp: compileAmqp(s.amqp) }),
    ...(gateway && { gateway }),
    upstreamProtocol: s.upstreamProtocol ?? DEFAULT_UPSTREAM_PROTOCOL,
    limits: withDefaults(DEFAULT_LIMITS, s.limits),
  };
}

function compileLocalPorts(diag: Diagnostics, services: ServiceIndex, r: SidecarResource): SidecarSpec['localPorts'] {
  const out: SidecarSpec['localPorts'] = [];
  r.spec.outbound?.ports?.forEach((p, i) => {
    const at = `spec.outbound.ports[${i}]`;
    const svc = services.get(r, p.service);
    if (!svc) {
      diag.add(r, `${at}.service`, services.unknown(r, p.service));
      return;
    }
    const target = svc.spec.protocol ?? DEFAULT_APP_PROTOCOL;
    const protocol = p.protocol ?? target;
    if (target === 'tcp' && protocol !== 'tcp') {
      diag.add(r, `${at}.protocol`, `service ${JSON.stringify(p.service)} speaks tcp; its local port must be tcp too`);
    }
    out.push({ port: p.port, address: p.address ?? DEFAULT_LOCAL_ADDRESS, service: p.service, protocol });
  });
  return out;
}
