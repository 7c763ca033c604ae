import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import { BODY_CHUNKED, BODY_LENGTH, BODY_NONE, RequestParser, TARGET_ABSOLUTE, TARGET_ASTERISK, TARGET_AUTHORITY, TARGET_ORIGIN } from './request-parser.js';
import type { RequestParseError, RequestSink } from './request-parser.js';

interface Parsed {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodyKind: number;
  targetForm: number;
  minor: number;
  connClose: boolean;
  upgrade: boolean;
  expect: boolean;
  body: string;
  complete: boolean;
}

/** Records what the parser reports; `late` counts reports after the request ended (must stay 0). */
class Recorder implements RequestSink {
  requests: Parsed[] = [];
  error: RequestParseError | undefined;
  late = 0;
  hold = false;
  parser!: RequestParser;

  private get current(): Parsed | undefined {
    return this.requests[this.requests.length - 1];
  }
  onHead(): boolean {
    if (this.error || (this.current && !this.current.complete)) this.late++;
    const p = this.parser;
    this.requests.push({
      method: p.method,
      url: p.url,
      headers: { ...p.headers },
      bodyKind: p.bodyKind,
      targetForm: p.targetForm,
      minor: p.minor,
      connClose: p.connClose,
      upgrade: p.upgrade,
      expect: p.expect,
      body: '',
      complete: false,
    });
    return !this.hold;
  }
  onBody(chunk: Buffer): void {
    const r = this.current;
    if (this.error || !r || r.complete) this.late++;
    else r.body += chunk.toString('latin1');
  }
  onComplete(): void {
    const r = this.current;
    if (this.error || !r || r.complete) this.late++;
    else r.complete = true;
  }
  onParseError(err: RequestParseError): void {
    if (this.error) this.late++;
    this.error = err;
  }
}

interface Fed {
  rec: Recorder;
  parser: RequestParser;
}

/**
 * Feed `input` in pieces of the given sizes (cycled), every piece a fresh buffer; after a
 * complete request the parser is re-armed for the next one (pipelining).
 */
function feed(input: string | Buffer, sizes: readonly number[] = [input.length], maxHead = 8192): Fed {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const rec = new Recorder();
  const parser = new RequestParser(rec, maxHead);
  rec.parser = parser;
  let i = 0;
  let off = 0;
  while (off < bytes.length && !rec.error) {
    const size = Math.max(1, sizes[i++ % sizes.length] ?? 1);
    const piece = Buffer.from(bytes.subarray(off, off + size));
    let at = 0;
    while (at < piece.length && !rec.error) {
      at = parser.execute(piece, at);
      if (parser.done) parser.next();
      else if (at < piece.length) break; // held
    }
    off += piece.length;
  }
  return { rec, parser };
}

const everyByte = [1];
const splits = [[100_000], everyByte, [2], [3, 7], [5, 1, 9]];

function one(input: string, sizes?: readonly number[]): Parsed {
  const { rec } = feed(input, sizes);
  assert.equal(rec.error, undefined, rec.error?.message);
  assert.equal(rec.requests.length, 1);
  assert.equal(rec.late, 0);
  return rec.requests[0] as Parsed;
}

function refused(input: string, status: number, message?: RegExp): void {
  for (const sizes of [[100_000], everyByte]) {
    const { rec } = feed(input, sizes);
    assert.ok(rec.error, `expected ${status} for ${JSON.stringify(input)} (sizes ${sizes.join(',')})`);
    assert.equal(rec.error.status, status, `${JSON.stringify(input)}: ${rec.error.message}`);
    if (message) assert.match(rec.error.message, message);
    assert.equal(rec.late, 0);
  }
}

test('GET: method, target, lower-cased headers, no body', () => {
  for (const sizes of splits) {
    const r = one('GET /a/b?c=d HTTP/1.1\r\nHost: svc\r\nUser-Agent: t\r\nX-Multi: a\r\nx-multi: b\r\n\r\n', sizes);
    assert.equal(r.method, 'GET');
    assert.equal(r.url, '/a/b?c=d');
    assert.deepEqual(r.headers, { host: 'svc', 'user-agent': 't', 'x-multi': 'a, b' });
    assert.equal(r.bodyKind, BODY_NONE);
    assert.equal(r.targetForm, TARGET_ORIGIN);
    assert.equal(r.minor, 1);
    assert.equal(r.connClose, false);
    assert.ok(r.complete);
  }
});

test('headers are joined like node:http: set-cookie array, cookie with "; ", first value wins for singletons', () => {
  const r = one(
    'GET / HTTP/1.1\r\nhost: h\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nCookie: x=1\r\ncookie: y=2\r\nContent-Type: a\r\ncontent-type: b\r\n' +
      'Authorization: one\r\nauthorization: two\r\nAccept: a\r\naccept: b\r\nconstructor: c\r\n__proto__: p\r\n\r\n',
  );
  assert.deepEqual(r.headers, {
    host: 'h',
    'set-cookie': ['a=1', 'b=2'],
    cookie: 'x=1; y=2',
    'content-type': 'a',
    authorization: 'one',
    accept: 'a, b',
    constructor: 'c',
    ['__proto__']: 'p',
  });
});

test('optional whitespace around values is trimmed; inner whitespace and obs-text are kept', () => {
  const r = one('GET / HTTP/1.1\r\nhost: h\r\nx-a: \t a  b \t\r\nx-b:\r\nx-c: caf\xe9\r\n\r\n');
  assert.deepEqual(r.headers, { host: 'h', 'x-a': 'a  b', 'x-b': '', 'x-c': 'caf\xe9' });
});

test('content-length body, at every split', () => {
  for (const sizes of splits) {
    const r = one('POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world', sizes);
    assert.equal(r.bodyKind, BODY_LENGTH);
    assert.equal(r.body, 'hello world');
    assert.ok(r.complete);
  }
  const zero = one('POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n');
  assert.equal(zero.bodyKind, BODY_NONE);
  assert.ok(zero.complete);
  assert.equal(one('PUT / HTTP/1.1\r\nhost: h\r\ncontent-length: 007\r\n\r\n1234567').body, '1234567');
});

test('chunked body with extensions and trailers (dropped), at every split', () => {
  const req =
    'POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' +
    '5;name=value;flag\r\nhello\r\n' +
    '1 ;ext="quoted; string"\r\n \r\n' +
    'A\r\n0123456789\r\n' +
    '0;last\r\nX-Checksum: abc\r\nx-other: 1\r\n\r\n';
  for (const sizes of splits) {
    const r = one(req, sizes);
    assert.equal(r.bodyKind, BODY_CHUNKED);
    assert.equal(r.body, 'hello 0123456789');
    assert.ok(r.complete);
    assert.equal(r.headers['x-checksum'], undefined);
  }
  assert.equal(one('POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: Chunked\r\n\r\n0\r\n\r\n').body, '');
});

test('pipelined requests: each completes before the next starts, in order', () => {
  const input =
    'GET /1 HTTP/1.1\r\nhost: h\r\n\r\n' +
    'POST /2 HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\n\r\nabc' +
    'POST /3 HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n' +
    '\r\nGET /4 HTTP/1.1\r\nhost: h\r\n\r\n';
  for (const sizes of splits) {
    const { rec } = feed(input, sizes);
    assert.equal(rec.error, undefined);
    assert.deepEqual(
      rec.requests.map((r) => [r.url, r.body, r.complete]),
      [
        ['/1', '', true],
        ['/2', 'abc', true],
        ['/3', 'xy', true],
        ['/4', '', true],
      ],
    );
    assert.equal(rec.late, 0);
  }
});

test('execute() stops at the end of a request and returns the offset of the next one', () => {
  const rec = new Recorder();
  const parser = new RequestParser(rec, 8192);
  rec.parser = parser;
  const buf = Buffer.from('GET /a HTTP/1.1\r\nhost: h\r\n\r\nGET /b HTTP/1.1\r\nhost: h\r\n\r\n', 'latin1');
  const first = parser.execute(buf, 0);
  assert.equal(first, 28);
  assert.ok(parser.done);
  assert.equal(parser.execute(buf, first), first, 'a finished parser consumes nothing');
  parser.next();
  assert.equal(parser.execute(buf, first), buf.length);
  assert.deepEqual(
    rec.requests.map((r) => r.url),
    ['/a', '/b'],
  );
});

test('a sink that holds after the head: nothing of the body is consumed; rawHead() gives the exact head bytes', () => {
  const head = 'POST /up HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\ncontent-length: 4\r\n\r\n';
  for (const sizes of [[1000], everyByte, [7]]) {
    const rec = new Recorder();
    rec.hold = true;
    const parser = new RequestParser(rec, 8192);
    rec.parser = parser;
    const bytes = Buffer.from(`${head}body`, 'latin1');
    let off = 0;
    let rest: Buffer | undefined;
    while (off < bytes.length) {
      const piece = Buffer.from(bytes.subarray(off, off + (sizes[0] as number)));
      const at = parser.execute(piece, 0);
      if (rec.requests.length > 0) {
        rest = Buffer.concat([piece.subarray(at), bytes.subarray(off + piece.length)]);
        break;
      }
      off += piece.length;
    }
    assert.equal(rec.requests[0]?.upgrade, true);
    assert.equal(parser.rawHead().toString('latin1'), head);
    assert.equal(rest?.toString('latin1'), 'body');
    assert.equal(parser.execute(Buffer.from('more'), 0), 0, 'held');
    assert.equal(rec.requests[0]?.body, '');
  }
});

test('request target forms; HTTP/1.0; Expect, Upgrade and Connection flags', () => {
  assert.equal(one('GET http://svc:8080/x?y HTTP/1.1\r\nhost: svc\r\n\r\n').targetForm, TARGET_ABSOLUTE);
  assert.equal(one('GET ftp://svc/x HTTP/1.1\r\nhost: svc\r\n\r\n').targetForm, TARGET_ABSOLUTE);
  assert.equal(one('CONNECT svc:443 HTTP/1.1\r\nhost: svc:443\r\n\r\n').targetForm, TARGET_AUTHORITY);
  assert.equal(one('OPTIONS * HTTP/1.1\r\nhost: svc\r\n\r\n').targetForm, TARGET_ASTERISK);
  const v10 = one('GET / HTTP/1.0\r\n\r\n');
  assert.equal(v10.minor, 0);
  assert.equal(v10.connClose, true);
  assert.equal(one('GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n').connClose, false);
  assert.equal(one('GET / HTTP/1.1\r\nhost: h\r\nConnection: Close\r\n\r\n').connClose, true);
  assert.equal(one('GET / HTTP/1.1\r\nhost: h\r\nConnection: x-foo, close\r\n\r\n').connClose, true);
  assert.equal(one('GET / HTTP/1.1\r\nhost: h\r\nExpect: 100-continue\r\n\r\n').expect, true);
  assert.equal(one('GET / HTTP/1.1\r\nhost: h\r\nUpgrade: websocket\r\n\r\n').upgrade, true);
  assert.equal(one('PROPFIND /dav HTTP/1.1\r\nhost: h\r\n\r\n').method, 'PROPFIND');
  assert.equal(one('GET / HTTP/1.1\r\nhost: [::1]:80\r\n\r\n').headers.host, '[::1]:80');
  assert.equal(one('GET / HTTP/1.1\r\nhost:\r\n\r\n').headers.host, '');
});

test('request smuggling: ambiguous framing is refused', () => {
  const h = 'POST / HTTP/1.1\r\nhost: h\r\n';
  refused(`${h}content-length: 3\r\ntransfer-encoding: chunked\r\n\r\n`, 400, /both content-length and transfer-encoding/);
  refused(`${h}transfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n`, 400, /both/);
  refused(`${h}content-length: 3\r\ncontent-length: 3\r\n\r\nabc`, 400, /more than one content-length/);
  refused(`${h}content-length: 3\r\ncontent-length: 4\r\n\r\nabc`, 400, /more than one content-length/);
  for (const v of ['+3', '-1', '3 3', '0x3', '3.0', '1e3', '3,3', '', 'abc', '1234567890123456']) refused(`${h}content-length: ${v}\r\n\r\n`, 400, /content-length/);
  refused(`${h}transfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n`, 400, /more than one transfer-encoding/);
  for (const v of ['gzip', 'identity', 'chunked, identity', 'chunked;q=1', '', 'xchunked', 'chunked\x0b']) {
    const { rec } = feed(`${h}transfer-encoding: ${v}\r\n\r\n`);
    assert.equal(rec.error?.status, 400, `transfer-encoding ${JSON.stringify(v)}`);
  }
  for (const v of ['gzip, chunked', 'chunked, chunked', 'identity,chunked']) refused(`${h}transfer-encoding: ${v}\r\n\r\n`, 501, /unsupported transfer-encoding/);
  refused(`${h}transfer-encoding : chunked\r\n\r\n`, 400, /whitespace between header name and colon/);
  refused(`${h}content-length\t: 3\r\n\r\nabc`, 400, /whitespace between header name and colon/);
  refused(`${h}x-a: 1\r\n transfer-encoding: chunked\r\n\r\n`, 400, /obsolete line folding/);
  refused(`${h}x-a: 1\r\n\tmore\r\n\r\n`, 400, /obsolete line folding/);
});

test('request smuggling: bare CR / LF / NUL and control characters are refused', () => {
  refused('GET / HTTP/1.1\nhost: h\r\n\r\n', 400);
  refused('GET / HTTP/1.1\r\nhost: h\nx-a: 1\r\n\r\n', 400);
  refused('GET / HTTP/1.1\r\nhost: h\rx-a: 1\r\n\r\n', 400);
  refused('GET / HTTP/1.1\r\nhost: h\r\nx-a: a\rb\r\n\r\n', 400);
  refused('GET / HTTP/1.1\r\nhost: h\r\nx-a: a\nb\r\n\r\n', 400);
  refused('GET / HTTP/1.1\r\nhost: h\r\nx-a: a\0b\r\n\r\n', 400);
  refused('GET / HTTP/1.1\r\nhost: h\r\nx-a: a\x7fb\r\n\r\n', 400);
  refused('GET / HTTP/1.1\r\nhost: h\r\nx-a: a\x01b\r\n\r\n', 400);
  refused('GET /a\0b HTTP/1.1\r\nhost: h\r\n\r\n', 400);
  refused('GET /a\tb HTTP/1.1\r\nhost: h\r\n\r\n', 400);
  refused('GET /a\x7f HTTP/1.1\r\nhost: h\r\n\r\n', 400);
  refused('GET / HTTP/1.1\r\nhost: h\r\nx\0: 1\r\n\r\n', 400, /invalid header name|invalid character/);
  refused('GET / HTTP/1.1\r\nhost: h\r\nBad Header: x\r\n\r\n', 400, /invalid header name|whitespace/);
  refused('GET / HTTP/1.1\r\nhost: h\r\n: empty name\r\n\r\n', 400, /invalid header name/);
  refused('GET / HTTP/1.1\r\nhost: h\r\nx(y): 1\r\n\r\n', 400, /invalid header name/);
  refused('GET / HTTP/1.1\r\nhost: h\r\nno-colon\r\n\r\n', 400, /invalid header name/);
});

test('request line: method token, single spaces, origin or absolute form, HTTP/1.x', () => {
  refused('G(T / HTTP/1.1\r\nhost: h\r\n\r\n', 400, /method/);
  refused(' GET / HTTP/1.1\r\nhost: h\r\n\r\n', 400, /method/);
  refused('GET  / HTTP/1.1\r\nhost: h\r\n\r\n', 400, /request target/);
  refused('GET / HTTP/1.1 \r\nhost: h\r\n\r\n', 400, /HTTP version/);
  refused('GET /\r\nhost: h\r\n\r\n', 400);
  refused('GET / HTTP/1.2\r\nhost: h\r\n\r\n', 400, /version/);
  refused('GET / HTTP/2.0\r\nhost: h\r\n\r\n', 400, /version/);
  refused('GET / http/1.1\r\nhost: h\r\n\r\n', 400, /version/);
  refused('GET / HTTP/1.1x\r\nhost: h\r\n\r\n', 400, /version/);
  refused('GET x HTTP/1.1\r\nhost: h\r\n\r\n', 400, /request target/);
  refused('GET * HTTP/1.1\r\nhost: h\r\n\r\n', 400, /request target \*/);
  refused('GET h:80 HTTP/1.1\r\nhost: h\r\n\r\n', 400, /request target/);
  refused('THIS IS NOT HTTP\r\n\r\n', 400);
});

test('Host: required for HTTP/1.1, exactly once, a valid authority', () => {
  refused('GET / HTTP/1.1\r\nx-a: 1\r\n\r\n', 400, /missing host/);
  refused('GET / HTTP/1.1\r\nhost: a\r\nhost: a\r\n\r\n', 400, /more than one host/);
  refused('GET / HTTP/1.1\r\nhost: a\r\nHost: b\r\n\r\n', 400, /more than one host/);
  for (const v of ['a b', 'a/b', 'a?b', 'a#b', 'a@b', 'a"b', 'caf\xe9']) refused(`GET / HTTP/1.1\r\nhost: ${v}\r\n\r\n`, 400, /invalid host/);
});

test('header section over the limit: 431, however it arrives', () => {
  const big = `GET / HTTP/1.1\r\nhost: h\r\nx-big: ${'a'.repeat(300)}\r\n\r\n`;
  for (const sizes of [[100_000], everyByte, [64]]) {
    const { rec } = feed(big, sizes, 256);
    assert.equal(rec.error?.status, 431);
    assert.match(rec.error?.message ?? '', /request header section larger than 256 bytes/);
  }
  // Exactly at the limit is fine.
  const head = 'GET / HTTP/1.1\r\nhost: h\r\n\r\n';
  assert.equal(feed(head, [100], head.length).rec.error, undefined);
  assert.equal(feed(head, [100], head.length - 1).rec.error?.status, 431);
  // Trailers have the same limit.
  const { rec } = feed(`POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n0\r\nx-t: ${'b'.repeat(300)}\r\n\r\n`, everyByte, 256);
  assert.equal(rec.error?.status, 431);
  assert.match(rec.error?.message ?? '', /trailer section/);
});

test('chunked framing errors: size overflow, bad size, missing CRLF, bad extension, bad trailer', () => {
  const h = 'POST / HTTP/1.1\r\nhost: h\r\ntransfer-encoding: chunked\r\n\r\n';
  refused(`${h}FFFFFFFFFFFFFFFFF\r\n`, 400, /chunk size too large/);
  refused(`${h}1000000000000\r\n`, 400, /chunk size too large/);
  refused(`${h}00000000000000001\r\n`, 400, /chunk size too large/);
  refused(`${h}-1\r\n`, 400, /invalid chunk size/);
  refused(`${h}0x5\r\n`, 400, /invalid chunk size/);
  refused(`${h};ext\r\n`, 400, /invalid chunk size/);
  refused(`${h}5\nhello\r\n0\r\n\r\n`, 400);
  refused(`${h}5 x\r\nhello\r\n`, 400, /chunk size line/);
  refused(`${h}5\r\nhelloX\r\n0\r\n\r\n`, 400, /not followed by CRLF/);
  refused(`${h}5\r\nhello\n0\r\n\r\n`, 400, /not followed by CRLF/);
  refused(`${h}5;a\0b\r\nhello\r\n`, 400, /chunk extension/);
  refused(`${h}0\r\nx y: 1\r\n\r\n`, 400, /invalid header name|whitespace/);
  refused(`${h}0\r\n\rx`, 400, /bare CR/);
  // Largest allowed size is reported as a chunk, not an error.
  const { rec } = feed(`${h}FFFFFFFFFFFF\r\nabc`);
  assert.equal(rec.error, undefined);
  assert.equal(rec.requests[0]?.body, 'abc');
});

test('incomplete garbage is refused as soon as it cannot become a request (no waiting for the header timeout)', () => {
  for (const input of ['\x16\x03\x01\x02\x00\x01', 'GET /x HTTP/1.1\r\nhost\0', 'GET\t/', 'GET / HTTX', 'GET / HTTP/1.1\r\nhost: h\nx', '{"json": true}']) {
    const { rec } = feed(input, everyByte);
    assert.equal(rec.error?.status, 400, JSON.stringify(input));
  }
  for (const input of ['GE', 'GET /x', 'GET /x HTTP/1.', 'GET / HTTP/1.1\r\nhost: h\r\nx-a: caf\xe9']) {
    const { rec } = feed(input, everyByte);
    assert.equal(rec.error, undefined, JSON.stringify(input));
    assert.equal(rec.requests.length, 0);
  }
});

test('leading empty lines before a request are skipped (a bounded number)', () => {
  assert.equal(one('\r\n\r\nGET /x HTTP/1.1\r\nhost: h\r\n\r\n').url, '/x');
  const { rec } = feed(`${'\r\n'.repeat(40)}GET /x HTTP/1.1\r\nhost: h\r\n\r\n`);
  assert.equal(rec.error?.status, 400);
});

// ── properties ──────────────────────────────────────────────────────────────────────

const tokenArb = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}$/);
const nameArb = tokenArb.filter((n) => !['host', 'content-length', 'transfer-encoding', 'set-cookie', 'cookie', 'connection', 'upgrade', 'expect'].includes(n.toLowerCase()));
const valueArb = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,30}[\x21-\x7e])?$/);
const pathArb = fc.stringMatching(/^\/[\x21-\x7e]{0,60}$/);
const bodyArb = fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1'));
const splitArb = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 });

function chunked(body: string, sizes: number[]): string {
  let out = '';
  let i = 0;
  let k = 0;
  while (i < body.length) {
    const n = Math.min(body.length - i, sizes[k++ % sizes.length] as number);
    out += `${n.toString(16)}\r\n${body.slice(i, i + n)}\r\n`;
    i += n;
  }
  return `${out}0\r\n\r\n`;
}

test('property: valid requests round-trip (method, target, headers, body), however the bytes are split', () => {
  fc.assert(
    fc.property(
      tokenArb,
      pathArb,
      fc.uniqueArray(fc.tuple(nameArb, valueArb), { maxLength: 8, selector: ([n]) => n.toLowerCase() }),
      bodyArb,
      fc.boolean(),
      splitArb,
      (method, path, fields, body, useChunked, sizes) => {
        let head = `${method} ${path} HTTP/1.1\r\nHost: svc\r\n`;
        for (const [n, v] of fields) head += `${n}: ${v}\r\n`;
        const framing = useChunked ? 'transfer-encoding: chunked\r\n' : `content-length: ${body.length}\r\n`;
        const input = `${head}${framing}\r\n${useChunked ? chunked(body, sizes) : body}`;
        const { rec } = feed(input, sizes);
        assert.equal(rec.error, undefined, rec.error?.message);
        assert.equal(rec.late, 0);
        const r = rec.requests[0] as Parsed;
        assert.equal(rec.requests.length, 1);
        assert.equal(r.method, method);
        assert.equal(r.url, path);
        assert.equal(r.headers.host, 'svc');
        for (const [n, v] of fields) assert.equal(r.headers[n.toLowerCase()], v);
        assert.equal(r.body, body);
        assert.ok(r.complete);
      },
    ),
    { numRuns: 300 },
  );
});

test('property: arbitrary bytes never throw; the parser errors once (400/431/501), waits, or completes requests', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), splitArb, (bytes, sizes) => {
      const { rec } = feed(Buffer.from(bytes), sizes, 256);
      assert.equal(rec.late, 0);
      if (rec.error) assert.ok([400, 431, 501].includes(rec.error.status));
    }),
    { numRuns: 1000 },
  );
});

test('property: mutated valid requests never throw and never report after an error', () => {
  const base = Buffer.from('POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nx-a: b\r\n\r\n5;e=1\r\nhello\r\n0\r\nt: 1\r\n\r\nGET / HTTP/1.1\r\nhost: h\r\n\r\n', 'latin1');
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), splitArb, (edits, sizes) => {
      const b = Buffer.from(base);
      for (const [at, v] of edits) b[at] = v;
      const { rec } = feed(b, sizes);
      assert.equal(rec.late, 0);
      if (rec.error) assert.ok([400, 431, 501].includes(rec.error.status));
    }),
    { numRuns: 1000 },
  );
});
