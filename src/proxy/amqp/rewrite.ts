/**
 * @module proxy/amqp/rewrite
 * What the priority listener changes in the client → broker byte stream, as pure code
 * without sockets: {@link ClientStream} takes the app's chunks and returns the bytes to send
 * to RabbitMQ, with
 *  - the content header after each basic.publish carrying `priority` from the publish's class
 *    and `headers.x-strata-priority` = that class (an app-set `x-strata-priority` header is the
 *    class and is kept as it is);
 *  - queue.declare for queues matching the configured pattern carrying `x-max-priority`
 *    (unless the app gave one);
 *  - every other byte passed through unchanged (body frames are never copied into new frames).
 * Malformed input is a typed result, never an exception: the caller closes that connection.
 */
import { FRAME_HEADER, FRAME_METHOD, FRAME_OVERHEAD, FrameReader, PROTOCOL_HEADER, writeFrame } from './frame.js';
import {
  HEADERS_BIT,
  PRIORITY_BIT,
  Reader,
  Writer,
  decodeMethod,
  fieldString,
  joinContentHeader,
  readTable,
  splitContentHeader,
  str,
  tableGet,
  writeTableEntries,
} from './methods.js';
import type { FieldTable } from './methods.js';

/** The message header (and HTTP header) that carries a request's priority class. */
export const PRIORITY_HEADER = 'x-strata-priority';
/** The class of a publish whose class is not known. */
export const DEFAULT_CLASS = 'default';
export const MAX_PRIORITY_ARGUMENT = 'x-max-priority';

/** The policy a connection applies; read for every publish / declare, so it can change live. */
export interface AmqpPriorityPolicy {
  /** Class name → AMQP priority (0–255). */
  priorities: Readonly<Record<string, number>>;
  /** Queues whose name matches get `x-max-priority: maxPriority` on declare. */
  maxPriorityQueues?: { pattern: RegExp; maxPriority: number };
}

export interface ClientStreamOptions {
  policy(): AmqpPriorityPolicy;
  /** The class of the request the app is serving now, when known. */
  currentClass(): string | undefined;
  /** Something worth a log line that does not end the connection. */
  onWarning?(message: string): void;
}

export type PushResult = { ok: true; out: Buffer[] } | { ok: false; error: string };

/** The AMQP priority a class maps to (unknown classes: the default class's). */
export function priorityOf(policy: AmqpPriorityPolicy, cls: string): number {
  return policy.priorities[cls] ?? policy.priorities[DEFAULT_CLASS] ?? 0;
}

/**
 * Rewrite a basic content header payload: `priority` set, `headers.x-strata-priority` added when
 * absent. Returns the new payload and the class used. `cls` is the class to use when the
 * message does not name one itself (an `x-strata-priority` header that is not a string is kept
 * as it is, and `cls` decides the priority).
 */
export function rewritePublishHeader(payload: Buffer, policy: AmqpPriorityPolicy, cls: string): { payload: Buffer; cls: string; priority: number } {
  const h = splitContentHeader(payload);
  const headersRaw = h.props.get(HEADERS_BIT);
  let headers: FieldTable | undefined;
  if (headersRaw) headers = readTable(new Reader(headersRaw));
  const present = tableGet(headers, PRIORITY_HEADER);
  const used = fieldString(present) ?? cls;
  const priority = priorityOf(policy, used);
  if (present === undefined) {
    // Append the entry to the table's bytes: the app's own entries keep their exact bytes.
    const w = new Writer(64);
    w.sized(() => {
      if (headersRaw) w.bytes(headersRaw.subarray(4));
      writeTableEntries(w, [{ name: PRIORITY_HEADER, value: str(used) }]);
    });
    h.props.set(HEADERS_BIT, w.toBuffer());
  }
  h.props.set(PRIORITY_BIT, Buffer.from([priority]));
  return { payload: joinContentHeader(h), cls: used, priority };
}

/**
 * Rewrite a queue.declare payload to carry `x-max-priority` when the queue matches. Returns
 * undefined when nothing changes (no match, or the app set x-max-priority itself).
 */
export function rewriteQueueDeclare(payload: Buffer, policy: AmqpPriorityPolicy): Buffer | undefined {
  const rule = policy.maxPriorityQueues;
  if (!rule) return undefined;
  const r = new Reader(payload, 4);
  r.u16('reserved-1');
  const queue = r.shortstr('queue');
  r.u8('flags');
  const tableAt = r.off;
  const args = readTable(r);
  if (r.remaining !== 0) return undefined;
  if (!rule.pattern.test(queue) || tableGet(args, MAX_PRIORITY_ARGUMENT) !== undefined) return undefined;
  const w = new Writer(payload.length + 32);
  w.bytes(payload.subarray(0, tableAt));
  w.sized(() => {
    w.bytes(payload.subarray(tableAt + 4));
    writeTableEntries(w, [{ name: MAX_PRIORITY_ARGUMENT, value: { type: 'I', value: rule.maxPriority } }]);
  });
  return w.toBuffer();
}

/** The app → broker half of one connection. */
export class ClientStream {
  private readonly reader = new FrameReader({ expectProtocolHeader: true });
  /** Channels whose next frame is the content header of a basic.publish → the class then. */
  private readonly pending = new Map<number, string>();
  private failed: string | undefined;
  /** frame_max agreed in tune-ok (0 = none); rewritten frames must stay within it. */
  private frameMax = 0;
  publishes = 0;
  declares = 0;

  constructor(private readonly opts: ClientStreamOptions) {}

  /** Feed a chunk from the app; the bytes to forward, or why the connection must close. */
  push(chunk: Buffer): PushResult {
    if (this.failed) return { ok: false, error: this.failed };
    try {
      return { ok: true, out: this.process(chunk) };
    } catch (err) {
      this.failed = err instanceof Error ? err.message : String(err);
      return { ok: false, error: this.failed };
    }
  }

  private process(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    for (const ev of this.reader.push(chunk)) {
      if (ev.kind === 'protocol-header') {
        out.push(PROTOCOL_HEADER);
        continue;
      }
      const f = ev.frame;
      const cls = this.pending.get(f.channel);
      if (cls !== undefined) {
        this.pending.delete(f.channel);
        if (f.type !== FRAME_HEADER) throw new Error(`channel ${f.channel}: expected the content header of a basic.publish, got a frame of type ${f.type}`);
        out.push(this.rewriteHeader(f.channel, f.payload, f.raw, cls));
        continue;
      }
      if (f.type === FRAME_METHOD) {
        out.push(this.method(f.channel, f.payload, f.raw));
        continue;
      }
      out.push(f.raw);
    }
    return out;
  }

  private method(channel: number, payload: Buffer, raw: Buffer): Buffer {
    const m = decodeMethod(payload);
    switch (m.kind) {
      case 'connection.tune-ok':
        this.frameMax = m.args.frameMax;
        this.reader.setFrameMax(m.args.frameMax);
        return raw;
      case 'basic.publish':
        this.pending.set(channel, this.opts.currentClass() ?? DEFAULT_CLASS);
        return raw;
      case 'queue.declare': {
        const next = rewriteQueueDeclare(payload, this.opts.policy());
        if (!next) return raw;
        if (this.tooBig(next)) {
          this.opts.onWarning?.(`queue.declare ${JSON.stringify(m.args.queue)}: x-max-priority not added, the frame would exceed frame_max`);
          return raw;
        }
        this.declares++;
        return writeFrame(FRAME_METHOD, channel, next);
      }
      case 'channel.close':
      case 'channel.close-ok':
        this.pending.delete(channel);
        return raw;
      default:
        return raw;
    }
  }

  private rewriteHeader(channel: number, payload: Buffer, raw: Buffer, cls: string): Buffer {
    const next = rewritePublishHeader(payload, this.opts.policy(), cls);
    if (this.tooBig(next.payload)) {
      this.opts.onWarning?.(`channel ${channel}: publish priority not set, the content header would exceed frame_max`);
      return raw;
    }
    this.publishes++;
    return writeFrame(FRAME_HEADER, channel, next.payload);
  }

  private tooBig(payload: Buffer): boolean {
    return this.frameMax !== 0 && payload.length + FRAME_OVERHEAD > this.frameMax;
  }
}
