/**
 * @module bench/control/xds-names
 * The name of an encoded xDS resource without decoding it: Listener.name, Cluster.name,
 * RouteConfiguration.name and ClusterLoadAssignment.cluster_name are all field 1, a string.
 * The simulated clients read names (to subscribe EDS/RDS and to spot the changed resource)
 * from thousands of resources per push; a full decode would cost the bench more than the
 * control plane.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** A varint at `pos`: its value (up to 2^53) and the position after it; undefined if truncated. */
function varint(buf: Uint8Array, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = pos; i < buf.length && i < pos + 10; i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
    scale *= 128;
  }
  return undefined;
}

/**
 * The bytes [start, end) of field 1 (length-delimited) of a protobuf message, or undefined when
 * it is absent or the message is malformed.
 */
export function nameRange(buf: Uint8Array): { start: number; end: number } | undefined {
  let pos = 0;
  while (pos < buf.length) {
    const tag = varint(buf, pos);
    if (!tag) return undefined;
    pos = tag.next;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value & 7;
    if (wire === WIRE_VARINT) {
      const v = varint(buf, pos);
      if (!v) return undefined;
      pos = v.next;
    } else if (wire === WIRE_I64) pos += 8;
    else if (wire === WIRE_I32) pos += 4;
    else if (wire === WIRE_LEN) {
      const len = varint(buf, pos);
      if (!len || len.next + len.value > buf.length) return undefined;
      if (field === 1) return { start: len.next, end: len.next + len.value };
      pos = len.next + len.value;
    } else return undefined;
  }
  return undefined;
}

/** Field 1 of the message as a string ('' when absent). */
export function resourceName(buf: Uint8Array): string {
  const r = nameRange(buf);
  return r ? Buffer.from(buf.buffer, buf.byteOffset + r.start, r.end - r.start).toString('utf8') : '';
}

/** True when field 1 of the message equals `name` (UTF-8 bytes), without making a string. */
export function hasName(buf: Uint8Array, name: Uint8Array): boolean {
  const r = nameRange(buf);
  if (!r || r.end - r.start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (buf[r.start + i] !== name[i]) return false;
  return true;
}
