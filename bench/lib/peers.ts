/**
 * @module bench/lib/peers
 * The reference proxies, configured like the sidecar under test: one worker process/thread,
 * keep-alive to the upstream, no access log. Each gets a generated config in a temp dir and a
 * free loopback port.
 *
 * - nginx: `daemon off; master_process off; worker_processes 1;` → the spawned PID is the only
 *   nginx process, so its /proc numbers are the proxy's.
 * - haproxy: `nbthread 1`, `-db` (foreground, no master-worker) → same.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, stop, tail, makeTempDir, removeTempDir, type Child, type CpuList } from './procs.js';
import { canConnect, freePorts, waitUntil } from './ports.js';

/** A running proxy: the port clients use and the processes whose CPU/RSS count as the proxy's. */
export interface RunningProxy {
  port: number;
  children: Child[];
  stop(): Promise<void>;
}

export function nginxConfig(dir: string, listenPort: number, upstreamPort: number, asRoot: boolean): string {
  return `${asRoot ? 'user root;\n' : ''}daemon off;
master_process off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events {
    worker_connections 4096;
    multi_accept on;
}
http {
    access_log off;
    client_body_temp_path ${join(dir, 'client_body')};
    proxy_temp_path ${join(dir, 'proxy')};
    fastcgi_temp_path ${join(dir, 'fastcgi')};
    uwsgi_temp_path ${join(dir, 'uwsgi')};
    scgi_temp_path ${join(dir, 'scgi')};
    keepalive_timeout 120s;
    keepalive_requests 1000000;
    upstream bench_upstream {
        server 127.0.0.1:${upstreamPort};
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 120s;
    }
    server {
        listen 127.0.0.1:${listenPort} reuseport backlog=4096;
        location / {
            proxy_pass http://bench_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering on;
        }
    }
}
`;
}

export function haproxyConfig(listenPort: number, upstreamPort: number): string {
  return `global
    nbthread 1
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 120s
frontend bench_in
    bind 127.0.0.1:${listenPort}
    default_backend bench_upstream
backend bench_upstream
    server up1 127.0.0.1:${upstreamPort}
`;
}

async function startPeer(name: string, dir: string, cmd: string, args: string[], port: number, cpus: CpuList): Promise<RunningProxy> {
  const child = start(name, cmd, args, { cpus, cwd: dir });
  const why = await waitUntil(() => canConnect(port), 10_000, () => child.done());
  const shutdown = async (): Promise<void> => {
    await stop(child);
    removeTempDir(dir);
  };
  if (why !== 'ready') {
    const err = `${name} did not start (${why}): ${tail(child.stderr() || child.stdout())}`;
    await shutdown();
    throw new Error(err);
  }
  return { port, children: [child], stop: shutdown };
}

export async function startNginx(upstreamPort: number, cpus: CpuList): Promise<RunningProxy> {
  const dir = makeTempDir('strata-bench-nginx-');
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, nginxConfig(dir, port, upstreamPort, asRoot));
  return startPeer('nginx', dir, 'nginx', ['-c', file, '-p', dir, '-e', join(dir, 'error.log')], port, cpus);
}

export async function startHaproxy(upstreamPort: number, cpus: CpuList): Promise<RunningProxy> {
  const dir = makeTempDir('strata-bench-haproxy-');
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('no free port');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(port, upstreamPort));
  return startPeer('haproxy', dir, 'haproxy', ['-f', file, '-db'], port, cpus);
}
