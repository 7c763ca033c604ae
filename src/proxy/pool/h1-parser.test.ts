import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import type { H1ProtocolError } from './h1-codec.js';
import { ResponseParser } from './h1-parser.js';
import type { ResponseSink } from './h1-parser.js';

/** Records what the parser reports, and any report after the message ended. */
class Recorder implements ResponseSink {
  interim: number[] = [];
  status: number | undefined;
  headers: IncomingHttpHeaders | undefined;
  chunks: Buffer[] = [];
  trailers: IncomingHttpHeaders | undefined;
  complete = false;
  error: H1ProtocolError | undefined;
  /** Reports after completion or after an error (must stay 0). */
  late = 0;

  private get over(): boolean {
    return this.complete || this.error !== undefined;
  }
  onInterim(status: number): void {
    if (this.over || this.status !== undefined) this.late++;
    this.interim.push(status);
  }
  onHead(status: number, headers: IncomingHttpHeaders): void {
    if (this.over || this.status !== undefined) this.late++;
    this.status = status;
    this.headers = { ...headers };
  }
  onBody(chunk: Buffer): void {
    if (this.over || this.status === undefined) this.late++;
    this.chunks.push(Buffer.from(chunk)); // the input is reused after execute()
  }
  onComplete(trailers: IncomingHttpHeaders | undefined): void {
    if (this.over) this.late++;
    this.complete = true;
    this.trailers = trailers === undefined ? undefined : { ...trailers };
  }
  onParseError(err: H1ProtocolError): void {
    if (this.over) this.late++;
    this.error = err;
  }
  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
}

interface Fed {
  rec: Recorder;
  parser: ResponseParser;
  /** Bytes of the input not consumed (after a complete message). */
  leftover: number;
}

/**
 * Feed `input` in pieces of the given sizes (cycled); each piece is a fresh buffer that is
 * scribbled over after execute() returns, as the pool's shared read buffer is.
 */
function feed(input: string | Buffer, sizes: readonly number[] = [input.length], headRequest = false, eof = false): Fed {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const rec = new Recorder();
  const parser = new ResponseParser(rec);
  parser.reset(headRequest);
  let off = 0;
  let leftover = 0;
  let i = 0;
  while (off < bytes.length) {
    const size = Math.max(1, sizes[i++ % sizes.length] ?? 1);
    const piece = Buffer.from(bytes.subarray(off, off + size));
    const n = parser.execute(piece);
    piece.fill(0x58);
    if (n < piece.length) {
      leftover += piece.length - n + (bytes.length - off - piece.length);
      break;
    }
    off += piece.length;
    if (rec.error) break;
  }
  if (eof && !rec.error && !rec.complete) parser.finish();
  return { rec, parser, leftover };
}

const everyByte = [1];

test('content-length response: status, lower-cased headers, body, keep-alive', () => {
  const res = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Multi: a\r\nx-multi: b\r\n\r\nhello';
  for (const sizes of [[res.length], everyByte, [3, 7]]) {
    const { rec, parser, leftover } = feed(res, sizes);
    assert.equal(rec.error, undefined);
    assert.equal(rec.status, 200);
    assert.deepEqual(rec.headers, { 'content-type': 'text/plain', 'content-length': '5', 'x-multi': 'a, b' });
    assert.equal(rec.body, 'hello');
    assert.ok(rec.complete);
    assert.equal(rec.trailers, undefined);
    assert.equal(parser.keepAlive, true);
    assert.equal(leftover, 0);
    assert.equal(rec.late, 0);
  }
});

test('headers are joined like node:http: set-cookie array, cookie with "; ", first value wins for singletons', () => {
  const res =
    'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nCookie: x=1\r\ncookie: y=2\r\nContent-Type: a\r\ncontent-type: b\r\n' +
    'Location: /one\r\nlocation: /two\r\nVary: a\r\nvary: b\r\nconstructor: c\r\ncontent-length: 0\r\n\r\n';
  const { rec } = feed(res);
  assert.equal(rec.error, undefined);
  assert.deepEqual(rec.headers, {
    'set-cookie': ['a=1', 'b=2'],
    cookie: 'x=1; y=2',
    'content-type': 'a',
    location: '/one',
    vary: 'a, b',
    constructor: 'c',
    'content-length': '0',
  });
});

test('optional whitespace around values is trimmed, inner whitespace and obs-text kept', () => {
  const { rec } = feed('HTTP/1.1 200 \r\nx-a: \t a  b \t\r\nx-b:\r\nx-c: caf\xe9\r\ncontent-length: 0\r\n\r\n');
  assert.equal(rec.error, undefined);
  assert.deepEqual(rec.headers, { 'x-a': 'a  b', 'x-b': '', 'x-c': 'caf\xe9', 'content-length': '0' });
});

test('chunked body with extensions and trailers, at every split', () => {
  const res =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\n\r\n' +
    '5;name=value;flag\r\nhello\r\n' +
    '1 ;ext="quoted; string"\r\n \r\n' +
    'A\r\n0123456789\r\n' +
    '0;last\r\nX-Checksum: abc\r\nx-other: 1\r\n\r\n';
  for (const sizes of [[res.length], everyByte, [2], [5, 1, 9]]) {
    const { rec, leftover } = feed(res, sizes);
    assert.equal(rec.error, undefined, `sizes ${sizes.join(',')}: ${rec.error?.message}`);
    assert.equal(rec.body, 'hello 0123456789');
    assert.deepEqual(rec.trailers, { 'x-checksum': 'abc', 'x-other': '1' });
    assert.ok(rec.complete);
    assert.equal(leftover, 0);
    assert.equal(rec.late, 0);
  }
});

test('chunked body without trailers: no trailers object', () => {
  for (const sizes of [[1000], everyByte]) {
    const { rec } = feed('HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', sizes);
    assert.equal(rec.error, undefined);
    assert.equal(rec.body, 'abc');
    assert.equal(rec.trailers, undefined);
    assert.ok(rec.complete);
  }
});

test('close-delimited body ends at EOF and is not reusable', () => {
  const { rec, parser } = feed('HTTP/1.1 200 OK\r\n\r\nuntil the end', everyByte);
  assert.equal(rec.complete, false);
  assert.equal(rec.body, 'until the end');
  assert.equal(parser.finish(), true);
  assert.ok(rec.complete);
  assert.equal(parser.keepAlive, false);
});

test('EOF in the middle of a content-length or chunked body does not complete it', () => {
  for (const res of ['HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab']) {
    const { rec, parser } = feed(res);
    assert.equal(parser.finish(), false);
    assert.equal(rec.complete, false);
  }
});

test('HEAD, 204 and 304 responses have no body whatever their framing headers say', () => {
  const head = feed('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n', [100], true);
  assert.ok(head.rec.complete);
  assert.equal(head.rec.headers?.['content-length'], '10');
  assert.equal(head.parser.keepAlive, true);
  for (const status of [204, 304]) {
    const { rec, leftover } = feed(`HTTP/1.1 ${status} X\r\ncontent-length: 3\r\n\r\n`);
    assert.equal(rec.status, status);
    assert.ok(rec.complete);
    assert.equal(rec.body, '');
    assert.equal(leftover, 0);
  }
  const chunked304 = feed('HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\n\r\n');
  assert.ok(chunked304.rec.complete);
});

test('1xx interim responses are reported and skipped; the final response follows in the same bytes', () => {
  const res = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok';
  for (const sizes of [[res.length], everyByte]) {
    const { rec } = feed(res, sizes);
    assert.deepEqual(rec.interim, [100, 103]);
    assert.equal(rec.status, 201);
    assert.deepEqual(rec.headers, { 'content-length': '2' });
    assert.equal(rec.body, 'ok');
  }
});

test('connection reuse flags: HTTP/1.0, Connection, Keep-Alive timeout hint', () => {
  const cases: [string, boolean, number][] = [
    ['HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', true, -1],
    ['HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n', false, -1],
    ['HTTP/1.1 200 OK\r\nconnection: upgrade, close\r\ncontent-length: 0\r\n\r\n', false, -1],
    ['HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n', false, -1],
    ['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\ncontent-length: 0\r\n\r\n', true, 5],
    ['HTTP/1.0 200 OK\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n0\r\n\r\n', false, -1],
  ];
  for (const [res, keepAlive, hint] of cases) {
    const { rec, parser } = feed(res);
    assert.equal(rec.error, undefined, res);
    assert.ok(rec.complete, res);
    assert.equal(parser.keepAlive, keepAlive, res);
    assert.equal(parser.keepAliveTimeoutS, hint, res);
  }
});

test('bytes after a complete response are left unconsumed', () => {
  const { rec, leftover } = feed('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n');
  assert.ok(rec.complete);
  assert.equal(rec.body, 'ok');
  assert.equal(leftover, 'HTTP/1.1 200 OK\r\n\r\n'.length);
});

test('malformed responses are errors, reported once, never thrown', () => {
  const bad: [string, RegExp][] = [
    ['HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 1\r\n\r\nx', /duplicate content-length/],
    ['HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nx', /duplicate content-length/],
    ['HTTP/1.1 200 OK\r\ncontent-length: 1, 1\r\n\r\nx', /invalid content-length/],
    ['HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n', /invalid content-length/],
    ['HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n', /both content-length and transfer-encoding/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n', /unsupported transfer-encoding/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n', /duplicate transfer-encoding/],
    ['HTTP/1.1 200 OK\r\nx-a: 1\r\n  folded\r\ncontent-length: 0\r\n\r\n', /obsolete line folding/],
    ['HTTP/1.1 200 OK\r\nx-a : 1\r\n\r\n', /invalid header name/],
    ['HTTP/1.1 200 OK\r\nx(a): 1\r\n\r\n', /invalid header name/],
    ['HTTP/1.1 200 OK\r\nx-a: 1\nx-b: 2\r\n\r\n', /invalid character/],
    ['HTTP/1.1 200 OK\r\nx-a: 1\rx-b: 2\r\n\r\n', /bare CR/],
    ['HTTP/1.1 200 OK\r\nx-a: a\x00b\r\n\r\n', /invalid character/],
    ['HTTP/1.1 200 OK\r\nx-a: a\x7fb\r\n\r\n', /invalid character/],
    ['HTTP/1.1 200 O\x01K\r\n\r\n', /status line/],
    ['HTTP/2.0 200 OK\r\n\r\n', /status line/],
    ['HTTP/1.1 20 OK\r\n\r\n', /status code/],
    ['HTTP/1.1 099 OK\r\n\r\n', /status code/],
    ['http/1.1 200 OK\r\n\r\n', /status line/],
    ['\r\nHTTP/1.1 200 OK\r\n\r\n', /status line/],
    ['HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n', /101/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', /invalid chunk size/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\r\n', /invalid chunk size/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1000000000000\r\n', /chunk size too large/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabcX\r\n', /not followed by CRLF/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\nabc\r\n', /chunk size/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3;a\x00\r\nabc\r\n', /chunk extension/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\nx-t 1\r\n\r\n', /invalid header name/],
    ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\rX', /bare CR/],
  ];
  for (const [res, why] of bad) {
    for (const sizes of [[res.length], everyByte]) {
      const { rec } = feed(res, sizes);
      assert.ok(rec.error, `${JSON.stringify(res)} should fail (${why})`);
      assert.match(rec.error.message, why, JSON.stringify(res));
      assert.equal(rec.error.code, 'STRATA_H1_INVALID_RESPONSE');
      assert.equal(rec.late, 0);
      assert.equal(rec.complete, false);
    }
  }
});

test('a head or trailer section over 64 KiB is refused, split or not', () => {
  const big = `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70 * 1024)}\r\ncontent-length: 0\r\n\r\n`;
  for (const sizes of [[big.length], [1000], [64 * 1024 + 10]]) {
    const { rec } = feed(big, sizes);
    assert.equal(rec.error?.code, 'STRATA_H1_HEADERS_TOO_LARGE', `sizes ${sizes.join(',')}`);
    assert.match(rec.error.message, /head larger than 65536 bytes/);
  }
  // Endless header bytes without a terminator fail as soon as the limit is passed.
  const endless = feed(`HTTP/1.1 200 OK\r\nx: ${'b'.repeat(80 * 1024)}`, [4096]);
  assert.equal(endless.rec.error?.code, 'STRATA_H1_HEADERS_TOO_LARGE');
  const trailers = feed(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\nx-t: ${'c'.repeat(65 * 1024)}\r\n\r\n`, [3000]);
  assert.equal(trailers.rec.error?.code, 'STRATA_H1_HEADERS_TOO_LARGE');
  assert.match(trailers.rec.error.message, /trailer section/);
  // Just under the limit is fine.
  const pad = 64 * 1024 - 'HTTP/1.1 200 OK\r\nx: \r\ncontent-length: 0\r\n\r\n'.length;
  const edge = feed(`HTTP/1.1 200 OK\r\nx: ${'d'.repeat(pad)}\r\ncontent-length: 0\r\n\r\n`, [999]);
  assert.equal(edge.rec.error, undefined);
  assert.ok(edge.rec.complete);
});

test('a parser is reusable across messages after reset()', () => {
  const rec = new Recorder();
  const parser = new ResponseParser(rec);
  for (let i = 0; i < 3; i++) {
    parser.reset(false);
    assert.ok(parser.idle);
    const msg = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n${i}`, 'latin1');
    assert.equal(parser.execute(msg), msg.length);
    assert.ok(parser.done);
  }
  assert.equal(rec.body, '012');
});

// ── properties ──────────────────────────────────────────────────────────────────────────

const TCHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`|~";
const VCHARS = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).concat([' ', '\t', '\xe9', '\xff']);
const token = fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: 16 });
const fieldValue = fc.string({ unit: fc.constantFrom(...VCHARS), maxLength: 30 }).map((v) => v.replace(/^[ \t]+|[ \t]+$/g, ''));
const fields = (prefix: string) =>
  fc.uniqueArray(fc.tuple(token.map((t) => `${prefix}${t}`), fieldValue), { selector: ([n]) => n.toLowerCase(), maxLength: 8 });

const validResponse = fc.record({
  minor: fc.constantFrom(0, 1),
  status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
  reason: fc.string({ unit: fc.constantFrom(...VCHARS), maxLength: 20 }),
  headers: fields('x-'),
  body: fc.uint8Array({ maxLength: 400 }),
  chunked: fc.boolean(),
  cuts: fc.array(fc.nat({ max: 400 }), { maxLength: 6 }),
  ext: fc.option(token, { nil: undefined }),
  trailers: fields('x-t-'),
  sizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
});

test('property: valid responses, split anywhere, parse back to the same status, headers, body and trailers', () => {
  fc.assert(
    fc.property(validResponse, (r) => {
      const body = Buffer.from(r.body);
      let head = `HTTP/1.${r.minor} ${r.status} ${r.reason}\r\n`;
      for (const [n, v] of r.headers) head += `${n}: ${v}\r\n`;
      let wire: Buffer;
      const expected: Record<string, string> = {};
      for (const [n, v] of r.headers) expected[n.toLowerCase()] = v;
      if (r.chunked) {
        head += 'Transfer-Encoding: chunked\r\n\r\n';
        expected['transfer-encoding'] = 'chunked';
        const cuts = [...new Set(r.cuts.filter((c) => c > 0 && c < body.length))].sort((a, b) => a - b);
        const parts: Buffer[] = [Buffer.from(head, 'latin1')];
        let prev = 0;
        for (const c of [...cuts, body.length]) {
          if (c === prev) continue;
          parts.push(Buffer.from(`${(c - prev).toString(16)}${r.ext ? `;${r.ext}` : ''}\r\n`, 'latin1'), body.subarray(prev, c), Buffer.from('\r\n'));
          prev = c;
        }
        let tail = '0\r\n';
        for (const [n, v] of r.trailers) tail += `${n}: ${v}\r\n`;
        parts.push(Buffer.from(`${tail}\r\n`, 'latin1'));
        wire = Buffer.concat(parts);
      } else {
        head += `Content-Length: ${body.length}\r\n\r\n`;
        expected['content-length'] = String(body.length);
        wire = Buffer.concat([Buffer.from(head, 'latin1'), body]);
      }
      const { rec, parser, leftover } = feed(wire, r.sizes);
      assert.equal(rec.error, undefined, rec.error?.message);
      assert.equal(rec.status, r.status);
      assert.deepEqual(rec.headers, expected);
      assert.deepEqual(Buffer.concat(rec.chunks), body);
      assert.ok(rec.complete);
      assert.equal(leftover, 0);
      assert.equal(rec.late, 0);
      assert.equal(parser.keepAlive, r.minor === 1);
      if (r.chunked && r.trailers.length > 0) {
        const t: Record<string, string> = {};
        for (const [n, v] of r.trailers) t[n.toLowerCase()] = v;
        assert.deepEqual(rec.trailers, t);
      } else {
        assert.equal(rec.trailers, undefined);
      }
    }),
    { numRuns: 500 },
  );
});

const garbagePiece = fc.oneof(
  fc.constantFrom(
    'HTTP/1.1 ',
    'HTTP/1.0 ',
    'HTTP/1.1 100 Continue\r\n\r\n',
    '200',
    '101',
    ' OK',
    '\r\n',
    '\r\n\r\n',
    '\r',
    '\n',
    ':',
    ': ',
    ' ',
    '\t',
    'content-length: ',
    'content-length: 3\r\n',
    'transfer-encoding: chunked\r\n',
    'connection: close\r\n',
    '0\r\n',
    'a;x=y\r\n',
    'ffffffffffffff\r\n',
    '\x00',
    '\x7f',
    '\xff',
  ),
  fc.string({ maxLength: 6 }),
);

test('property: arbitrary bytes never throw, and errors are reported at most once', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.array(garbagePiece, { maxLength: 30 }).map((p) => Buffer.from(p.join(''), 'latin1')),
        fc.uint8Array({ maxLength: 300 }).map((u) => Buffer.from(u)),
      ),
      fc.array(fc.integer({ min: 1, max: 32 }), { minLength: 1, maxLength: 5 }),
      fc.boolean(),
      (input, sizes, headRequest) => {
        const { rec } = feed(input, sizes, headRequest, true);
        assert.equal(rec.late, 0);
        if (rec.error) assert.equal(rec.complete, false);
      },
    ),
    { numRuns: 2000 },
  );
});

test('content-length and keep-alive timeout parsing without regexes', async () => {
  const { parseDecimal, keepAliveTimeout } = await import('./h1-parser.js');
  assert.equal(parseDecimal('1024', 15), 1024);
  assert.equal(parseDecimal('0', 15), 0);
  for (const bad of ['', '-1', '1 2', '+5', '0x10', '1e3', '1234567890123456']) assert.equal(parseDecimal(bad, 15), -1, bad);
  assert.equal(keepAliveTimeout('timeout=5'), 5);
  assert.equal(keepAliveTimeout('max=100, Timeout=7'), 7);
  assert.equal(keepAliveTimeout('max=100,timeout=12'), 12);
  assert.equal(keepAliveTimeout('xtimeout=5'), -1);
  assert.equal(keepAliveTimeout('max=3'), -1);
  assert.equal(keepAliveTimeout('timeout='), -1);
});
