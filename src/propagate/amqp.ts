/**
 * @module propagate/amqp
 * Context across a RabbitMQ queue for apps that use the `amqplib` package: a message published
 * while a request is handled carries that request's propagated values (x-strata-priority,
 * traceparent, tracestate, baggage) in its AMQP headers — the app's own headers kept, baggage
 * merged, as for HTTP — and a consumer's callback runs in the context read from the delivered
 * message's headers, so the requests it makes carry the class on: the chain continues after
 * the queue. (The sidecar's AMQP listener also sets x-strata-priority and the message
 * priority; this makes the consumer side work without code.)
 *
 * amqplib is the app's dependency, not Strata's: it is looked up from the app's directory and
 * the working directory, and patched where found (both of its APIs share lib/channel.js's
 * BaseChannel: `sendMessage` for publish/sendToQueue, `registerConsumer` for consume).
 */
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { contextStorage, currentContext, extractContext, isEmptyContext, outboundHeaders } from './context.js';
import type { HeaderGetter } from './context.js';

const PATCHED = Symbol.for('strata.propagate.amqp');

interface Message {
  properties?: { headers?: Record<string, unknown> };
}

interface BaseChannelProto {
  sendMessage(fields: unknown, properties: { headers?: Record<string, unknown> } | undefined, content: unknown): unknown;
  registerConsumer(tag: string, callback: (msg: Message | null) => unknown): unknown;
  [PATCHED]?: true;
}

/**
 * Every entry of a headers object, its own and inherited ones: amqplib's publish hands the
 * app's headers as the prototype of the object it sends (api_args.js:
 * `Object.create(options.headers)`, adding CC/BCC as own entries), and encodes both.
 */
export function headerEntries(headers: Record<string, unknown> | undefined): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (!headers) return out;
  // for…in: own and inherited entries.
  for (const k in headers) out.push([k, headers[k]]);
  return out;
}

/** A getter over AMQP headers (values may be strings, Buffers, numbers or {type, value} pairs). */
export function amqpHeaderGetter(headers: Record<string, unknown> | undefined): HeaderGetter {
  const lower = new Map<string, string>();
  for (const [k, raw] of headerEntries(headers)) {
    const v = raw !== null && typeof raw === 'object' && !Buffer.isBuffer(raw) && 'value' in raw ? (raw as { value: unknown }).value : raw;
    if (typeof v === 'string') lower.set(k.toLowerCase(), v);
    else if (Buffer.isBuffer(v)) lower.set(k.toLowerCase(), v.toString('utf8'));
    else if (typeof v === 'number') lower.set(k.toLowerCase(), String(v));
  }
  return (name) => lower.get(name);
}

/** The headers of a message published now: the app's, plus the current context's. */
export function publishHeaders(appHeaders: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  const ctx = currentContext();
  if (!ctx || isEmptyContext(ctx)) return appHeaders;
  const add = outboundHeaders(ctx, amqpHeaderGetter(appHeaders));
  if (add.size === 0) return appHeaders;
  const out: Record<string, unknown> = Object.fromEntries(headerEntries(appHeaders));
  // Replace the app's entry whatever its case (baggage is merged by outboundHeaders()).
  for (const [name, value] of add) {
    for (const k of Object.keys(out)) if (k.toLowerCase() === name) delete out[k];
    out[name] = value;
  }
  return out;
}

/** Patch amqplib's BaseChannel (idempotent per copy of amqplib). Exported for tests. */
export function patchAmqplibChannel(BaseChannel: { prototype: BaseChannelProto }): boolean {
  const proto = BaseChannel.prototype;
  if (proto[PATCHED]) return false;
  proto[PATCHED] = true;
  const sendMessage = proto.sendMessage;
  proto.sendMessage = function (this: unknown, fields, properties, content) {
    const headers = publishHeaders(properties?.headers);
    const props = headers === properties?.headers ? properties : { ...properties, headers };
    return sendMessage.call(this, fields, props, content);
  };
  const registerConsumer = proto.registerConsumer;
  proto.registerConsumer = function (this: unknown, tag, callback) {
    const wrapped = (msg: Message | null): unknown => {
      if (!msg) return callback(msg);
      const ctx = extractContext(amqpHeaderGetter(msg.properties?.headers));
      return contextStorage.run(ctx, () => callback(msg));
    };
    return registerConsumer.call(this, tag, wrapped);
  };
  return true;
}

/** Find amqplib from the app's directory and the working directory, and patch each copy found. */
export function installAmqp(): void {
  const bases = new Set<string>([process.cwd()]);
  const main = process.argv[1];
  if (main) bases.add(dirname(resolve(main)));
  const seen = new Set<string>();
  for (const base of bases) {
    let path: string;
    try {
      path = createRequire(join(base, 'noop.js')).resolve('amqplib/lib/channel.js');
    } catch {
      continue; // the app does not use amqplib (from here)
    }
    if (seen.has(path)) continue;
    seen.add(path);
    try {
      const mod = createRequire(join(base, 'noop.js'))(path) as { BaseChannel?: { prototype: BaseChannelProto } };
      if (typeof mod.BaseChannel?.prototype?.sendMessage === 'function' && typeof mod.BaseChannel.prototype.registerConsumer === 'function') {
        patchAmqplibChannel(mod.BaseChannel);
      }
    } catch {
      // An amqplib we do not recognise: leave it alone.
    }
  }
}
