/**
 * @module proxy/http/sniff
 * One TCP port, two protocols: HTTP/1.1 and HTTP/2 with prior knowledge (h2c). The first
 * bytes of a connection decide which server gets the socket: the HTTP/2 server gets them
 * pushed back into the socket, the HTTP/1.1 server gets them as they are.
 */
import type { Socket } from 'node:net';

/** The HTTP/2 connection preface starts with "PRI * HTTP/2.0"; no HTTP/1 method is "PRI". */
function looksLikeH2(chunk: Buffer): boolean {
  return chunk.length >= 3 && chunk[0] === 0x50 && chunk[1] === 0x52 && chunk[2] === 0x49;
}

export interface SniffTargets {
  /** `first`: the bytes read so far (not in the socket any more). */
  h1(socket: Socket, first: Buffer): void;
  h2(socket: Socket): void;
}

/** Wait for the first bytes, then hand the socket to the matching server. */
export function sniffProtocol(socket: Socket, targets: SniffTargets): void {
  // A client that closes before sending anything: nobody else would close the socket (half-open allowed).
  const onEnd = (): void => {
    socket.destroy();
  };
  const onReadable = (): void => {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) {
      socket.once('readable', onReadable);
      return;
    }
    socket.off('end', onEnd);
    if (looksLikeH2(chunk)) {
      socket.unshift(chunk);
      targets.h2(socket);
    } else {
      targets.h1(socket, chunk);
    }
  };
  socket.once('readable', onReadable);
  socket.once('end', onEnd);
}
