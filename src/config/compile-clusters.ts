/**
 * @module config/compile-clusters
 * Services (+ their TrafficPolicy) → ClusterSpecs: endpoints, load balancer (checked against
 * the balancer registry), circuit breaker, outlier detection, health check, retry budget.
 */
import { balancerNames, getBalancer } from '../proxy/balancer/registry.js';
import type { Diagnostics, ServiceIndex } from './compile-context.js';
import { describeResource, withDefaults } from './compile-context.js';
import {
  DEFAULT_APP_PROTOCOL,
  DEFAULT_CIRCUIT_BREAKER,
  DEFAULT_ENDPOINT,
  DEFAULT_HEALTH_CHECK,
  DEFAULT_LB_POLICY,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_RETRY_BUDGET,
  RING_HASH_POLICY,
} from './defaults.js';
import type { ServiceResource, TrafficPolicyResource } from './resources.js';
import type { ClusterSpec, EndpointSpec, HealthCheckSpec, LoadBalancerSpec } from './snapshot.js';

/** Attach each TrafficPolicy to its service; reports dangling and competing policies. */
export function indexPolicies(
  diag: Diagnostics,
  services: ServiceIndex,
  policies: readonly TrafficPolicyResource[],
): Map<ServiceResource, TrafficPolicyResource> {
  const out = new Map<ServiceResource, TrafficPolicyResource>();
  for (const p of policies) {
    const svc = services.get(p, p.spec.service);
    if (!svc) {
      diag.add(p, 'spec.service', services.unknown(p, p.spec.service));
      continue;
    }
    const other = out.get(svc);
    if (other) {
      diag.add(p, 'spec.service', `service ${JSON.stringify(p.spec.service)} already has a policy: ${describeResource(other)}`);
      continue;
    }
    out.set(svc, p);
  }
  return out;
}

export function compileClusters(
  diag: Diagnostics,
  services: ServiceIndex,
  policies: Map<ServiceResource, TrafficPolicyResource>,
): ClusterSpec[] {
  const clusters: ClusterSpec[] = [];
  let defaultPolicyMissing = false;
  for (const svc of services.all()) {
    const policy = policies.get(svc);
    const lb = policy?.spec.loadBalancer;
    if (lb?.policy === undefined && !getBalancer(DEFAULT_LB_POLICY)) defaultPolicyMissing = true;
    const cluster: ClusterSpec = {
      name: svc.metadata.name,
      protocol: svc.spec.protocol ?? DEFAULT_APP_PROTOCOL,
      endpoints: (svc.spec.endpoints ?? []).map(
        (e): EndpointSpec => ({
          address: e.address,
          port: e.port,
          weight: e.weight ?? DEFAULT_ENDPOINT.weight,
          locality: e.locality ?? DEFAULT_ENDPOINT.locality,
          sidecar: e.sidecar ?? DEFAULT_ENDPOINT.sidecar,
        }),
      ),
      loadBalancer: policy ? compileLoadBalancer(diag, policy) : { policy: DEFAULT_LB_POLICY },
      circuitBreaker: withDefaults(DEFAULT_CIRCUIT_BREAKER, policy?.spec.circuitBreaker),
      retryBudget: withDefaults(DEFAULT_RETRY_BUDGET, policy?.spec.retryBudget),
      localityPreference: lb?.localityPreference ?? false,
    };
    const tls = svc.spec.tls;
    if (tls) {
      cluster.tls = { insecureSkipVerify: tls.insecureSkipVerify ?? false };
      if (tls.serverName !== undefined) cluster.tls.serverName = tls.serverName;
      if (tls.caFile !== undefined) cluster.tls.caFile = tls.caFile;
    }
    const od = policy?.spec.outlierDetection;
    if (od) cluster.outlierDetection = withDefaults(DEFAULT_OUTLIER_DETECTION, od);
    const hc = policy?.spec.healthCheck;
    if (hc) {
      const [low, high] = hc.expectedStatuses ?? DEFAULT_HEALTH_CHECK.expectedStatuses;
      const healthCheck: HealthCheckSpec = {
        path: hc.path,
        intervalMs: hc.intervalMs ?? DEFAULT_HEALTH_CHECK.intervalMs,
        timeoutMs: hc.timeoutMs ?? DEFAULT_HEALTH_CHECK.timeoutMs,
        unhealthyThreshold: hc.unhealthyThreshold ?? DEFAULT_HEALTH_CHECK.unhealthyThreshold,
        healthyThreshold: hc.healthyThreshold ?? DEFAULT_HEALTH_CHECK.healthyThreshold,
        expectedStatuses: [low, high],
      };
      cluster.healthCheck = healthCheck;
    }
    clusters.push(cluster);
  }
  if (defaultPolicyMissing) {
    diag.add(undefined, '', `the default load balancer ${JSON.stringify(DEFAULT_LB_POLICY)} is not registered (${registered()})`);
  }
  return clusters;
}

function compileLoadBalancer(diag: Diagnostics, policy: TrafficPolicyResource): LoadBalancerSpec {
  const lb = policy.spec.loadBalancer;
  const name = lb?.policy ?? DEFAULT_LB_POLICY;
  if (lb?.policy !== undefined && !getBalancer(name)) {
    diag.add(policy, 'spec.loadBalancer.policy', `unknown load balancer ${JSON.stringify(name)} (${registered()})`);
  }
  const out: LoadBalancerSpec = { policy: name };
  const hashOn = lb?.hashOn;
  if (hashOn?.header !== undefined) out.hashOn = { header: hashOn.header.toLowerCase() };
  else if (hashOn?.cookie !== undefined) out.hashOn = { cookie: hashOn.cookie };
  if (name === RING_HASH_POLICY && !out.hashOn) {
    diag.add(policy, 'spec.loadBalancer.hashOn', `required when policy is ${RING_HASH_POLICY}: { header: NAME } or { cookie: NAME }`);
  }
  if (lb?.ringSize !== undefined) out.ringSize = lb.ringSize;
  return out;
}

function registered(): string {
  const names = balancerNames();
  return names.length > 0 ? `registered: ${names.join(', ')}` : 'no balancers are registered';
}
