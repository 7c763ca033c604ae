/**
 * @module demo/app
 * One service of the demo application (`strata demo`), run as `node dist/src/demo/app.js`
 * beside its sidecar. Its role comes from the environment:
 *   PORT           where to listen (set by the runner)
 *   HTTP_PROXY     the sidecar's outbound proxy (set by the runner)
 *   DEMO_NAME      the service name it reports (default: STRATA_SERVICE)
 *   DEMO_VERSION   the version it reports (default v1)
 *   DEMO_CALLS     services it calls, comma-separated, all in parallel (fan-out)
 *   DEMO_DELAY_MS  work per request in milliseconds, as MIN-MAX (default 1-5)
 * Every answer is JSON: who answered, what each call returned, and `versions` — for every
 * service in the call tree, how many times each version answered — so a request through the
 * mesh shows the weighted split.
 */
import http from 'node:http';

type Versions = Record<string, Record<string, number>>;

interface Answer {
  service: string;
  version: string;
  path: string;
  calls: Record<string, { status: number; service?: string; version?: string; error?: string }>;
  versions: Versions;
}

const env = process.env;
const name = env['DEMO_NAME'] || env['STRATA_SERVICE'] || 'demo';
const version = env['DEMO_VERSION'] || 'v1';
const calls = (env['DEMO_CALLS'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const [minDelay, maxDelay] = ((env['DEMO_DELAY_MS'] ?? '1-5').split('-').map(Number) as [number, number?]).map((n) => (Number.isFinite(n) ? n : 1));
const port = Number(env['PORT'] ?? 8080);
const proxy = env['HTTP_PROXY'] ? new URL(env['HTTP_PROXY']) : undefined;
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function merge(into: Versions, from: Versions | undefined): void {
  for (const [svc, byVersion] of Object.entries(from ?? {})) {
    const target = (into[svc] ??= {});
    for (const [v, n] of Object.entries(byVersion)) target[v] = (target[v] ?? 0) + n;
  }
}

/** GET http://SERVICE/PATH through the sidecar's HTTP proxy (absolute-form request). */
function call(service: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = `http://${service}${path}`;
    const req = http.request(
      proxy
        ? { host: proxy.hostname, port: Number(proxy.port || 80), path: target, headers: { host: service }, agent, timeout: 10_000 }
        : { host: service, port: 80, path, agent, timeout: 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-demo-service': `${name}/${version}` });
  res.end(payload);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = req.url ?? '/';
  if (path === '/healthz') {
    send(res, 200, { service: name, version, ok: true });
    return;
  }
  const wait = (minDelay ?? 1) + Math.random() * Math.max(0, (maxDelay ?? minDelay ?? 1) - (minDelay ?? 1));
  await new Promise((r) => setTimeout(r, wait));
  const answer: Answer = { service: name, version, path, calls: {}, versions: { [name]: { [version]: 1 } } };
  let failed = false;
  await Promise.all(
    calls.map(async (svc) => {
      try {
        const r = await call(svc, path);
        let parsed: Partial<Answer> | undefined;
        try {
          parsed = JSON.parse(r.body) as Partial<Answer>;
        } catch {
          parsed = undefined;
        }
        answer.calls[svc] = { status: r.status, ...(parsed?.service && { service: parsed.service }), ...(parsed?.version && { version: parsed.version }) };
        if (r.status >= 400 || !parsed) {
          failed = true;
          answer.calls[svc].error = r.body.slice(0, 200).trim();
        }
        merge(answer.versions, parsed?.versions);
      } catch (err) {
        failed = true;
        answer.calls[svc] = { status: 0, error: (err as Error).message };
      }
    }),
  );
  send(res, failed ? 502 : 200, answer);
}

const server = http.createServer((req, res) => {
  req.resume();
  handle(req, res).catch((err: unknown) => send(res, 500, { service: name, version, error: (err as Error).message }));
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`demo ${name} ${version} listening on 127.0.0.1:${port}${calls.length ? `, calls ${calls.join(', ')}` : ''}\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
