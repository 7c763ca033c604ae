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
import { Diagnostics, ServiceIndex, describeResource, withDefaults } from './compile-context.js';
import { compileVirtualHosts, indexRoutes } from './compile-routes.js';
import { compileAmqp } from './kinds/sidecar-amqp.js';
import {
  DEFAULT_APP_PROTOCOL,
  DEFAULT_INBOUND_ADDRESS,
  DEFAULT_LIMITS,
  DEFAULT_LOCAL_ADDRESS,
  DEFAULT_UPSTREAM_PROTOCOL,
} from './defaults.js';
import { isKind, originOf, setOrigin, validateResource } from './resources.js';
import type {
  PriorityClassResource,
  PriorityPolicyResource,
  Resource,
  RouteResource,
  ServiceResource,
  SidecarResource,
  TrafficPolicyResource,
} from './resources.js';
import type { SidecarSpec, Snapshot } from './snapshot.js';
import { contentVersion } from './version.js';

export function compileSnapshot(resources: Resource[], source: string): Decoded<Snapshot> {
  const diag = new Diagnostics(source);
  const valid = revalidate(diag, resources, source);

  const seen = new Map<string, Resource>();
  const sidecars: SidecarResource[] = [];
  const services = new ServiceIndex();
  const serviceByName = new Map<string, ServiceResource>();
  const routes: RouteResource[] = [];
  const policies: TrafficPolicyResource[] = [];
  const priorityClasses: PriorityClassResource[] = [];
  const priorityPolicies: PriorityPolicyResource[] = [];

  for (const r of valid) {
    const key = `${r.kind}/${r.metadata.namespace}/${r.metadata.name}`;
    const first = seen.get(key);
    if (first) {
      diag.add(r, 'metadata.name', `duplicate ${r.kind} ${JSON.stringify(r.metadata.name)} in namespace ${r.metadata.namespace}; first defined by ${describeResource(first)}`);
      continue;
    }
    seen.set(key, r);
    if (isKind(r, 'Sidecar')) sidecars.push(r);
    else if (isKind(r, 'Service')) {
      const other = serviceByName.get(r.metadata.name);
      if (other) {
        diag.add(r, 'metadata.name', `service name ${JSON.stringify(r.metadata.name)} is also used in namespace ${other.metadata.namespace} (${describeResource(other)}); cluster names must be unique`);
        continue;
      }
      serviceByName.set(r.metadata.name, r);
      services.add(r);
    } else if (isKind(r, 'Route')) routes.push(r);
    else if (isKind(r, 'TrafficPolicy')) policies.push(r);
    else if (isKind(r, 'PriorityClass')) priorityClasses.push(r);
    else if (isKind(r, 'PriorityPolicy')) priorityPolicies.push(r);
    // Other registered kinds are validated above and consumed by their own subsystems.
  }

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

/**
 * Check every resource again, so that hand-built input gets the same guarantees as
 * decoded input. Resources from decodeResources() pass unchanged.
 */
function revalidate(diag: Diagnostics, resources: readonly Resource[], source: string): Resource[] {
  const out: Resource[] = [];
  resources.forEach((r, i) => {
    const origin = originOf(r);
    const v = validateResource(r, origin?.document ?? `resource #${i + 1}`);
    for (const e of v.errors) diag.errors.push({ source: origin?.source ?? source, resource: v.label, ...e });
    if (v.resource) {
      if (origin) setOrigin(v.resource, origin);
      out.push(v.resource);
    }
  });
  return out;
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
