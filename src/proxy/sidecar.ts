/**
 * @module proxy/sidecar
 * The sidecar: owns listeners, clusters, the admin server and the current Runtime.
 * apply() swaps configuration atomically (build everything first, then switch the
 * reference); drain() is the graceful shutdown used on SIGTERM. While its config has priority,
 * the kernel layer marks the sockets of per-class upstream pools (net/marking.ts).
 */
import type { Limits, ServerTlsSpec, Snapshot } from '../config/snapshot.js';
import { ClusterManager } from './cluster/cluster.js';
import type { ClusterContext } from './cluster/cluster.js';
import type { ListenerRole, PipelineHost } from './http/pipeline.js';
import { HttpListener } from './listeners/http-listener.js';
import { TcpListener } from './listeners/tcp-listener.js';
import { AmqpListener, policyOf } from './amqp/listener.js';
import type { Listener } from './listeners/listener.js';
import { AdminServer } from './admin/admin.js';
import { Runtime, INBOUND_CLUSTER_PREFIX } from './runtime.js';
import { ProxyMetrics } from '../stats/metrics.js';
import { PriorityState } from './priority/state.js';
import { installSocketMarking, uninstallSocketMarking } from '../net/marking.js';
import { logger } from '../util/log.js';
import './balancer/index.js';
import './filters/index.js';

const log = logger('sidecar');

/**
 * The socket hook is process-wide: installed while at least one sidecar in the process has
 * priority configured (normally there is one sidecar per process; tests run several).
 */
let markingUsers = 0;
let markingInstalled = false;

function useSocketMarking(on: boolean, was: boolean): void {
  if (on === was) return;
  markingUsers += on ? 1 : -1;
  if (markingUsers > 0 && !markingInstalled) {
    markingInstalled = true;
    if (!installSocketMarking()) log.warn('priority classes cannot mark upstream sockets here (socket options need Linux and koffi); traffic goes unmarked');
  } else if (markingUsers === 0 && markingInstalled) {
    markingInstalled = false;
    uninstallSocketMarking();
  }
}

interface ListenerPlan {
  key: string;
  name: string;
  make(host: Sidecar): Listener;
}

function clusterContext(s: Snapshot): ClusterContext {
  return {
    locality: s.sidecar.locality,
    sidecarProtocol: s.sidecar.upstreamProtocol,
    connectTimeoutMs: s.sidecar.limits.connectTimeoutMs,
    idleTimeoutMs: s.sidecar.limits.idleTimeoutMs,
  };
}

function plan(s: Snapshot): ListenerPlan[] {
  const out: ListenerPlan[] = [];
  const sc = s.sidecar;
  const http = (name: string, address: string, port: number, role: ListenerRole, tls?: ServerTlsSpec): ListenerPlan => ({
    key: `http|${address}|${port}|${JSON.stringify(role)}|${tls ? `${tls.certFile}|${tls.keyFile}` : ''}`,
    name,
    make: (host) => new HttpListener({ name, address, port, role, ...(tls && { tls }) }, host),
  });
  const tcp = (name: string, address: string, port: number, cluster: string): ListenerPlan => ({
    key: `tcp|${address}|${port}|${cluster}`,
    name,
    make: (host) => new TcpListener({ name, address, port, cluster }, host),
  });
  if (sc.outbound) out.push(http('outbound-proxy', sc.outbound.address, sc.outbound.port, { kind: 'outbound-proxy' }));
  if (sc.gateway) out.push(http('gateway', sc.gateway.address, sc.gateway.port, { kind: 'gateway', defaultService: sc.gateway.defaultService }));
  for (const lp of sc.localPorts) {
    const name = `outbound-${lp.service}-${lp.port}`;
    out.push(lp.protocol === 'tcp' ? tcp(name, lp.address, lp.port, lp.service) : http(name, lp.address, lp.port, { kind: 'outbound-port', service: lp.service }));
  }
  if (sc.inbound) {
    const cluster = `${INBOUND_CLUSTER_PREFIX}${sc.service || 'app'}`;
    out.push(sc.inbound.appProtocol === 'tcp' ? tcp('inbound', sc.inbound.address, sc.inbound.port, cluster) : http('inbound', sc.inbound.address, sc.inbound.port, { kind: 'inbound' }, sc.inbound.tls));
  }
  if (sc.amqp) {
    // Priorities and the queue pattern are read live from the running config; only a new
    // address or broker replaces the listener.
    const a = sc.amqp;
    out.push({
      key: `amqp|${a.address}|${a.port}|${a.upstream.address}|${a.upstream.port}`,
      name: 'amqp',
      make: (host) =>
        new AmqpListener({
          name: 'amqp',
          address: a.address,
          port: a.port,
          upstream: a.upstream,
          policy: () => policyOf(host.runtime().snapshot.sidecar.amqp ?? a),
          currentClass: () => host.currentClass(),
          connectTimeoutMs: () => host.limits().connectTimeoutMs,
        }),
    });
  }
  return out;
}

export class Sidecar implements PipelineHost {
  readonly clusters: ClusterManager;
  readonly metrics: ProxyMetrics;
  private current: Runtime;
  private prio: PriorityState | undefined;
  private readonly listeners = new Map<string, { name: string; l: Listener }>();
  private admin: AdminServer | undefined;
  private started = false;
  private isDraining = false;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];
  private appliedAt = new Date();
  private lastError: { at: string; errors: string[] } | undefined;
  private drainPromise: Promise<void> | undefined;
  private awaiting: string | undefined;
  private discoverer: ((name: string) => Promise<boolean> | undefined) | undefined;
  private readonly inferredClass = (): string | undefined => this.prio?.inferredClass();
  private classSource: () => string | undefined = this.inferredClass;
  /** This sidecar counts towards the process's socket-marking users. */
  private marking = false;

  constructor(snapshot: Snapshot) {
    this.current = new Runtime(snapshot);
    this.metrics = new ProxyMetrics(snapshot.sidecar.service || 'unknown', {
      endpoints: () => this.endpointStates(),
      admission: () => this.prio?.gauges() ?? [],
    });
    this.prio = snapshot.priority && new PriorityState(snapshot.priority, this.metrics);
    this.setMarking(this.prio !== undefined);
    this.clusters = new ClusterManager(clusterContext(snapshot));
    this.clusters.reconcile(this.current.clusterSpecs, clusterContext(snapshot));
  }

  // ── PipelineHost ─────────────────────────────────────────────────────────────
  runtime(): Runtime {
    return this.current;
  }
  priority(): PriorityState | undefined {
    return this.prio;
  }
  limits(): Limits {
    return this.current.snapshot.sidecar.limits;
  }
  draining(): boolean {
    return this.isDraining;
  }
  requestStarted(): void {
    this.inFlight++;
  }
  discover(name: string): Promise<boolean> | undefined {
    return this.discoverer?.(name);
  }

  /**
   * Hold readiness (GET /ready → 503 with `reason`) until `awaitConfig(undefined)`: a sidecar
   * that takes its services from the control plane is not ready before the first delivery.
   */
  awaitConfig(reason: string | undefined): void {
    this.awaiting = reason;
  }

  /**
   * Let the outbound proxy ask for services it does not know yet (on-demand discovery):
   * `fn(name)` returns a promise of whether `name` became known, or undefined when it cannot
   * be asked for (already asked, not a service name).
   */
  setDiscoverer(fn: ((name: string) => Promise<boolean> | undefined) | undefined): void {
    this.discoverer = fn;
  }

  /**
   * Where the AMQP listener learns the class of the request the app is serving now: `fn()`
   * returns a class name, or undefined when unknown (a publish then counts as `default`). The
   * default source (restored by `setClassSource(undefined)`) is inference: the class every
   * inbound request in flight at the app shares, while priority is configured (priority/infer.ts).
   */
  setClassSource(fn: (() => string | undefined) | undefined): void {
    this.classSource = fn ?? this.inferredClass;
  }
  currentClass(): string | undefined {
    return this.classSource();
  }
  requestFinished(): void {
    this.inFlight--;
    if (this.inFlight <= 0 && this.idleWaiters.length > 0) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of w) f();
    }
  }

  /** Start listeners and the admin server. Rejects (and closes what opened) on any bind error. */
  async start(): Promise<void> {
    try {
      await this.reconcileListeners(this.current.snapshot);
      const admin = this.current.snapshot.sidecar.admin;
      if (admin) {
        this.admin = new AdminServer(admin.address, admin.port, {
          ready: () => this.awaiting === undefined && this.started && !this.isDraining,
          notReadyReason: () => this.awaiting ?? (this.isDraining ? 'draining' : 'starting'),
          configDump: () => this.configDump(),
          clusters: () => this.clusterDump(),
          metrics: this.metrics,
          drain: () => this.drain(),
        });
        await this.admin.listen();
      }
    } catch (err) {
      this.destroy();
      throw err;
    }
    this.started = true;
    this.metrics.configReloads.inc({ result: 'applied' });
    log.info('started', { version: this.current.snapshot.version, listeners: [...this.listeners.values()].map((l) => `${l.name}:${l.l.port()}`).join(',') });
  }

  /**
   * Apply a new snapshot atomically. Everything that can fail is built before the swap;
   * on failure the running config stays and the error is returned (and kept for /config_dump).
   */
  async apply(snapshot: Snapshot): Promise<{ ok: true } | { ok: false; error: string }> {
    if (snapshot.version === this.current.snapshot.version) return { ok: true };
    let next: Runtime;
    let prio: PriorityState | undefined;
    try {
      next = new Runtime(snapshot);
      prio = snapshot.priority && new PriorityState(snapshot.priority, this.metrics, this.prio);
      await this.reconcileListeners(snapshot);
      this.clusters.reconcile(next.clusterSpecs, clusterContext(snapshot));
    } catch (err) {
      const error = (err as Error).message;
      this.rejected([error]);
      // Put listeners back to the running config's set.
      await this.reconcileListeners(this.current.snapshot).catch(() => undefined);
      return { ok: false, error };
    }
    this.current = next;
    this.prio = prio;
    this.setMarking(prio !== undefined);
    this.appliedAt = new Date();
    this.lastError = undefined;
    this.metrics.configReloads.inc({ result: 'applied' });
    log.info('config applied', { version: snapshot.version, source: snapshot.source });
    return { ok: true };
  }

  /** Record a rejected config (kept for /config_dump; the running config stays). */
  rejected(errors: string[]): void {
    this.lastError = { at: new Date().toISOString(), errors };
    this.metrics.configReloads.inc({ result: 'rejected' });
    log.warn('config rejected, keeping the running config', { version: this.current.snapshot.version, errors: errors.join('; ') });
  }

  private async reconcileListeners(snapshot: Snapshot): Promise<void> {
    const wanted = plan(snapshot);
    const keys = new Set(wanted.map((p) => p.key));
    // Close removed listeners first so a port can move between roles.
    for (const [key, { l }] of this.listeners) {
      if (!keys.has(key)) {
        this.listeners.delete(key);
        await l.stopAccepting().catch(() => undefined);
        l.destroy();
      }
    }
    for (const p of wanted) {
      if (this.listeners.has(p.key)) continue;
      const l = p.make(this);
      await l.listen();
      this.listeners.set(p.key, { name: p.name, l });
    }
  }

  listenerPorts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const { name, l } of this.listeners.values()) out[name] = l.port();
    return out;
  }

  configDump(): unknown {
    return {
      version: this.current.snapshot.version,
      source: this.current.snapshot.source,
      appliedAt: this.appliedAt.toISOString(),
      draining: this.isDraining,
      lastRejected: this.lastError ?? null,
      listeners: this.listenerPorts(),
      snapshot: this.current.snapshot,
    };
  }

  private endpointStates(): { cluster: string; state: string; count: number }[] {
    const out: { cluster: string; state: string; count: number }[] = [];
    const now = Date.now();
    for (const c of this.clusters.all()) {
      let available = 0;
      let ejected = 0;
      let unhealthy = 0;
      for (const e of c.endpoints) {
        if (!e.healthy) unhealthy++;
        else if (e.ejectedUntil > now) ejected++;
        else available++;
      }
      out.push({ cluster: c.spec.name, state: 'available', count: available }, { cluster: c.spec.name, state: 'ejected', count: ejected }, { cluster: c.spec.name, state: 'unhealthy', count: unhealthy });
    }
    return out;
  }

  clusterDump(): unknown {
    const now = Date.now();
    return [...this.clusters.all()].map((c) => ({
      name: c.spec.name,
      protocol: c.spec.protocol,
      loadBalancer: c.spec.loadBalancer.policy,
      active: c.active,
      panic: c.panic,
      connections: c.connectionCount(),
      pending: c.pendingCount(),
      endpoints: c.endpoints.map((e) => ({
        address: e.key,
        sidecar: e.spec.sidecar,
        weight: e.weight,
        locality: e.spec.locality,
        healthy: e.healthy,
        ejected: e.ejectedUntil > now,
        ejections: e.ejections,
        active: e.active,
        ewmaMs: Math.round(e.ewmaMs * 1000) / 1000,
        requests: e.totalRequests,
        failures: e.totalFailures,
      })),
    }));
  }

  /**
   * Graceful drain: readiness goes false, listeners stop accepting, in-flight requests get
   * up to drainTimeoutMs to finish, then everything is closed.
   */
  drain(): Promise<void> {
    if (this.drainPromise) return this.drainPromise;
    this.isDraining = true;
    const timeout = this.limits().drainTimeoutMs;
    log.info('draining', { inFlight: this.inFlight, timeoutMs: timeout });
    this.drainPromise = (async () => {
      const stops = [...this.listeners.values()].map(({ l }) => l.stopAccepting().catch(() => undefined));
      const idle = new Promise<void>((resolve) => {
        if (this.inFlight <= 0) resolve();
        else this.idleWaiters.push(resolve);
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeout);
      });
      const late = await Promise.race([idle.then(() => false), timedOut]);
      if (timer) clearTimeout(timer);
      if (late) log.warn('drain timeout: closing remaining requests', { inFlight: this.inFlight });
      void Promise.all(stops);
      this.destroy();
      log.info('drained');
    })();
    return this.drainPromise;
  }

  private setMarking(on: boolean): void {
    useSocketMarking(on, this.marking);
    this.marking = on;
  }

  /** Close everything now. */
  destroy(): void {
    this.setMarking(false);
    for (const { l } of this.listeners.values()) l.destroy();
    this.listeners.clear();
    this.admin?.close();
    this.clusters.close();
  }
}
