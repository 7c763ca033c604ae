/**
 * @module demo/mesh
 * The demo application as a mesh file value (the same schema as `strata up -f mesh.yaml`):
 *
 *   frontend ──┬─▶ catalog ──┬─▶ pricing ─┬─80%─▶ pricing-v1
 *              │             └─▶ inventory └─20%─▶ pricing-v2
 *              └─▶ cart ─────────▶ pricing
 *
 * Six workloads, each app (src/demo/app.ts) beside its own sidecar; `pricing` is a Route
 * that splits 80/20 between the Services pricing-v1 and pricing-v2; `catalog` has a Route
 * with retries and a response header filter (x-mesh: strata).
 */
import { fileURLToPath } from 'node:url';

export const DEMO_APP = fileURLToPath(new URL('./app.js', import.meta.url));

/** The services of the demo, in start order, with what each calls. */
export const DEMO_SERVICES: readonly { service: string; name: string; version: string; calls: string[]; delay: string }[] = [
  { service: 'frontend', name: 'frontend', version: 'v1', calls: ['catalog', 'cart'], delay: '1-3' },
  { service: 'catalog', name: 'catalog', version: 'v1', calls: ['pricing', 'inventory'], delay: '2-6' },
  { service: 'cart', name: 'cart', version: 'v1', calls: ['pricing'], delay: '1-4' },
  { service: 'pricing-v1', name: 'pricing', version: 'v1', calls: [], delay: '2-5' },
  { service: 'pricing-v2', name: 'pricing', version: 'v2', calls: [], delay: '1-3' },
  { service: 'inventory', name: 'inventory', version: 'v1', calls: [], delay: '3-8' },
];

export interface DemoPorts {
  /** App port of each service, by service. */
  apps: Record<string, number>;
  /** The frontend sidecar's admin and HTTP_PROXY ports (fixed so the printed commands are stable); undefined: free ports. */
  frontendAdmin?: number;
  frontendProxy?: number;
}

const service = (name: string): unknown => ({ apiVersion: 'strata.dev/v1alpha1', kind: 'Service', metadata: { name }, spec: { protocol: 'http' } });

/** The demo as a mesh file value, to be checked by validateMeshFile. */
export function demoMeshValue(ports: DemoPorts): Record<string, unknown> {
  const resources: unknown[] = [
    ...['frontend', 'catalog', 'cart', 'inventory', 'pricing', 'pricing-v1', 'pricing-v2'].map(service),
    {
      apiVersion: 'strata.dev/v1alpha1',
      kind: 'Route',
      metadata: { name: 'pricing' },
      spec: {
        service: 'pricing',
        rules: [
          {
            name: 'canary-split',
            match: { path: { prefix: '/' } },
            backends: [
              { service: 'pricing-v1', weight: 80 },
              { service: 'pricing-v2', weight: 20 },
            ],
            timeoutMs: 3000,
            retries: { attempts: 2, on: ['connect-failure', 'reset', 'gateway-error'] },
          },
        ],
      },
    },
    {
      apiVersion: 'strata.dev/v1alpha1',
      kind: 'Route',
      metadata: { name: 'catalog' },
      spec: {
        service: 'catalog',
        rules: [
          { name: 'health', match: { path: { exact: '/healthz' } }, directResponse: { status: 200, body: 'ok\n' } },
          {
            name: 'default',
            match: { path: { prefix: '/' } },
            backends: [{ service: 'catalog' }],
            retries: { attempts: 2, on: ['connect-failure', 'gateway-error'] },
            filters: [{ name: 'header-mutation', config: { response: { set: { 'x-mesh': 'strata' } } } }],
          },
        ],
      },
    },
    {
      apiVersion: 'strata.dev/v1alpha1',
      kind: 'TrafficPolicy',
      metadata: { name: 'inventory' },
      spec: { service: 'inventory', loadBalancer: { policy: 'peak-ewma' } },
    },
  ];
  const workloads = DEMO_SERVICES.map((s) => ({
    service: s.service,
    port: ports.apps[s.service] as number,
    command: [process.execPath, DEMO_APP],
    env: { DEMO_NAME: s.name, DEMO_VERSION: s.version, DEMO_CALLS: s.calls.join(','), DEMO_DELAY_MS: s.delay },
    metadata: { version: s.version },
    ...(s.service === 'frontend' && ports.frontendAdmin !== undefined && { adminPort: ports.frontendAdmin }),
    ...(s.service === 'frontend' && ports.frontendProxy !== undefined && { proxyPort: ports.frontendProxy }),
  }));
  return { resources, workloads };
}
