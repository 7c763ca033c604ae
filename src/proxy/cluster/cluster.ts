/**
 * @module proxy/cluster/cluster
 * One upstream service at runtime: its endpoints, balancer, connection pools, circuit
 * breaker, retry budget, outlier detection and active health checks. Survives config
 * swaps: endpoints (and their pools and stats) are kept by address when the spec changes.
 */
import type { ClusterSpec, SidecarProtocol } from '../../config/snapshot.js';
import type { Balancer } from '../balancer/balancer.js';
import { getBalancer } from '../balancer/registry.js';
import { preferLocality } from '../balancer/locality.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { Endpoint } from './endpoint.js';
import { HealthChecker } from './health-check.js';
import { OutlierDetector } from './outlier-detection.js';
import { RetryBudget } from './retry-budget.js';
import type { ConnectionPool } from '../pool/upstream.js';
import { H1Pool } from '../pool/h1-pool.js';
import { H2Pool, clientTlsOptions } from '../pool/h2-pool.js';
import type tls from 'node:tls';
import type { ClassSocketOptions } from '../priority/socket-hook.js';

/** The priority class a request travels in, for per-class upstream pools. */
export interface PoolClass {
  /** Class index (highest rank first). */
  readonly index: number;
  /** What the class asks of its sockets; every socket of its pool is marked with it. */
  readonly socket: ClassSocketOptions;
}

export interface ClusterContext {
  /** This sidecar's locality, for locality preference. */
  locality: string;
  /** Protocol between sidecars. */
  sidecarProtocol: SidecarProtocol;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

export class Cluster {
  spec: ClusterSpec;
  endpoints: Endpoint[] = [];
  readonly breaker: CircuitBreaker;
  readonly retryBudget: RetryBudget;
  private balancer: Balancer;
  private outlier: OutlierDetector | undefined;
  private health: HealthChecker | undefined;
  private healthSpec: ClusterSpec['healthCheck'];
  private readonly pools = new Map<Endpoint, ConnectionPool>();
  /** Per-class pools (request priority): endpoint → pool by class index. */
  private readonly classPools = new Map<Endpoint, (ConnectionPool | undefined)[]>();
  /** Requests in flight through this cluster. */
  active = 0;
  /** True when no endpoint was available and all are used regardless (Envoy's panic mode). */
  panic = false;
  private nextAvailabilityChange = Infinity;
  private tlsOptions: tls.ConnectionOptions | undefined;

  constructor(
    spec: ClusterSpec,
    private readonly ctx: ClusterContext,
  ) {
    this.spec = spec;
    this.breaker = new CircuitBreaker(spec.circuitBreaker);
    this.retryBudget = new RetryBudget(spec.retryBudget);
    this.balancer = this.makeBalancer(spec);
    this.update(spec);
  }

  private makeBalancer(spec: ClusterSpec): Balancer {
    const factory = getBalancer(spec.loadBalancer.policy);
    if (!factory) throw new Error(`cluster ${spec.name}: unknown load balancer '${spec.loadBalancer.policy}'`);
    return factory.create(spec.loadBalancer);
  }

  /** Apply a new spec, keeping endpoint state for addresses that stay. */
  update(spec: ClusterSpec): void {
    const old = this.spec;
    // Everything that can fail comes first, so a bad spec leaves the cluster as it was.
    const tlsOptions = spec.tls ? clientTlsOptions(spec.tls, spec.name) : undefined;
    if (JSON.stringify(old.tls) !== JSON.stringify(spec.tls)) {
      for (const p of this.allPools()) p.close();
      this.pools.clear();
      this.classPools.clear();
    }
    this.tlsOptions = tlsOptions;
    this.spec = spec;
    const byKey = new Map(this.endpoints.map((e) => [e.key, e]));
    const next: Endpoint[] = [];
    for (const es of spec.endpoints) {
      const key = `${es.address}:${es.port}`;
      const prev = byKey.get(key);
      if (prev && prev.spec.sidecar === es.sidecar && prev.spec.weight === es.weight && prev.spec.locality === es.locality) {
        next.push(prev);
        byKey.delete(key);
      } else {
        next.push(new Endpoint(es));
        if (prev) byKey.set(key, prev); // replaced: its pool is closed below
      }
    }
    for (const gone of byKey.values()) this.closePool(gone);
    this.endpoints = next;
    if (old !== spec) {
      this.breaker.update(spec.circuitBreaker);
      this.retryBudget.update(spec.retryBudget);
      if (JSON.stringify(old.loadBalancer) !== JSON.stringify(spec.loadBalancer)) this.balancer = this.makeBalancer(spec);
    }
    // Outlier detection keeps its per-endpoint counters across updates; the health checker
    // restarts only when its spec changes.
    if (spec.outlierDetection) {
      if (this.outlier) this.outlier.update(spec.outlierDetection);
      else {
        this.outlier = new OutlierDetector(spec.outlierDetection, () => this.endpoints, () => this.refresh());
        this.outlier.start();
      }
    } else if (this.outlier) {
      this.outlier.stop();
      this.outlier = undefined;
      for (const e of this.endpoints) e.ejectedUntil = 0;
    }
    const hc = spec.protocol !== 'tcp' ? spec.healthCheck : undefined;
    if (!this.health || JSON.stringify(hc) !== JSON.stringify(this.healthSpec)) {
      this.health?.stop();
      this.health = undefined;
      this.healthSpec = hc;
      if (hc) {
        this.health = new HealthChecker(hc, () => this.endpoints, () => this.refresh(), { host: spec.name });
        this.health.start();
      } else {
        for (const e of this.endpoints) e.healthy = true;
      }
    }
    this.refresh();
  }

  /** Recompute the balancer's candidates after membership or availability changed. */
  refresh(now = Date.now()): void {
    let available = this.endpoints.filter((e) => e.available(now));
    this.panic = available.length === 0 && this.endpoints.length > 0;
    if (this.panic) available = this.endpoints;
    if (this.spec.localityPreference) available = preferLocality(available, this.ctx.locality) as Endpoint[];
    let nextChange = Infinity;
    for (const e of this.endpoints) if (e.ejectedUntil > now && e.ejectedUntil < nextChange) nextChange = e.ejectedUntil;
    this.nextAvailabilityChange = nextChange;
    this.balancer.update(available);
  }

  pick(hashKey: string | undefined): Endpoint | undefined {
    const now = Date.now();
    if (now >= this.nextAvailabilityChange) this.refresh(now);
    return this.balancer.pick({ hashKey, now });
  }

  /** Record an attempt's result for outlier detection. */
  report(ep: Endpoint, outcome: 'success' | '5xx' | 'gateway-error' | 'connect-failure'): void {
    this.outlier?.report(ep, outcome);
  }

  /** The pool for `ep`: shared, or with `cls` the class's own (separate connections, marked sockets). */
  pool(ep: Endpoint, cls?: PoolClass): ConnectionPool {
    if (cls !== undefined) return this.classPool(ep, cls);
    let p = this.pools.get(ep);
    if (p === undefined) {
      p = this.makePool(ep, undefined);
      this.pools.set(ep, p);
    }
    return p;
  }

  private classPool(ep: Endpoint, cls: PoolClass): ConnectionPool {
    let byClass = this.classPools.get(ep);
    if (byClass === undefined) {
      byClass = [];
      this.classPools.set(ep, byClass);
    }
    let p = byClass[cls.index];
    if (p === undefined) {
      p = this.makePool(ep, cls.socket);
      byClass[cls.index] = p;
    }
    return p;
  }

  private makePool(ep: Endpoint, socketOptions: ClassSocketOptions | undefined): ConnectionPool {
    // TLS upstreams are dialled with ALPN h2; plain ones by protocol.
    const tls = this.spec.tls;
    const useH2 = tls !== undefined || (ep.spec.sidecar ? this.ctx.sidecarProtocol === 'h2' : this.spec.protocol === 'http2' || this.spec.protocol === 'grpc');
    const opts = {
      host: ep.spec.address,
      port: ep.spec.port,
      maxConnections: this.spec.circuitBreaker.maxConnections,
      connectTimeoutMs: this.ctx.connectTimeoutMs,
      idleTimeoutMs: this.ctx.idleTimeoutMs,
      ...(socketOptions !== undefined && { socketOptions }),
    };
    return useH2 ? new H2Pool(opts, this.tlsOptions) : new H1Pool(opts);
  }

  private *allPools(): Generator<ConnectionPool> {
    yield* this.pools.values();
    for (const byClass of this.classPools.values()) for (const p of byClass) if (p !== undefined) yield p;
  }

  private closePool(ep: Endpoint): void {
    const p = this.pools.get(ep);
    if (p) {
      p.close();
      this.pools.delete(ep);
    }
    const byClass = this.classPools.get(ep);
    if (byClass) {
      for (const c of byClass) c?.close();
      this.classPools.delete(ep);
    }
  }

  /** Requests waiting for a connection, over all endpoints. */
  pendingCount(): number {
    let n = 0;
    for (const p of this.allPools()) n += p.pending();
    return n;
  }

  connectionCount(): number {
    let n = 0;
    for (const p of this.allPools()) n += p.connections();
    return n;
  }

  close(): void {
    this.outlier?.stop();
    this.health?.stop();
    for (const p of this.allPools()) p.close();
    this.pools.clear();
    this.classPools.clear();
  }
}

/** All clusters of a sidecar, keyed by name; reconciled on each config snapshot. */
export class ClusterManager {
  private readonly clusters = new Map<string, Cluster>();

  constructor(private ctx: ClusterContext) {}

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  all(): IterableIterator<Cluster> {
    return this.clusters.values();
  }

  /** Build every cluster of a snapshot first (so errors leave the old set intact), then swap. */
  reconcile(specs: readonly ClusterSpec[], ctx: ClusterContext): void {
    this.ctx = ctx;
    const wanted = new Map(specs.map((s) => [s.name, s]));
    for (const spec of specs) {
      if (!getBalancer(spec.loadBalancer.policy)) throw new Error(`cluster ${spec.name}: unknown load balancer '${spec.loadBalancer.policy}'`);
      if (spec.tls) clientTlsOptions(spec.tls, spec.name);
    }
    for (const [name, c] of this.clusters) {
      if (!wanted.has(name)) {
        c.close();
        this.clusters.delete(name);
      }
    }
    for (const spec of specs) {
      const c = this.clusters.get(spec.name);
      if (c) c.update(spec);
      else this.clusters.set(spec.name, new Cluster(spec, this.ctx));
    }
  }

  close(): void {
    for (const c of this.clusters.values()) c.close();
    this.clusters.clear();
  }
}
