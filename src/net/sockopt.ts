/**
 * @module net/sockopt
 * Socket options Node does not expose, set and read with setsockopt(2)/getsockopt(2) through
 * koffi (loaded lazily, so nothing breaks where it is missing): IP_TOS / IPV6_TCLASS (DSCP),
 * SO_PRIORITY and TCP_CONGESTION, on a raw fd or on a `net.Socket` (its `_handle.fd`).
 *
 * When the options reach the kernel matters: a connecting `net.Socket` has no fd yet (libuv
 * creates it inside `connect()`, which sends the SYN at once). `attachSocketOptions()` therefore
 * listens for the socket's `connectionAttempt` event (emitted synchronously right before each
 * connect, happy-eyeballs attempts included), creates the fd itself, sets the options on it and
 * hands it to the handle (`handle.open(fd)`): the SYN already carries the DSCP and priority and
 * the connection starts with the chosen congestion control. A socket that already has an fd
 * (connected, or bound by `localAddress`) is marked at once.
 *
 * Order: TCP_CONGESTION, then IP_TOS, then SO_PRIORITY — on Linux setting IP_TOS also rewrites
 * sk_priority (rt_tos2priority), so SO_PRIORITY must come last.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { getSystemErrorMap } from 'node:util';
import type * as Koffi from 'koffi';

// Linux values (asm-generic; x86_64 and arm64 agree).
export const SOL_SOCKET = 1;
export const SO_PRIORITY = 12;
export const SO_MARK = 36;
export const SO_DOMAIN = 39;
export const IPPROTO_IP = 0;
export const IP_TOS = 1;
export const IPPROTO_TCP = 6;
export const TCP_CONGESTION = 13;
export const IPPROTO_IPV6 = 41;
export const IPV6_TCLASS = 67;
export const AF_INET = 2;
export const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const TCP_CA_NAME_MAX = 16;
const EPERM = 1;
const ENOENT = 2;

export const PROC_CC_AVAILABLE = '/proc/sys/net/ipv4/tcp_available_congestion_control';
export const PROC_CC_ALLOWED = '/proc/sys/net/ipv4/tcp_allowed_congestion_control';

/** Stable codes of socket-option failures. */
export type SocketOptionErrorCode =
  | 'STRATA_SOCKOPT_UNSUPPORTED'
  | 'STRATA_SOCKOPT_NO_FD'
  | 'STRATA_SOCKOPT_INVALID'
  | 'STRATA_SOCKOPT_CONGESTION_UNAVAILABLE'
  | 'STRATA_SOCKOPT_CONGESTION_NOT_ALLOWED'
  | 'STRATA_SOCKOPT_PERMISSION'
  | 'STRATA_SOCKOPT_FAILED';

export class SocketOptionError extends Error {
  constructor(
    readonly code: SocketOptionErrorCode,
    /** The option, e.g. `IP_TOS`, `SO_PRIORITY`, `TCP_CONGESTION`. */
    readonly option: string,
    message: string,
    /** errno of the failed system call, when there was one. */
    readonly errno?: number,
  ) {
    super(message);
    this.name = 'SocketOptionError';
  }
}

// ---------------------------------------------------------------------------------------------
// libc through koffi

type KoffiFn = (...args: unknown[]) => unknown;
interface Libc {
  setsockopt: KoffiFn;
  getsockopt: KoffiFn;
  socket: KoffiFn;
  close: KoffiFn;
  errno: () => number;
}

let libc: Libc | undefined;
let libcError: Error | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  if (libcError) throw libcError;
  try {
    if (process.platform !== 'linux') throw new Error(`socket options need Linux, this is ${process.platform}`);
    const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
    const lib = koffi.load('libc.so.6');
    libc = {
      setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)') as KoffiFn,
      getsockopt: lib.func('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)') as KoffiFn,
      socket: lib.func('int socket(int, int, int)') as KoffiFn,
      close: lib.func('int close(int)') as KoffiFn,
      errno: () => koffi.errno(),
    };
    return libc;
  } catch (err) {
    libcError = new SocketOptionError('STRATA_SOCKOPT_UNSUPPORTED', 'libc', `socket options are not available here: ${(err as Error).message}`);
    throw libcError;
  }
}

/** True when setsockopt/getsockopt can be called (Linux, koffi loads). */
export function socketOptionsSupported(): boolean {
  try {
    loadLibc();
    return true;
  } catch {
    return false;
  }
}

function errnoText(errno: number): string {
  const e = getSystemErrorMap().get(-errno);
  return e ? `${e[0]} (${e[1]})` : `errno ${errno}`;
}

function setRaw(fd: number, level: number, name: number, option: string, value: Buffer, shown: string): void {
  const c = loadLibc();
  if ((c.setsockopt(fd, level, name, value, value.length) as number) === 0) return;
  const errno = c.errno();
  throw explain(option, shown, fd, errno);
}

function getRaw(fd: number, level: number, name: number, option: string, size: number): Buffer {
  const c = loadLibc();
  const buf = Buffer.alloc(size);
  const len = [size];
  if ((c.getsockopt(fd, level, name, buf, len) as number) !== 0) {
    const errno = c.errno();
    throw new SocketOptionError('STRATA_SOCKOPT_FAILED', option, `getsockopt(${option}) on fd ${fd} failed: ${errnoText(errno)}`, errno);
  }
  return buf.subarray(0, Math.min(size, len[0] ?? size));
}

function explain(option: string, shown: string, fd: number, errno: number): SocketOptionError {
  if (option === 'TCP_CONGESTION' && errno === ENOENT) {
    const available = readList(PROC_CC_AVAILABLE);
    return new SocketOptionError(
      'STRATA_SOCKOPT_CONGESTION_UNAVAILABLE',
      option,
      `TCP congestion control '${shown}' is not available: ${PROC_CC_AVAILABLE} lists ${available?.join(' ') ?? '(unreadable)'}`,
      errno,
    );
  }
  if (option === 'TCP_CONGESTION' && errno === EPERM) {
    const allowed = readList(PROC_CC_ALLOWED);
    return new SocketOptionError(
      'STRATA_SOCKOPT_CONGESTION_NOT_ALLOWED',
      option,
      `TCP congestion control '${shown}' is available but not allowed without CAP_NET_ADMIN: ${PROC_CC_ALLOWED} lists ${allowed?.join(' ') ?? '(unreadable)'}`,
      errno,
    );
  }
  if (option === 'SO_PRIORITY' && errno === EPERM) {
    return new SocketOptionError(
      'STRATA_SOCKOPT_PERMISSION',
      option,
      `SO_PRIORITY ${shown} needs CAP_NET_ADMIN (only 0-6 are allowed without it); run the sidecar as root or grant it CAP_NET_ADMIN`,
      errno,
    );
  }
  return new SocketOptionError('STRATA_SOCKOPT_FAILED', option, `setsockopt(${option}=${shown}) on fd ${fd} failed: ${errnoText(errno)}`, errno);
}

function readList(path: string): string[] | undefined {
  try {
    return readFileSync(path, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return undefined;
  }
}

/** The congestion control algorithms the kernel offers (undefined when unreadable). */
export function availableCongestionControl(): string[] | undefined {
  return readList(PROC_CC_AVAILABLE);
}

/** The algorithms unprivileged sockets may select (undefined when unreadable). */
export function allowedCongestionControl(): string[] | undefined {
  return readList(PROC_CC_ALLOWED);
}

const int32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

function checkInt(option: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new SocketOptionError('STRATA_SOCKOPT_INVALID', option, `${option} must be an integer ${min}-${max}, got ${String(v)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// fd-level setters and getters

/** IPv4: IP_TOS = dscp << 2 (the ECN bits are left to the kernel). */
export function setTos(fd: number, dscp: number): void {
  checkInt('DSCP', dscp, 0, 63);
  setRaw(fd, IPPROTO_IP, IP_TOS, 'IP_TOS', int32(dscp << 2), String(dscp << 2));
}

/** IPv6: IPV6_TCLASS = dscp << 2. */
export function setTclass(fd: number, dscp: number): void {
  checkInt('DSCP', dscp, 0, 63);
  setRaw(fd, IPPROTO_IPV6, IPV6_TCLASS, 'IPV6_TCLASS', int32(dscp << 2), String(dscp << 2));
}

/** DSCP by the socket's address family (IPv6 sockets also get IP_TOS, for v4-mapped peers). */
export function setDscp(fd: number, dscp: number, family = socketDomain(fd)): void {
  if (family === AF_INET6) {
    setTclass(fd, dscp);
    try {
      setTos(fd, dscp);
    } catch {
      // an IPv6-only socket may refuse IP_TOS; IPV6_TCLASS is what counts there
    }
  } else {
    setTos(fd, dscp);
  }
}

/** SO_PRIORITY (skb->priority of every packet the socket sends); > 6 needs CAP_NET_ADMIN. */
export function setSoPriority(fd: number, priority: number): void {
  checkInt('SO_PRIORITY', priority, 0, 0xffffffff);
  setRaw(fd, SOL_SOCKET, SO_PRIORITY, 'SO_PRIORITY', int32(priority), String(priority));
}

/** TCP_CONGESTION by name (bbr, cubic, reno…). */
export function setCongestion(fd: number, algorithm: string): void {
  if (!/^[A-Za-z0-9_-]{1,15}$/.test(algorithm)) {
    throw new SocketOptionError('STRATA_SOCKOPT_INVALID', 'TCP_CONGESTION', `TCP congestion control must be a name of 1-15 letters, digits, '_' or '-', got '${algorithm}'`);
  }
  setRaw(fd, IPPROTO_TCP, TCP_CONGESTION, 'TCP_CONGESTION', Buffer.from(algorithm, 'latin1'), algorithm);
}

export function getTos(fd: number): number {
  return getRaw(fd, IPPROTO_IP, IP_TOS, 'IP_TOS', 4).readUInt8(0);
}

export function getTclass(fd: number): number {
  return getRaw(fd, IPPROTO_IPV6, IPV6_TCLASS, 'IPV6_TCLASS', 4).readInt32LE(0);
}

export function getSoPriority(fd: number): number {
  return getRaw(fd, SOL_SOCKET, SO_PRIORITY, 'SO_PRIORITY', 4).readUInt32LE(0);
}

export function getCongestion(fd: number): string {
  const b = getRaw(fd, IPPROTO_TCP, TCP_CONGESTION, 'TCP_CONGESTION', TCP_CA_NAME_MAX);
  const nul = b.indexOf(0);
  return b.subarray(0, nul >= 0 ? nul : b.length).toString('latin1');
}

/** SO_DOMAIN: AF_INET (2) or AF_INET6 (10). */
export function socketDomain(fd: number): number {
  return getRaw(fd, SOL_SOCKET, SO_DOMAIN, 'SO_DOMAIN', 4).readInt32LE(0);
}

/** The DSCP the socket sends with (from IP_TOS or IPV6_TCLASS, by family). */
export function getDscp(fd: number): number {
  return (socketDomain(fd) === AF_INET6 ? getTclass(fd) : getTos(fd)) >> 2;
}

// ---------------------------------------------------------------------------------------------
// whole option sets, on an fd or a net.Socket

/** What a socket is asked to carry (the fields of ClassSocketOptions that reach the kernel). */
export interface SocketOptions {
  dscp?: number;
  soPriority?: number;
  congestion?: string;
}

/** What getsockopt reports back. */
export interface SocketOptionsRead {
  family: 'IPv4' | 'IPv6';
  tos: number;
  dscp: number;
  soPriority: number;
  congestion: string;
}

/** Set every given option on an fd, in the order that keeps them all (see the module note). */
export function applySocketOptions(fd: number, options: SocketOptions, family?: number): void {
  if (options.congestion !== undefined) setCongestion(fd, options.congestion);
  if (options.dscp !== undefined) setDscp(fd, options.dscp, family ?? socketDomain(fd));
  if (options.soPriority !== undefined) setSoPriority(fd, options.soPriority);
}

interface TcpHandleLike {
  fd?: number;
  open?: (fd: number) => number;
  _parent?: TcpHandleLike;
}

function tcpHandle(socket: Socket): TcpHandleLike | undefined {
  const h = (socket as unknown as { _handle?: TcpHandleLike | null })._handle ?? undefined;
  // A TLSSocket's handle is a TLSWrap proxying to the TCP handle in _parent.
  return h?._parent ?? h;
}

/** The socket's file descriptor, or undefined while it has none (before connect, or closed). */
export function socketFd(socket: Socket | number): number | undefined {
  if (typeof socket === 'number') return socket >= 0 ? socket : undefined;
  const fd = tcpHandle(socket)?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** Read back what the kernel holds for a socket (or fd). */
export function readSocketOptions(socket: Socket | number): SocketOptionsRead {
  const fd = socketFd(socket);
  if (fd === undefined) throw new SocketOptionError('STRATA_SOCKOPT_NO_FD', 'fd', 'the socket has no file descriptor (not connected yet, or closed)');
  const family = socketDomain(fd);
  const tos = family === AF_INET6 ? getTclass(fd) : getTos(fd);
  return { family: family === AF_INET6 ? 'IPv6' : 'IPv4', tos, dscp: tos >> 2, soPriority: getSoPriority(fd), congestion: getCongestion(fd) };
}

/** A new non-blocking, close-on-exec TCP socket fd of the family. */
export function openTcpFd(family: number): number {
  const c = loadLibc();
  const fd = c.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP) as number;
  if (fd < 0) {
    const errno = c.errno();
    throw new SocketOptionError('STRATA_SOCKOPT_FAILED', 'socket', `socket(${family === AF_INET6 ? 'AF_INET6' : 'AF_INET'}) failed: ${errnoText(errno)}`, errno);
  }
  return fd;
}

export function closeFd(fd: number): void {
  loadLibc().close(fd);
}

/** When the options reached the socket: before its SYN, or once it already had an fd. */
export type AttachResult = 'now' | 'before-connect';

/**
 * Apply options to a `net.Socket` (plain TCP or TLS): at once when it has an fd, else on the fd
 * this function creates right before each connect attempt. Synchronous failures throw. A failure
 * at connect time destroys the socket with the SocketOptionError (before any data is written) —
 * or, with `onConnectError`, is handed to it and the attempt goes on unmarked on libuv's own fd.
 */
export function attachSocketOptions(socket: Socket, options: SocketOptions, onConnectError?: (err: Error) => void): AttachResult {
  loadLibc();
  const fd = socketFd(socket);
  if (fd !== undefined) {
    applySocketOptions(fd, options);
    return 'now';
  }
  if (socket.destroyed) throw new SocketOptionError('STRATA_SOCKOPT_NO_FD', 'fd', 'the socket is already destroyed');
  const onAttempt = (_address: string, _port: number, addressType: number): void => {
    try {
      preopen(socket, options, addressType === 6 ? AF_INET6 : AF_INET);
    } catch (err) {
      // preopen closed its fd: the attempt goes on with libuv's own, unmarked.
      if (onConnectError) {
        onConnectError(err as Error);
        return;
      }
      // Not synchronously: net's internalConnect uses the handle right after this event. The
      // attempt starts on libuv's own fd, and the socket is gone before it could send a byte.
      process.nextTick(() => socket.destroy(err as Error));
    }
  };
  const done = (): void => {
    socket.off('connectionAttempt', onAttempt);
    socket.off('connect', done);
    socket.off('close', done);
  };
  socket.on('connectionAttempt', onAttempt);
  socket.once('connect', done);
  socket.once('close', done);
  return 'before-connect';
}

function preopen(socket: Socket, options: SocketOptions, family: number): void {
  const handle = tcpHandle(socket);
  const existing = socketFd(socket);
  if (existing !== undefined) {
    // bound already (localAddress): the fd exists and connect() has not run yet
    applySocketOptions(existing, options, family);
    return;
  }
  if (typeof handle?.open !== 'function') {
    throw new SocketOptionError('STRATA_SOCKOPT_NO_FD', 'fd', 'the socket has no TCP handle to give an fd to');
  }
  const fd = openTcpFd(family);
  try {
    applySocketOptions(fd, options, family);
    const err = handle.open(fd);
    if (err !== 0) throw new SocketOptionError('STRATA_SOCKOPT_FAILED', 'open', `handing fd ${fd} to the socket failed: ${errnoText(-err)}`, -err);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
}
