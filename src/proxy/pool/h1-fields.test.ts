import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_BARE_CR, BLOCK_MORE, BLOCK_TOO_LARGE, HeadBlock } from './h1-fields.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('HeadBlock: a block in one read is found in place, without a copy', () => {
  const k = new HeadBlock();
  const buf = b('xxGET / HTTP/1.1\r\nhost: a\r\n\r\nbody');
  assert.equal(k.take(buf, 2, false, 1024), buf.length - 4);
  assert.equal(k.text(), 'GET / HTTP/1.1\r\nhost: a\r\n');
  assert.equal(k.buf, buf);
});

test('HeadBlock: split across reads at every offset, the terminator too', () => {
  const head = 'HTTP/1.1 200 OK\r\na: 1\r\n\r\n';
  for (let cut = 1; cut < head.length; cut++) {
    const k = new HeadBlock();
    assert.equal(k.take(b(head.slice(0, cut)), 0, false, 1024), BLOCK_MORE, `cut ${cut}`);
    const rest = b(`${head.slice(cut)}tail`);
    assert.equal(k.take(rest, 0, false, 1024), rest.length - 4, `cut ${cut}`);
    assert.equal(k.text(), 'HTTP/1.1 200 OK\r\na: 1\r\n', `cut ${cut}`);
    assert.equal(k.accLen, 0);
  }
});

test('HeadBlock: empty trailer sections, bare CR, and the size limit', () => {
  const k = new HeadBlock();
  assert.equal(k.take(b('\r\nnext'), 0, true, 64), 2);
  assert.equal(k.end - k.start, 0);
  assert.equal(k.take(b('\rx'), 0, true, 64), BLOCK_BARE_CR);
  // An empty section whose LF comes in the next read.
  const split = new HeadBlock();
  assert.equal(split.take(b('\r'), 0, true, 64), BLOCK_MORE);
  assert.equal(split.take(b('\nrest'), 0, true, 64), 1);
  // Too large in one read, and once accumulated.
  assert.equal(new HeadBlock().take(b(`${'a'.repeat(70)}\r\n\r\n`), 0, false, 64), BLOCK_TOO_LARGE);
  const acc = new HeadBlock();
  assert.equal(acc.take(b('a'.repeat(40)), 0, false, 64), BLOCK_MORE);
  assert.equal(acc.take(b('a'.repeat(40)), 0, false, 64), BLOCK_TOO_LARGE);
  acc.drop();
  assert.equal(acc.accLen, 0);
});
