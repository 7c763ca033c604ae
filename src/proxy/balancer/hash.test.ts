import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fmix32, hashString } from './hash.js';

test('hashString: stable values (sidecars must agree)', () => {
  assert.equal(hashString(''), fmix32(0x811c9dc5));
  assert.equal(hashString('a'), hashString('a'));
  assert.notEqual(hashString('user-1'), hashString('user-2'));
  for (const s of ['', 'a', 'user-1', 'ünïcødé ✓']) {
    const h = hashString(s);
    assert.ok(Number.isInteger(h) && h >= 0 && h < 2 ** 32);
  }
});

test('hashString: sequential keys spread evenly over 16 buckets', () => {
  const buckets = new Array<number>(16).fill(0);
  const n = 64_000;
  for (let k = 0; k < n; k++) buckets[hashString(`session-${k}`) >>> 28]!++;
  for (const b of buckets) assert.ok(Math.abs(b - n / 16) < (n / 16) * 0.05, `bucket ${b}`);
});

test('fmix32: avalanche — one flipped input bit flips about half the output bits', () => {
  let flipped = 0;
  let trials = 0;
  for (let x = 1; x < 2000; x += 7) {
    for (let bit = 0; bit < 32; bit++) {
      let d = (fmix32(x) ^ fmix32((x ^ (1 << bit)) >>> 0)) >>> 0;
      while (d) {
        flipped += d & 1;
        d >>>= 1;
      }
      trials++;
    }
  }
  const mean = flipped / trials;
  assert.ok(Math.abs(mean - 16) < 0.5, `mean flipped bits ${mean}`);
});
