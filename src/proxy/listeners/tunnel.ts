/**
 * @module proxy/listeners/tunnel
 * Byte tunnels: HTTP/1.1 Upgrade (WebSocket and friends) and CONNECT on the outbound
 * proxy. Upgrades are routed like any request, then carried over HTTP/1.1 to the chosen
 * endpoint (a sidecar's inbound listener accepts HTTP/1.1 as well as h2) and spliced.
 * CONNECT to a known service goes to one of its endpoints; to any other host it passes
 * through to the original destination (like a mesh's allow-any egress).
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { forwardResponseHeaders, hostOnly } from '../http/headers.js';
import type { ListenerRole, PipelineHost } from '../http/pipeline.js';
import { sendRawReply } from '../http/local-reply.js';
import { RouteTable, pickBackend, rewritePath } from '../router/route-table.js';

function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const end = (): void => {
    a.destroy();
    b.destroy();
  };
  a.once('error', end);
  b.once('error', end);
  a.once('close', end);
  b.once('close', end);
}

function headLines(status: number, message: string, headers: http.IncomingHttpHeaders): string {
  let s = `HTTP/1.1 ${status} ${message}\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) s += `${k}: ${one}\r\n`;
  }
  return `${s}\r\n`;
}

export function handleUpgrade(host: PipelineHost, role: ListenerRole, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const rt = host.runtime();
  let authority = req.headers.host ?? '';
  let path = req.url ?? '/';
  if (path.startsWith('http://')) {
    const m = /^http:\/\/([^/]+)(.*)$/.exec(path);
    authority = m?.[1] ?? authority;
    path = m?.[2] || '/';
  }
  let route;
  if (role.kind === 'inbound') {
    route = rt.inboundRoute;
  } else {
    const vh = role.kind === 'outbound-port' ? rt.virtualHostForService(role.service) : rt.table.virtualHost(authority);
    route = vh ? RouteTable.match(vh, req.method ?? 'GET', path, req.headers) : undefined;
  }
  if (!route || route.spec.action.kind !== 'forward') {
    sendRawReply(socket, 404, 'Not Found', `no route for upgrade to ${authority}${path}\n`, 'STRATA_NO_ROUTE');
    return;
  }
  const backend = pickBackend(route);
  const cluster = backend ? host.clusters.get(backend.cluster) : undefined;
  const ep = cluster?.pick(undefined);
  if (!cluster || !ep) {
    sendRawReply(socket, 503, 'Service Unavailable', `no healthy upstream for upgrade (cluster ${backend?.cluster ?? '?'})\n`, 'STRATA_NO_HEALTHY_UPSTREAM');
    return;
  }
  const headers = { ...req.headers };
  const up = http.request({
    host: ep.spec.address,
    port: ep.spec.port,
    method: req.method,
    path: rewritePath(route, path),
    headers,
    agent: false,
    setHost: false,
  });
  up.on('upgrade', (res, upSocket, upHead) => {
    upSocket.on('error', () => upSocket.destroy());
    socket.write(headLines(res.statusCode ?? 101, res.statusMessage ?? 'Switching Protocols', res.headers));
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) upSocket.write(head);
    splice(socket, upSocket);
  });
  up.on('response', (res) => {
    // The upstream declined the upgrade: relay its answer and close.
    const out = forwardResponseHeaders(res.headers);
    out['connection'] = 'close';
    socket.write(headLines(res.statusCode ?? 502, res.statusMessage ?? '', out as http.IncomingHttpHeaders));
    res.pipe(socket);
  });
  up.on('error', (err) => {
    sendRawReply(socket, 503, 'Service Unavailable', `upstream connect error for upgrade: ${err.message} (cluster ${cluster.spec.name}, endpoint ${ep.key})\n`, 'STRATA_UPSTREAM_CONNECT_FAILED');
  });
  up.end();
}

export function handleConnect(host: PipelineHost, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const target = req.url ?? '';
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(target);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) {
    sendRawReply(socket, 400, 'Bad Request', `CONNECT target must be host:port, got '${target.slice(0, 200)}'\n`, 'STRATA_BAD_REQUEST');
    return;
  }
  const name = hostOnly(m[1] as string);
  const rt = host.runtime();
  const vh = rt.table.virtualHost(name);
  let address = name.replace(/^\[|\]$/g, '');
  let toPort = port;
  // A known service (by alias or by name, TCP services included) goes to one of its endpoints.
  let clusterName: string | undefined;
  if (vh && vh.spec.domains.includes(name)) {
    const route = vh.routes[0];
    clusterName = route ? pickBackend(route)?.cluster : undefined;
  } else if (host.clusters.get(name)) {
    clusterName = name;
  }
  if (clusterName !== undefined) {
    const ep = host.clusters.get(clusterName)?.pick(undefined);
    if (!ep) {
      sendRawReply(socket, 503, 'Service Unavailable', `no healthy upstream for CONNECT to service ${clusterName}\n`, 'STRATA_NO_HEALTHY_UPSTREAM');
      return;
    }
    address = ep.spec.address;
    toPort = ep.spec.port;
  }
  const up = net.connect({ host: address, port: toPort, timeout: host.limits().connectTimeoutMs });
  up.setNoDelay(true);
  const onFail = (err: Error): void => {
    up.destroy();
    sendRawReply(socket, 503, 'Service Unavailable', `upstream connect error for CONNECT ${target}: ${err.message}\n`, 'STRATA_UPSTREAM_CONNECT_FAILED');
  };
  up.once('error', onFail);
  up.once('timeout', () => onFail(new Error(`connect timeout after ${host.limits().connectTimeoutMs} ms`)));
  up.once('connect', () => {
    up.off('error', onFail);
    up.setTimeout(0);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) up.write(head);
    splice(socket, up);
  });
}
