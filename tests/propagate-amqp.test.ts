/**
 * The chain continues after the queue: a plain Node app (it knows nothing of Strata) publishes
 * a job to RabbitMQ for each HTTP request it serves, and its own consumer makes an HTTP call for
 * each job. Started with `node --import …/propagate/register.js`, each job's call carries the
 * class (and trace context) of the request that published the job; without it, none does.
 * A real RabbitMQ (Debian rabbitmq-server) is started and stopped here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RabbitMqTestServer, rabbitmqSkipReason } from '../src/proxy/amqp/rabbitmq-test-server.js';
import { ROOT, request, startUpstream, waitFor } from './lib/harness.js';
import type { Upstream } from './lib/harness.js';

const REGISTER = join(ROOT, 'dist', 'src', 'propagate', 'register.js');

const APP = `
const http = require('node:http');
const amqp = require('amqplib');
const [amqpUrl, upstreamPort, queue] = process.argv.slice(2);
(async () => {
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: false, autoDelete: true });
  await ch.consume(queue, (msg) => {
    ch.ack(msg);
    const kind = String((msg.properties.headers || {}).kind);
    setTimeout(() => http.get({ host: '127.0.0.1', port: upstreamPort, path: '/job/' + msg.content.toString(), headers: { 'x-job-kind': kind } }, (r) => r.resume()), 1);
  });
  const server = http.createServer((req, res) => {
    ch.sendToQueue(queue, Buffer.from(req.url.slice(1)), { headers: { kind: 'app-' + req.url.slice(1) } });
    res.end('queued');
  });
  server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
})().catch((err) => { console.error(err); process.exit(1); });
`;

interface App {
  proc: ChildProcess;
  port: number;
}

describe('propagation across RabbitMQ with amqplib', { skip: rabbitmqSkipReason(), timeout: 180_000 }, () => {
  let rmq: RabbitMqTestServer;
  let upstream: Upstream;
  let dir = '';
  const apps: App[] = [];

  before(async () => {
    rmq = await RabbitMqTestServer.start();
    upstream = await startUpstream('jobs');
    dir = mkdtempSync(join(tmpdir(), 'strata-propagate-amqp-'));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules', 'amqplib'), join(dir, 'node_modules', 'amqplib'), 'dir');
    writeFileSync(join(dir, 'app.cjs'), APP);
  });
  after(async () => {
    for (const a of apps) if (a.proc.exitCode === null) a.proc.kill('SIGKILL');
    await upstream?.close();
    await rmq?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startApp(preload: boolean, queue: string): Promise<App> {
    const proc = spawn(process.execPath, [...(preload ? ['--import', REGISTER] : []), 'app.cjs', rmq.url, String(upstream.port), queue], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const port = await waitFor('app listening', () => {
      if (proc.exitCode !== null) throw new Error(`app exited: ${out}`);
      const m = /listening (\d+)/.exec(out);
      return m ? Number(m[1]) : undefined;
    }, 60_000);
    const app = { proc, port };
    apps.push(app);
    return app;
  }

  /** Send one request per id (concurrently), each with its own class; wait for every job's call. */
  async function run(app: App, prefix: string): Promise<Map<string, Record<string, string | string[] | undefined>>> {
    const classes = ['latency-sensitive', 'bulk', 'default'];
    const ids = Array.from({ length: 12 }, (_, i) => `${prefix}-${i}`);
    await Promise.all(
      ids.map((id, i) =>
        request({
          port: app.port,
          path: `/${id}`,
          headers: { 'x-strata-priority': classes[i % 3]!, traceparent: `00-${String(i + 1).padStart(32, '0')}-00f067aa0ba902b7-01` },
        }),
      ),
    );
    const seen = new Map<string, Record<string, string | string[] | undefined>>();
    await waitFor('every job made its call', () => {
      for (const r of upstream.requests) {
        const m = /^\/job\/(.+)$/.exec(r.url ?? '');
        if (m?.[1]?.startsWith(`${prefix}-`)) seen.set(m[1], r.headers);
      }
      return seen.size === ids.length;
    }, 60_000);
    return seen;
  }

  it('with the preload module, each job’s call carries the class and trace of the request that published it', async () => {
    const app = await startApp(true, 'jobs-with');
    const seen = await run(app, 'with');
    const classes = ['latency-sensitive', 'bulk', 'default'];
    for (let i = 0; i < 12; i++) {
      const h = seen.get(`with-${i}`);
      assert.equal(h?.['x-strata-priority'], classes[i % 3], `job with-${i}`);
      assert.equal(h?.['traceparent'], `00-${String(i + 1).padStart(32, '0')}-00f067aa0ba902b7-01`);
      assert.match(String(h?.['baggage']), new RegExp(`strata\\.priority=${classes[i % 3]}`));
      assert.equal(h?.['x-job-kind'], `app-with-${i}`, 'the app’s own message headers survive next to the context');
    }
  });

  it('without it, no job call carries a class (the control case)', async () => {
    const app = await startApp(false, 'jobs-without');
    const seen = await run(app, 'without');
    for (const [id, h] of seen) {
      assert.equal(h['x-strata-priority'], undefined, id);
      assert.equal(h['x-job-kind'], `app-${id}`, id);
    }
  });
});
