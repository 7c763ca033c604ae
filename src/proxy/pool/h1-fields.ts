/**
 * @module proxy/pool/h1-fields
 * What both HTTP/1.1 parsers share (the upstream response parser and the downstream request
 * parser): the hex table for chunk sizes and how header fields become a headers object,
 * the way node:http builds it.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x41 + c] = HEX[0x61 + c] = 10 + c;

/** Header names node:http keeps only the first value of. */
const FIRST_WINS = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'referer',
  'host',
  'authorization',
  'proxy-authorization',
  'if-modified-since',
  'if-unmodified-since',
  'from',
  'location',
  'max-forwards',
  'retry-after',
  'etag',
  'last-modified',
  'server',
  'age',
  'expires',
]);

export interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

/** Headers object without Object.prototype in its chain (a `constructor` header is just a header). */
function NullProtoHeaders(): void {}
NullProtoHeaders.prototype = Object.create(null) as object;
export const HeadersBag = NullProtoHeaders as unknown as new () => IncomingHttpHeaders;

/** Add one field the way node:http does: set-cookie as an array, cookie joined with '; ', others with ', '. */
export function addField(h: IncomingHttpHeaders, name: string, value: string): void {
  const prev = h[name];
  if (prev === undefined) {
    h[name] = name === 'set-cookie' ? [value] : value;
  } else if (name === 'set-cookie') {
    (prev as string[]).push(value);
  } else if (!FIRST_WINS.has(name)) {
    h[name] = `${prev as string}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
}
