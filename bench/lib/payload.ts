/**
 * @module bench/lib/payload
 * The bytes on the wire: the 1 KiB response body and the gRPC-shaped request/response frames
 * (a 5-byte prefix — compressed flag + big-endian length — around a protobuf message).
 */

/** Size of every response body; the gRPC response's protobuf message is this size too. */
export const BODY_BYTES = 1024;

/** gRPC method the bench calls; the upstream answers any path the same way. */
export const GRPC_PATH = '/strata.bench.Echo/Unary';

/** Request headers of the unary gRPC call (h2load `-H`). */
export const GRPC_HEADERS: readonly string[] = ['content-type: application/grpc', 'te: trailers'];

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** A protobuf message whose only field is `bytes` field `field`, totalling exactly `size` bytes. */
export function protoBytesMessage(field: number, size: number): Buffer {
  const tag = varint((field << 3) | 2);
  for (let len = size - tag.length - 1; len >= 0; len--) {
    const prefix = varint(len);
    if (tag.length + prefix.length + len === size) {
      return Buffer.concat([tag, prefix, Buffer.alloc(len, 'x')]);
    }
  }
  throw new Error(`cannot build a ${size}-byte protobuf message`);
}

/** Wraps a message in the gRPC length prefix (uncompressed). */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** The fixed request body: `{ name: "strata-bench" }` as field 1 (string), framed. */
export function grpcRequestFrame(): Buffer {
  const name = Buffer.from('strata-bench');
  return grpcFrame(Buffer.concat([varint((1 << 3) | 2), varint(name.length), name]));
}

/** The upstream's answer: a 1 KiB message (field 1, bytes), framed. */
export function grpcResponseFrame(): Buffer {
  return grpcFrame(protoBytesMessage(1, BODY_BYTES));
}
