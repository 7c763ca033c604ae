/**
 * @module propagate/baggage
 * W3C Baggage (https://www.w3.org/TR/baggage/) as far as propagation needs it: split a header
 * into list-members, read one member's value, and merge the members an app set on an outbound
 * request with the ones carried from its inbound request — the app's members first and
 * untouched, ours added only while the result stays within the W3C limits (180 members,
 * 8192 bytes); a member of ours that does not fit is dropped, never the app's.
 */

/** W3C Baggage limits for one header value. */
export const BAGGAGE_MAX_MEMBERS = 180;
export const BAGGAGE_MAX_BYTES = 8192;

/** One list-member: its key and the member text as written (`key=value;prop`), trimmed. */
export interface BaggageMember {
  key: string;
  text: string;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The list-members of one or more baggage header values (several headers are one list).
 * Empty and malformed members (no `=`, a key that is not a token) are dropped.
 */
export function parseBaggage(value: string | readonly string[] | undefined): BaggageMember[] {
  if (value === undefined) return [];
  const joined = typeof value === 'string' ? value : value.join(',');
  const out: BaggageMember[] = [];
  for (const raw of joined.split(',')) {
    const text = raw.trim();
    if (text === '') continue;
    const eq = text.indexOf('=');
    if (eq <= 0) continue;
    const key = text.slice(0, eq).trim();
    if (!TOKEN.test(key)) continue;
    out.push({ key, text });
  }
  return out;
}

export function serializeBaggage(members: readonly BaggageMember[]): string {
  return members.map((m) => m.text).join(',');
}

/** The value of the first member with this key (percent-decoded, properties removed). */
export function baggageValue(members: readonly BaggageMember[], key: string): string | undefined {
  const m = members.find((x) => x.key === key);
  if (!m) return undefined;
  const raw = m.text.slice(m.text.indexOf('=') + 1).split(';')[0]?.trim() ?? '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function withinLimits(count: number, bytes: number): boolean {
  return count <= BAGGAGE_MAX_MEMBERS && bytes <= BAGGAGE_MAX_BYTES;
}

/** The merged header value (undefined: nothing to send) and how many of our members it took. */
export interface MergedBaggage {
  value: string | undefined;
  added: number;
}

/**
 * Merge: every member of `app` (as written, in order), then each of `ours` whose key the app
 * does not have — in the order given, so put the most important first — while the header
 * stays within the limits. When the app's own baggage is already over the limits none of
 * ours is added (the app's header is the app's).
 */
export function mergeBaggage(app: readonly BaggageMember[], ours: readonly BaggageMember[]): MergedBaggage {
  const out: BaggageMember[] = [...app];
  const keys = new Set(app.map((m) => m.key));
  let bytes = Buffer.byteLength(serializeBaggage(app));
  let added = 0;
  if (withinLimits(out.length, bytes)) {
    for (const m of ours) {
      if (keys.has(m.key)) continue;
      const more = (out.length > 0 ? 1 : 0) + Buffer.byteLength(m.text);
      if (!withinLimits(out.length + 1, bytes + more)) continue; // a smaller one later may still fit
      out.push(m);
      keys.add(m.key);
      bytes += more;
      added++;
    }
  }
  return { value: out.length > 0 ? serializeBaggage(out) : undefined, added };
}
