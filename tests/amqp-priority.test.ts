/**
 * Priority through RabbitMQ: a real broker (Debian rabbitmq-server, started and stopped here)
 * behind a real sidecar process's AMQP listener. Queues declared through the sidecar get
 * x-max-priority, publishes get their priority from their class, so latency-sensitive messages
 * overtake queued bulk ones, and consumers see the class in headers.x-strata-priority. A
 * control run without the sidecar stays FIFO, and garbage on the listener closes only that
 * connection. A publish without a class, made while the app serves a latency-sensitive request,
 * takes that class (inference from the sidecar's in-flight inbound requests).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { RabbitMqTestServer, rabbitmqSkipReason } from '../src/proxy/amqp/rabbitmq-test-server.js';
import { freePorts, request, startSidecar } from './lib/harness.js';
import type { SidecarProcess } from './lib/harness.js';

const BULK = 50;
const URGENT = 5;

/** Consume `n` messages (acking each), then cancel the consumer. */
async function consumeN(ch: Channel, queue: string, n: number, timeoutMs = 20_000): Promise<ConsumeMessage[]> {
  const got: ConsumeMessage[] = [];
  let tag = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${n} messages from ${queue}`)), timeoutMs);
    ch.consume(queue, (m) => {
      if (!m) return reject(new Error(`consumer on ${queue} cancelled by the broker`));
      got.push(m);
      ch.ack(m);
      if (got.length === n) {
        clearTimeout(timer);
        resolve();
      }
    })
      .then((r) => (tag = r.consumerTag))
      .catch(reject);
  });
  if (tag) await ch.cancel(tag);
  return got;
}

/** Publish BULK bulk messages, then URGENT latency-sensitive ones, each naming its class in a header; wait for confirms. */
async function publishMix(conn: ChannelModel, queue: string, withClass: boolean): Promise<void> {
  const ch = await conn.createConfirmChannel();
  const headers = (cls: string) => (withClass ? { 'x-strata-priority': cls } : {});
  for (let i = 0; i < BULK; i++) ch.sendToQueue(queue, Buffer.from(`bulk-${i}`), { headers: headers('bulk') });
  for (let i = 0; i < URGENT; i++) ch.sendToQueue(queue, Buffer.from(`urgent-${i}`), { headers: headers('latency-sensitive') });
  await ch.waitForConfirms();
  await ch.close();
}

const expectedFifo = [...Array.from({ length: BULK }, (_, i) => `bulk-${i}`), ...Array.from({ length: URGENT }, (_, i) => `urgent-${i}`)];

describe('priority through RabbitMQ (AMQP listener)', { skip: rabbitmqSkipReason() }, () => {
  let rmq: RabbitMqTestServer;
  let sidecar: SidecarProcess;
  let amqpPort: number;
  let viaSidecar: ChannelModel;
  let direct: ChannelModel;
  let inboundPort: number;
  /** The app behind the sidecar's inbound listener: holds each request until told to answer. */
  let app: http.Server;
  const held: http.ServerResponse[] = [];

  before(async () => {
    rmq = await RabbitMqTestServer.start();
    app = http.createServer((_req, res) => held.push(res));
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    const [adminPort, port, inPort] = (await freePorts(3)) as [number, number, number];
    amqpPort = port;
    inboundPort = inPort;
    sidecar = await startSidecar(
      `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: publisher }
spec:
  service: publisher
  admin: { port: ${adminPort} }
  inbound: { port: ${inPort}, address: 127.0.0.1, appPort: ${(app.address() as AddressInfo).port} }
  priority: {}
  amqp:
    port: ${amqpPort}
    upstream: { address: 127.0.0.1, port: ${rmq.port} }
    maxPriorityQueues: { pattern: "^prio\\\\.", maxPriority: 10 }
`,
      adminPort,
    );
    viaSidecar = await amqp.connect(`amqp://guest:guest@127.0.0.1:${amqpPort}`);
    direct = await amqp.connect(rmq.url);
  });

  after(async () => {
    await viaSidecar?.close().catch(() => undefined);
    await direct?.close().catch(() => undefined);
    await sidecar?.stop();
    await rmq?.stop();
    app?.closeAllConnections();
    app?.close();
  });

  test('a queue declared through the sidecar gets x-max-priority (the broker says so)', async () => {
    const ch = await viaSidecar.createChannel();
    await ch.assertQueue('prio.declared', { durable: false });
    await ch.assertQueue('plain.declared', { durable: false });
    await ch.close();

    // The broker holds the argument: redeclaring with it succeeds, without it is refused.
    const same = await direct.createChannel();
    await same.assertQueue('prio.declared', { durable: false, arguments: { 'x-max-priority': 10 } });
    await same.close();
    const other = await direct.createChannel();
    other.on('error', () => undefined);
    await assert.rejects(other.assertQueue('prio.declared', { durable: false }), /PRECONDITION_FAILED.*x-max-priority/);

    const queues = rmq.listQueues();
    assert.match(queues.get('prio.declared') ?? '', /x-max-priority.*10/);
    assert.doesNotMatch(queues.get('plain.declared') ?? 'missing', /x-max-priority/);
  });

  test('with no consumer, 5 latency-sensitive messages overtake 50 queued bulk ones; consumers see the class', async () => {
    const ch = await viaSidecar.createChannel();
    await ch.assertQueue('prio.order', { durable: false });
    await publishMix(viaSidecar, 'prio.order', true);
    assert.equal((await ch.checkQueue('prio.order')).messageCount, BULK + URGENT);
    const got = await consumeN(ch, 'prio.order', BULK + URGENT);
    const order = got.map((m) => m.content.toString());
    assert.deepEqual(order.slice(0, URGENT), Array.from({ length: URGENT }, (_, i) => `urgent-${i}`));
    assert.deepEqual(order.slice(URGENT), Array.from({ length: BULK }, (_, i) => `bulk-${i}`));
    for (const m of got) {
      const urgent = m.content.toString().startsWith('urgent');
      assert.equal(m.properties.headers?.['x-strata-priority'], urgent ? 'latency-sensitive' : 'bulk');
      assert.equal(m.properties.priority, urgent ? 9 : 0);
    }
    await ch.close();
  });

  test('a publish that names no class gets the default class, in priority and header', async () => {
    const ch = await viaSidecar.createChannel();
    await ch.assertQueue('prio.default', { durable: false });
    ch.sendToQueue('prio.default', Buffer.from('plain'), { headers: { trace: 'kept' } });
    const [m] = await consumeN(ch, 'prio.default', 1);
    assert.equal(m?.properties.priority, 4);
    assert.deepEqual(m?.properties.headers, { trace: 'kept', 'x-strata-priority': 'default' });
    await ch.close();
  });

  test('a publish without a class, made while the app serves a latency-sensitive request, gets that class', async () => {
    const inbound = request({ port: inboundPort, path: '/checkout', headers: { 'x-strata-priority': 'latency-sensitive' } });
    while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
    const ch = await viaSidecar.createChannel();
    await ch.assertQueue('prio.inferred', { durable: false });
    ch.sendToQueue('prio.inferred', Buffer.from('from the handler'));
    const [m] = await consumeN(ch, 'prio.inferred', 1);
    assert.equal(m?.properties.priority, 9);
    assert.equal(m?.properties.headers?.['x-strata-priority'], 'latency-sensitive');
    held.shift()?.end('ok');
    assert.equal((await inbound).status, 200);
    ch.sendToQueue('prio.inferred', Buffer.from('after the request'));
    const [later] = await consumeN(ch, 'prio.inferred', 1);
    assert.equal(later?.properties.priority, 4, 'nothing in flight: default');
    await ch.close();
  });

  test('control: the same publishes straight to RabbitMQ, even into a priority queue, stay FIFO', async () => {
    const ch = await direct.createChannel();
    await ch.assertQueue('prio.control', { durable: false, arguments: { 'x-max-priority': 10 } });
    await publishMix(direct, 'prio.control', true);
    const got = await consumeN(ch, 'prio.control', BULK + URGENT);
    assert.deepEqual(
      got.map((m) => m.content.toString()),
      expectedFifo,
    );
    assert.equal(got[0]?.properties.priority, undefined);
    await ch.close();
  });

  test('garbage on the AMQP port closes that connection; the sidecar keeps serving others', async () => {
    const bad = net.connect(amqpPort, '127.0.0.1');
    bad.on('error', () => undefined);
    await new Promise<void>((resolve) => bad.once('connect', () => resolve()));
    bad.write('GET / HTTP/1.1\r\nHost: rabbit\r\n\r\n');
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('garbage connection not closed')), 10_000);
      bad.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      bad.resume();
    });
    // A bad frame after a good start, on a second connection.
    const bad2 = net.connect(amqpPort, '127.0.0.1');
    bad2.on('error', () => undefined);
    bad2.write(Buffer.concat([Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'), Buffer.from([1, 0, 0, 0, 0, 0, 1, 0, 0x00])]));
    bad2.resume();
    await new Promise<void>((resolve) => bad2.once('close', () => resolve()));

    // The connection opened before still works, and so do new ones.
    const ch = await viaSidecar.createChannel();
    await ch.assertQueue('prio.after', { durable: false });
    ch.sendToQueue('prio.after', Buffer.from('still here'), { headers: { 'x-strata-priority': 'latency-sensitive' } });
    const [m] = await consumeN(ch, 'prio.after', 1);
    assert.equal(m?.properties.priority, 9);
    await ch.close();
    const fresh = await amqp.connect(`amqp://guest:guest@127.0.0.1:${amqpPort}`);
    await fresh.close();
    assert.equal((await request({ port: sidecar.adminPort, path: '/ready' })).status, 200);
    assert.match(sidecar.stderr(), /closing AMQP connection/);
  });
});
