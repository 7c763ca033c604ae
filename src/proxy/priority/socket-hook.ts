/**
 * @module proxy/priority/socket-hook
 * The seam between the proxy and the kernel layer: what a priority class asks of the sockets
 * that carry it (DSCP, SO_PRIORITY, TCP congestion control), and the hook that applies it to
 * each upstream socket a per-class pool opens. The proxy calls `markUpstreamSocket()`; the
 * kernel layer (src/net/) installs the implementation with `setUpstreamSocketHook()`. Without
 * one installed, marking is a no-op and `socketMarkingAvailable()` says so.
 */
import type { Socket } from 'node:net';

/** Socket-level settings of one priority class (absent fields are left as the kernel set them). */
export interface ClassSocketOptions {
  /** Priority class name (for errors and metrics). */
  className: string;
  /** DSCP code point 0–63, written as IP_TOS = dscp << 2 (IPv4) / IPV6_TCLASS (IPv6). */
  dscp?: number;
  /** SO_PRIORITY (0–6 without CAP_NET_ADMIN); an htb qdisc picks the class whose id equals it. */
  soPriority?: number;
  /** TCP_CONGESTION algorithm, e.g. bbr, cubic, reno (must be listed in tcp_available_congestion_control). */
  congestion?: string;
}

/** Applies the options to a connected (or connecting) socket; throws an Error that names what failed. */
export type UpstreamSocketHook = (socket: Socket, options: ClassSocketOptions) => void;

let hook: UpstreamSocketHook | undefined;

/** Install (or, with undefined, remove) the implementation. */
export function setUpstreamSocketHook(fn: UpstreamSocketHook | undefined): void {
  hook = fn;
}

export function socketMarkingAvailable(): boolean {
  return hook !== undefined;
}

/** Apply a class's socket options through the installed hook (no-op without one). */
export function markUpstreamSocket(socket: Socket, options: ClassSocketOptions): void {
  hook?.(socket, options);
}
