/**
 * @module cli/verbs/demo
 * `strata demo`: a small mesh on this machine with nothing but `npm ci`: two services, each
 * with its own sidecar, talking over the sidecar-to-sidecar HTTP/2 hop, with a weighted
 * split, retries and a steady trickle of traffic. Prints what to try, runs until Ctrl-C.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatFieldError } from '../../errors.js';
import { compileSnapshot } from '../../config/compile.js';
import { decodeResources } from '../../config/decode.js';
import { Sidecar } from '../../proxy/sidecar.js';
import { setLogLevel } from '../../util/log.js';
import type { Verb } from '../verb.js';

interface App {
  name: string;
  server: http.Server;
  port: number;
}

async function startApp(name: string, handle: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<App> {
  const server = http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { name, server, port: (server.address() as AddressInfo).port };
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

async function sidecarFrom(yaml: string, source: string): Promise<Sidecar> {
  const d = decodeResources(yaml, source);
  const s = d.ok ? compileSnapshot(d.value, source) : d;
  if (!s.ok) throw new Error(`demo config invalid:\n  ${s.errors.map(formatFieldError).join('\n  ')}`);
  const sc = new Sidecar(s.value);
  await sc.start();
  return sc;
}

export const demoVerb: Verb = {
  name: 'demo',
  summary: 'Run a small demo mesh on this machine (services with sidecars, steady traffic)',
  usage: 'strata demo [--base-port 15000] [--rps 5] [--duration SECONDS]',
  options: {
    'base-port': { type: 'string', default: '15000', description: 'first of the 10 local ports the demo listens on' },
    rps: { type: 'string', default: '5', description: 'requests per second of background traffic' },
    duration: { type: 'string', description: 'stop after this many seconds (default: until Ctrl-C)' },
  },
  async run({ values }) {
    const base = Number(values['base-port'] ?? 15000);
    const rps = Number(values['rps'] ?? 5);
    const duration = values['duration'] === undefined ? 0 : Number(values['duration']);
    if (!Number.isInteger(base) || base < 1024 || base > 65525) {
      process.stderr.write('strata demo: --base-port must be an integer between 1024 and 65525\n');
      return 2;
    }
    if (!(rps >= 0 && rps <= 1000)) {
      process.stderr.write('strata demo: --rps must be between 0 and 1000\n');
      return 2;
    }
    if (!(duration >= 0)) {
      process.stderr.write('strata demo: --duration must be a number of seconds\n');
      return 2;
    }
    setLogLevel('warn');
    const p = {
      frontAdmin: base,
      frontProxy: base + 1,
      frontPort: base + 2,
      backV1Inbound: base + 3,
      backV1Admin: base + 4,
      backV2Inbound: base + 5,
      backV2Admin: base + 6,
    };

    const apps: App[] = [];
    const sidecars: Sidecar[] = [];
    let count = 0;
    const stop = async (): Promise<void> => {
      await Promise.all(sidecars.map((s) => s.drain()));
      for (const a of apps) {
        a.server.closeAllConnections();
        a.server.close();
      }
    };
    try {
      let v2Calls = 0;
      apps.push(await startApp('catalog-v1', (req, res) => json(res, 200, { service: 'catalog', version: 'v1', path: req.url })));
      apps.push(
        await startApp('catalog-v2', (req, res) => {
          // v2 fails every fifth call: the route retries it, the caller never notices.
          v2Calls++;
          if (v2Calls % 5 === 0) json(res, 503, { error: 'catalog v2 hiccup' });
          else json(res, 200, { service: 'catalog', version: 'v2', path: req.url });
        }),
      );
      const [v1, v2] = apps as [App, App];
      sidecars.push(
        await sidecarFrom(
          `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: catalog-v1 }
spec:
  service: catalog-v1
  inbound: { port: ${p.backV1Inbound}, address: 127.0.0.1, appPort: ${v1.port} }
  admin: { port: ${p.backV1Admin} }
`,
          'demo:catalog-v1',
        ),
        await sidecarFrom(
          `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: catalog-v2 }
spec:
  service: catalog-v2
  inbound: { port: ${p.backV2Inbound}, address: 127.0.0.1, appPort: ${v2.port} }
  admin: { port: ${p.backV2Admin} }
`,
          'demo:catalog-v2',
        ),
        await sidecarFrom(
          `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: frontend }
spec:
  service: frontend
  outbound:
    proxyPort: ${p.frontProxy}
    ports: [ { port: ${p.frontPort}, service: catalog } ]
  admin: { port: ${p.frontAdmin} }
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: catalog }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${p.backV1Inbound}, sidecar: true } ]
---
apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: catalog-v2 }
spec:
  endpoints: [ { address: 127.0.0.1, port: ${p.backV2Inbound}, sidecar: true } ]
---
apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: catalog }
spec:
  service: catalog
  rules:
    - name: health
      match: { path: { exact: /healthz } }
      directResponse: { status: 200, body: "ok\\n" }
    - name: canary
      match: { path: { prefix: / } }
      backends: [ { service: catalog, weight: 80 }, { service: catalog-v2, weight: 20 } ]
      retries: { attempts: 2, on: [gateway-error] }
      timeoutMs: 2000
      filters:
        - name: header-mutation
          config: { response: { set: { x-mesh: strata } } }
---
apiVersion: strata.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: catalog }
spec:
  service: catalog
  loadBalancer: { policy: peak-ewma }
`,
          'demo:frontend',
        ),
      );
    } catch (err) {
      await stop();
      process.stderr.write(`strata demo: ${(err as Error).message}\n(ports ${base}..${base + 6} must be free; pick others with --base-port)\n`);
      return 1;
    }

    process.stdout.write(
      [
        'Strata demo mesh is running:',
        `  frontend sidecar   HTTP_PROXY http://127.0.0.1:${p.frontProxy}   local port 127.0.0.1:${p.frontPort} → catalog   admin :${p.frontAdmin}`,
        `  catalog-v1 sidecar inbound :${p.backV1Inbound} → app :${apps[0]?.port}   admin :${p.backV1Admin}`,
        `  catalog-v2 sidecar inbound :${p.backV2Inbound} → app :${apps[1]?.port}   admin :${p.backV2Admin}`,
        '  route catalog: 80% v1 / 20% v2 over HTTP/2 between sidecars, retries on gateway errors',
        '',
        'Try:',
        `  curl -s -x http://127.0.0.1:${p.frontProxy} http://catalog/items/1      # through HTTP_PROXY`,
        `  curl -s http://127.0.0.1:${p.frontPort}/items/2                        # through the local port`,
        `  curl -s http://127.0.0.1:${p.frontAdmin}/stats | grep strata_requests_total`,
        `  curl -s http://127.0.0.1:${p.frontAdmin}/clusters`,
        `  curl -s http://127.0.0.1:${p.frontAdmin}/config_dump`,
        '',
        `Sending ${rps} requests/s; Ctrl-C to stop.`,
        '',
      ].join('\n'),
    );

    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const statuses = new Map<number, number>();
    const tick = rps > 0 ? setInterval(() => {
      count++;
      http
        .get({ host: '127.0.0.1', port: p.frontPort, path: `/items/${count}`, agent }, (res) => {
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          res.resume();
        })
        .on('error', () => statuses.set(0, (statuses.get(0) ?? 0) + 1));
    }, 1000 / rps) : undefined;
    const report = setInterval(() => {
      const parts = [...statuses.entries()].sort().map(([s, n]) => `${s === 0 ? 'error' : s}: ${n}`);
      process.stdout.write(`${new Date().toISOString()}  sent ${count}  ${parts.join('  ')}\n`);
    }, 5000);

    return new Promise<number>((resolve) => {
      let stopping = false;
      const finish = (): void => {
        if (stopping) return;
        stopping = true;
        if (tick) clearInterval(tick);
        clearInterval(report);
        agent.destroy();
        process.stdout.write('stopping the demo mesh…\n');
        void stop().then(() => resolve(0));
      };
      process.once('SIGINT', finish);
      process.once('SIGTERM', finish);
      if (duration > 0) setTimeout(finish, duration * 1000).unref();
    });
  },
};
