/**
 * @module bench/control/mesh
 * The synthetic mesh of the control-plane benchmark, as pure data: `services` HTTP Services
 * (`svc-0000` …) with static IP endpoints, a Route for every tenth service (90/10 split to
 * itself and the next service, so scoped pushes must follow routes to reach clusters), the
 * Route of the shared service `svc-0000` whose canary rule is what the route change edits,
 * and each simulated client's dependencies (the shared service plus a few random others,
 * drawn from a seeded generator so every run builds the same mesh).
 */

/** The service every client depends on (think: auth). Both changes are applied to it. */
export const SHARED_SERVICE = 'svc-0000';
/** The header the shared service's canary rule matches; the route change edits its value. */
export const CANARY_HEADER = 'x-bench-canary';

export interface MeshShape {
  services: number;
  endpointsPerService: number;
  /** Dependencies per client besides the shared service. */
  extraDependencies: number;
  seed: number;
}

export type Doc = Record<string, unknown>;

/** At most this many services (names have 4 digits). */
export const MAX_SERVICES = 10_000;

/** `svc-0042`: zero-padded to 4 digits so names sort by index. */
export function serviceName(i: number): string {
  return `svc-${String(i).padStart(4, '0')}`;
}

/** The RouteConfiguration name the control plane gives a service (control-plane.ts routeConfigName). */
export function routeConfigName(service: string): string {
  return `${service}-routes`;
}

/**
 * The k-th static endpoint of service i: 10.a.b.c with a port of its own, unique across the
 * mesh for up to 16.7 M endpoints.
 */
export function endpointAddress(service: number, k: number, perService: number): { address: string; port: number } {
  const n = service * perService + k + 1;
  return { address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, port: 8080 };
}

/** A registered endpoint for the endpoint change: 10.255.x.y on port 9000 + n (distinct per n). */
export function extraEndpoint(n: number): { address: string; port: number } {
  return { address: `10.255.${(n >> 8) & 255}.${n & 255}`, port: 9000 + (n % 1000) };
}

function serviceDoc(i: number, shape: MeshShape): Doc {
  const endpoints = [];
  for (let k = 0; k < shape.endpointsPerService; k++) endpoints.push(endpointAddress(i, k, shape.endpointsPerService));
  return {
    apiVersion: 'strata.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: serviceName(i) },
    spec: { protocol: 'http', endpoints },
  };
}

/** The shared service's Route; `revision` is the canary header value the route change sets. */
export function sharedRouteDoc(revision: number): Doc {
  return {
    apiVersion: 'strata.dev/v1alpha1',
    kind: 'Route',
    metadata: { name: `${SHARED_SERVICE}-route` },
    spec: {
      service: SHARED_SERVICE,
      rules: [
        {
          name: 'canary',
          match: { headers: [{ name: CANARY_HEADER, exact: `r${revision}` }] },
          backends: [{ service: SHARED_SERVICE }],
          timeoutMs: 2000,
        },
        { name: 'default', backends: [{ service: SHARED_SERVICE }] },
      ],
    },
  };
}

function splitRouteDoc(i: number, services: number): Doc {
  const self = serviceName(i);
  const next = serviceName((i + 1) % services);
  return {
    apiVersion: 'strata.dev/v1alpha1',
    kind: 'Route',
    metadata: { name: `${self}-route` },
    spec: {
      service: self,
      rules: [{ name: 'split', backends: [{ service: self, weight: 90 }, { service: next, weight: 10 }] }],
    },
  };
}

/** Every resource of the mesh: the Services, then the Routes. */
export function meshDocs(shape: MeshShape): Doc[] {
  const docs: Doc[] = [];
  for (let i = 0; i < shape.services; i++) docs.push(serviceDoc(i, shape));
  docs.push(sharedRouteDoc(0));
  for (let i = 10; i < shape.services; i += 10) docs.push(splitRouteDoc(i, shape.services));
  return docs;
}

/** Documents as one YAML stream (JSON is YAML): what `ApiClient.applyText` takes. */
export function toYamlStream(docs: readonly Doc[]): string {
  return docs.map((d) => JSON.stringify(d)).join('\n---\n');
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Each client's dependencies: the shared service first, then `extraDependencies` distinct
 * others (fewer when the mesh is that small).
 */
export function clientDependencies(clients: number, shape: MeshShape): string[][] {
  const rand = seededRandom(shape.seed);
  const extra = Math.min(shape.extraDependencies, shape.services - 1);
  const out: string[][] = [];
  for (let c = 0; c < clients; c++) {
    const picked = new Set<number>();
    while (picked.size < extra) picked.add(1 + Math.floor(rand() * (shape.services - 1)));
    out.push([SHARED_SERVICE, ...[...picked].sort((a, b) => a - b).map((i) => serviceName(i))]);
  }
  return out;
}
