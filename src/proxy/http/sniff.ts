/**
 * @module proxy/http/sniff
 * One TCP port, two protocols: HTTP/1.1 and HTTP/2 with prior knowledge (h2c). The first
 * bytes of a connection decide which server gets the socket; the bytes are pushed back
 * so either parser sees the stream from its start.
 */
import type { Socket } from 'node:net';

/** The HTTP/2 connection preface starts with "PRI * HTTP/2.0"; no HTTP/1 method is "PRI". */
function looksLikeH2(chunk: Buffer): boolean {
  return chunk.length >= 3 && chunk[0] === 0x50 && chunk[1] === 0x52 && chunk[2] === 0x49;
}

export interface SniffTargets {
  h1(socket: Socket): void;
  h2(socket: Socket): void;
}

/** Wait for the first bytes, then hand the socket to the matching server. */
export function sniffProtocol(socket: Socket, targets: SniffTargets): void {
  const onReadable = (): void => {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) {
      socket.once('readable', onReadable);
      return;
    }
    socket.unshift(chunk);
    if (looksLikeH2(chunk)) targets.h2(socket);
    else targets.h1(socket);
  };
  socket.once('readable', onReadable);
}
