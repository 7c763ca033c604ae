/**
 * @module bench/lib/strata
 * The Strata sidecar under test: a generated config (examples/sidecar.yaml format) in a temp
 * dir, `bin/strata.js proxy --config FILE` (the shebang sets the V8 flags), and a bounded wait for admin `/ready` → 200.
 *
 * Topologies:
 * - single: sidecar outbound local port → Service `upstream` → the upstream app.
 * - two-sidecar: sidecar A local port → Service `upstream` whose endpoint is sidecar B's inbound
 *   port (`sidecar: true`, HTTP/2 between them) → B → the upstream app on `appPort`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, stop, tail, makeTempDir, removeTempDir, type Child, type CpuList } from './procs.js';
import { freePorts, httpStatus, waitUntil } from './ports.js';
import type { RunningProxy } from './peers.js';

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const strataBin = join(projectRoot, 'bin', 'strata.js');

/** How long a sidecar may take to answer `/ready` with 200. */
const READY_DEADLINE_MS = 20_000;

export type AppProtocol = 'http' | 'grpc';

function sidecarDoc(name: string, spec: string): string {
  return `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata:
  name: ${name}
  namespace: default
spec:
${spec}`;
}

function serviceDoc(protocol: AppProtocol, endpoint: string): string {
  return `apiVersion: strata.dev/v1alpha1
kind: Service
metadata:
  name: upstream
spec:
  protocol: ${protocol}
  endpoints:
    - ${endpoint}
`;
}

/** Config of a sidecar whose local port `localPort` leads to the upstream app directly. */
export function singleSidecarYaml(localPort: number, adminPort: number, upstreamPort: number, protocol: AppProtocol): string {
  return [
    sidecarDoc('bench-client', `  service: bench-client
  outbound:
    ports:
      - port: ${localPort}
        service: upstream
  admin:
    port: ${adminPort}
`),
    serviceDoc(protocol, `{ address: 127.0.0.1, port: ${upstreamPort} }`),
  ].join('---\n');
}

/** Config of sidecar A (client side) in the two-sidecar topology. */
export function clientSidecarYaml(localPort: number, adminPort: number, peerInboundPort: number): string {
  return [
    sidecarDoc('bench-client', `  service: bench-client
  outbound:
    ports:
      - port: ${localPort}
        service: upstream
  admin:
    port: ${adminPort}
  upstreamProtocol: h2
`),
    serviceDoc('http', `{ address: 127.0.0.1, port: ${peerInboundPort}, sidecar: true }`),
  ].join('---\n');
}

/** Config of sidecar B (server side) in the two-sidecar topology. */
export function serverSidecarYaml(inboundPort: number, adminPort: number, appPort: number): string {
  return sidecarDoc('bench-upstream', `  service: upstream
  inbound:
    port: ${inboundPort}
    appPort: ${appPort}
    appProtocol: http
  admin:
    port: ${adminPort}
`);
}

async function startSidecar(name: string, dir: string, yaml: string, adminPort: number, cpus: CpuList): Promise<Child> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  // Run the bin itself so its shebang's V8 flags (a small young generation) apply, as with `npx strata`.
  const child = start(name, strataBin, ['proxy', '--config', file], { cpus, cwd: projectRoot });
  const why = await waitUntil(async () => (await httpStatus(adminPort, '/ready')) === 200, READY_DEADLINE_MS, () => child.done());
  if (why !== 'ready') {
    const detail = why === 'exited' ? `exited with ${await child.exited}` : `no 200 from admin /ready within ${READY_DEADLINE_MS / 1000} s`;
    await stop(child);
    throw new Error(`${name} failed to become ready (${detail}): ${tail(child.stderr() || child.stdout())}`);
  }
  return child;
}

/** One sidecar in front of the upstream app. */
export async function startStrata(upstreamPort: number, protocol: AppProtocol, cpus: CpuList): Promise<RunningProxy> {
  const dir = makeTempDir('strata-bench-sidecar-');
  const [port, admin] = await freePorts(2);
  if (port === undefined || admin === undefined) throw new Error('no free port');
  try {
    const child = await startSidecar('strata-sidecar', dir, singleSidecarYaml(port, admin, upstreamPort, protocol), admin, cpus);
    return {
      port,
      children: [child],
      stop: async () => {
        await stop(child);
        removeTempDir(dir);
      },
    };
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }
}

/** Sidecar A → (HTTP/2) → sidecar B → upstream app; both sidecars count as the proxy. */
export async function startStrataPair(upstreamPort: number, cpus: CpuList): Promise<RunningProxy> {
  const dir = makeTempDir('strata-bench-pair-');
  const [port, adminA, inboundB, adminB] = await freePorts(4);
  if (port === undefined || adminA === undefined || inboundB === undefined || adminB === undefined) throw new Error('no free port');
  const started: Child[] = [];
  const shutdown = async (): Promise<void> => {
    await Promise.all(started.map((c) => stop(c)));
    removeTempDir(dir);
  };
  try {
    started.push(await startSidecar('strata-sidecar-b', dir, serverSidecarYaml(inboundB, adminB, upstreamPort), adminB, cpus));
    started.push(await startSidecar('strata-sidecar-a', dir, clientSidecarYaml(port, adminA, inboundB), adminA, cpus));
  } catch (err) {
    await shutdown();
    throw err;
  }
  return { port, children: started, stop: shutdown };
}
