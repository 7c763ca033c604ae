/**
 * @module control/xds/ads-stream
 * What both ADS stream kinds share: the stream's life cycle (data / end / cancel), the node
 * named by the first request and its cache watch, per-type state with ACK/NACK bookkeeping,
 * pushes in CDS → EDS → LDS → RDS order on cache changes, status for `strata status`, and
 * ending a misbehaving stream alone. Subclasses (sotw-stream.ts, delta-stream.ts) parse
 * their request kind and build their response kind.
 */
import type * as grpc from '@grpc/grpc-js';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from '../../util/log.js';
import type { ChangedNames, SnapshotCache } from './snapshot-cache.js';
import { AdsProtocolError, checkNode, inPushOrder, metadataString } from './stream-common.js';
import type { SyncGate } from './sync-gate.js';
import type { ClientStatus, TypeStatus } from './stream-common.js';

/** What a stream needs from the server that owns it. */
export interface StreamHost {
  readonly cache: SnapshotCache;
  readonly log: Logger;
  readonly controlPlaneId: string;
  /** The stream ended (for whatever reason). */
  closed(streamId: number): void;
  /** Bounds concurrent initial syncs (absent: no bound). */
  readonly gate?: SyncGate;
}

/** Requests a stream may queue while it waits for a sync slot. */
const MAX_QUEUED_REQUESTS = 64;

/** Per-type state every stream kind keeps. */
export interface BaseTypeState {
  wildcard: boolean;
  names: ReadonlySet<string>;
  nonce: string;
  sentVersion: string;
  ackedVersion: string;
  lastNack?: string;
}

interface ErrorDetail {
  code?: number;
  message?: string;
}

export abstract class AdsStream<Req extends { node?: unknown; error_detail?: ErrorDetail | null }, Res, St extends BaseTypeState> {
  protected readonly types = new Map<string, St>();
  protected watch: { key: string; cancel: () => void } | undefined;
  protected closed = false;
  private readonly since = new Date();
  private statusBase: Omit<ClientStatus, 'types'> | undefined;
  /** Requests held while the stream waits for a sync slot (undefined once admitted). */
  private held: Req[] | undefined;
  private syncing = false;

  constructor(
    protected readonly id: number,
    protected readonly call: grpc.ServerDuplexStream<Req, Res>,
    protected readonly host: StreamHost,
    private readonly kind: ClientStatus['kind'],
  ) {}

  start(): void {
    const gate = this.host.gate;
    if (gate) this.held = [];
    this.call.on('data', (req: Req) => {
      if (this.closed) return;
      if (this.held) {
        if (this.held.length >= MAX_QUEUED_REQUESTS) {
          this.fail(new AdsProtocolError(GrpcStatus.RESOURCE_EXHAUSTED, `more than ${MAX_QUEUED_REQUESTS} requests before the initial configuration`));
          return;
        }
        this.held.push(req);
        if (this.held.length === 1 && gate) gate.enter(this.id, () => this.admitted());
        return;
      }
      this.handle(req);
    });
    this.call.on('end', () => {
      this.cleanup();
      this.call.end();
    });
    for (const ev of ['cancelled', 'error', 'close', 'finish'] as const) this.call.on(ev, () => this.cleanup());
  }

  private handle(req: Req): void {
    try {
      this.connect(req);
      this.onRequest(req);
      if (this.syncing) this.checkSynced();
    } catch (err) {
      this.fail(err);
    }
  }

  /** A sync slot is ours: handle what was held. */
  private admitted(): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (this.closed) {
      this.host.gate?.leave(this.id);
      return;
    }
    this.syncing = true;
    for (const req of held) {
      if (this.closed) break;
      this.handle(req);
    }
  }

  /** Leave the gate once every subscribed type has been answered by the client (ACK or NACK). */
  private checkSynced(): void {
    if (this.types.size === 0) return;
    for (const st of this.types.values()) if (st.ackedVersion === '' && st.lastNack === undefined) return;
    this.syncing = false;
    this.host.gate?.leave(this.id);
  }

  /** Status for `strata status`; undefined until the first request named the node. */
  status(): ClientStatus | undefined {
    if (!this.statusBase) return undefined;
    const types: TypeStatus[] = [...this.types].map(([typeUrl, st]) => ({
      typeUrl,
      ackedVersion: st.ackedVersion,
      sentVersion: st.sentVersion,
      ...(st.lastNack !== undefined ? { lastNack: st.lastNack } : {}),
      subscribed: this.subscribed(st),
    }));
    return { ...this.statusBase, types };
  }

  /** End the stream with a status (server shutdown, or a bad request). */
  end(code: GrpcStatus, details: string): void {
    if (this.closed) return;
    this.cleanup();
    this.call.emit('error', { code, details });
  }

  /** Handle one request of this stream's kind (the node is known by now). */
  protected abstract onRequest(req: Req): void;
  /**
   * Send what the client lacks of a type; with `force`, send even if nothing changed. On a
   * cache change, `changed` names the resources of the type that were added, changed or
   * removed (only those need a look).
   */
  protected abstract push(typeUrl: string, force: boolean, changed?: ReadonlySet<string>): void;
  /** Names shown as subscribed in status. */
  protected abstract subscribed(st: St): string[];

  /** Record an ACK (the version the client now holds) or a NACK with its reason. */
  protected ackOrNack(typeUrl: string, st: St, req: Req, ackedVersion: string): void {
    const err = req.error_detail;
    if (err && (err.code || err.message)) {
      const reason = err.message || `code ${err.code}`;
      st.lastNack = reason;
      if (this.statusBase) this.statusBase.lastNack = { typeUrl, reason, at: new Date() };
      this.host.log.warn('xds NACK', { stream: this.id, node: this.statusBase?.nodeId, type: typeUrl, version: st.sentVersion, reason });
      return;
    }
    st.ackedVersion = ackedVersion;
    delete st.lastNack;
  }

  private connect(req: Req): void {
    if (this.watch) return;
    const node = checkNode(req.node as Parameters<typeof checkNode>[0]);
    this.watch = this.host.cache.watch(node, (changed, names) => this.onChange(changed, names));
    this.statusBase = {
      streamId: this.id,
      nodeId: node.id,
      workload: node.cluster || metadataString(node.metadata, 'strata.service') || '',
      group: this.watch.key,
      locality: node.locality ?? {},
      kind: this.kind,
      peer: this.call.getPeer(),
      connectedSince: this.since,
    };
    this.host.log.info('xds client connected', { stream: this.id, node: node.id, kind: this.kind, peer: this.statusBase.peer });
  }

  private onChange(changed: readonly string[], names: ChangedNames): void {
    if (this.closed) return;
    for (const typeUrl of inPushOrder(changed)) if (this.types.has(typeUrl)) this.push(typeUrl, false, names.get(typeUrl));
  }

  private fail(err: unknown): void {
    const e = err instanceof AdsProtocolError ? err : new AdsProtocolError(GrpcStatus.INTERNAL, err instanceof Error ? err.message : String(err));
    this.host.log.warn('xds stream ended: bad request', { stream: this.id, node: this.statusBase?.nodeId, code: e.code, reason: e.message });
    this.end(e.code, e.message);
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = undefined;
    this.host.gate?.leave(this.id);
    this.watch?.cancel();
    if (this.statusBase) this.host.log.info('xds client disconnected', { stream: this.id, node: this.statusBase.nodeId });
    this.host.closed(this.id);
  }
}
