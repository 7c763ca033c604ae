import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContinuousLoad, percentile } from './load.js';

test('percentile: nearest rank; NaN when empty', () => {
  assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
  assert.equal(percentile([1, 2, 3, 4], 0.99), 4);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

test('ContinuousLoad: both classes reach the target; take() reports each ended request once; stop() ends everything', async () => {
  const seen = { item: 0, batch: 0 };
  let shedNext = true;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/item')) {
        seen.item += 1;
        res.end('ok');
      } else if (req.url === '/batch' && req.method === 'POST') {
        seen.batch += 1;
        if (shedNext) {
          shedNext = false;
          res.writeHead(503, { 'x-strata-error': 'STRATA_SHED' });
          res.end();
          return;
        }
        setTimeout(() => res.end('done'), 5);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const load = new ContinuousLoad({ target: `http://127.0.0.1:${port}`, lsRate: 100, bulkConcurrency: 2, bulkBytes: 1000, timeoutMs: 5000 });
  try {
    load.start();
    const totals = { lsOk: 0, lsSent: 0, bulkOk: 0, bulkShed: 0 };
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (totals.lsOk < 10 || totals.bulkOk < 3 || totals.bulkShed < 1)) {
      await new Promise((r) => setTimeout(r, 100));
      const r = load.take();
      assert.ok(r.durationS > 0);
      totals.lsOk += r.latencySensitive.ok;
      totals.lsSent += r.latencySensitive.sent;
      totals.bulkOk += r.bulk.ok;
      totals.bulkShed += r.bulk.shed;
      if (r.latencySensitive.ok > 0) assert.ok(r.latencySensitive.p99 >= r.latencySensitive.p50);
    }
    assert.ok(totals.lsOk >= 10, JSON.stringify(totals));
    assert.equal(totals.lsSent, totals.lsOk);
    assert.ok(totals.bulkOk >= 3, JSON.stringify(totals));
    assert.equal(totals.bulkShed, 1);
  } finally {
    await load.stop();
  }
  // Every request ended by take(), the final one included, was counted once; nothing is sent after stop().
  const after = { ...seen };
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(seen, after);
  await new Promise<void>((r) => server.close(() => r()));
});
