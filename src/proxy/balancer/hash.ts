/**
 * @module proxy/balancer/hash
 * A fast, non-cryptographic 32-bit string hash for consistent hashing: FNV-1a over the
 * string's UTF-16 code units, finished with murmur3's fmix32 so that keys differing only in
 * their last characters still land far apart. Allocation-free. Stable across processes and
 * versions of Node: sidecars must agree on where a key goes.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** murmur3's 32-bit finaliser: a bijection on uint32 with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Unsigned 32-bit hash of a string. */
export function hashString(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return fmix32(h);
}
