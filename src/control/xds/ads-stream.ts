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
import type { ClientStatus, TypeStatus } from './stream-common.js';

/** What a stream needs from the server that owns it. */
export interface StreamHost {
  readonly cache: SnapshotCache;
  readonly log: Logger;
  readonly controlPlaneId: string;
  /** The stream ended (for whatever reason). */
  closed(streamId: number): void;
}

/** Per-type state every stream kind keeps. */
export interface BaseTypeState {
  wildcard: boolean;
  names: Set<string>;
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

  constructor(
    protected readonly id: number,
    protected readonly call: grpc.ServerDuplexStream<Req, Res>,
    protected readonly host: StreamHost,
    private readonly kind: ClientStatus['kind'],
  ) {}

  start(): void {
    this.call.on('data', (req: Req) => {
      if (this.closed) return;
      try {
        this.connect(req);
        this.onRequest(req);
      } catch (err) {
        this.fail(err);
      }
    });
    this.call.on('end', () => {
      this.cleanup();
      this.call.end();
    });
    for (const ev of ['cancelled', 'error', 'close', 'finish'] as const) this.call.on(ev, () => this.cleanup());
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
    this.watch?.cancel();
    if (this.statusBase) this.host.log.info('xds client disconnected', { stream: this.id, node: this.statusBase.nodeId });
    this.host.closed(this.id);
  }
}
