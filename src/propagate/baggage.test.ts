import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAGGAGE_MAX_BYTES, BAGGAGE_MAX_MEMBERS, baggageValue, mergeBaggage, parseBaggage, serializeBaggage } from './baggage.js';

test('parse: members as written, trimmed; empty and malformed members dropped; several headers are one list', () => {
  const ms = parseBaggage(' a=1 , ,b = 2;prop=x,noeq,=v,c d=3,e=%20x ');
  assert.deepEqual(ms.map((m) => m.key), ['a', 'b', 'e']);
  assert.equal(serializeBaggage(ms), 'a=1,b = 2;prop=x,e=%20x');
  assert.deepEqual(parseBaggage(['a=1', 'b=2']).map((m) => m.text), ['a=1', 'b=2']);
  assert.deepEqual(parseBaggage(undefined), []);
});

test('value: first member with the key, percent-decoded, properties removed', () => {
  const ms = parseBaggage('k=v%2C1;p=1,k=second,bad=%E0%A4%A');
  assert.equal(baggageValue(ms, 'k'), 'v,1');
  assert.equal(baggageValue(ms, 'bad'), '%E0%A4%A');
  assert.equal(baggageValue(ms, 'none'), undefined);
});

test('merge: the app members first and as written, ours only for keys the app lacks, never duplicated', () => {
  const app = parseBaggage('user=alice,strata.priority=low');
  const ours = parseBaggage('strata.priority=high,tenant=t1,user=bob');
  assert.deepEqual(mergeBaggage(app, ours), { value: 'user=alice,strata.priority=low,tenant=t1', added: 1 });
  assert.deepEqual(mergeBaggage([], ours), { value: 'strata.priority=high,tenant=t1,user=bob', added: 3 });
  assert.deepEqual(mergeBaggage([], []), { value: undefined, added: 0 });
  assert.deepEqual(mergeBaggage(parseBaggage('a=1,a=1'), parseBaggage('a=2')), { value: 'a=1,a=1', added: 0 });
});

test('merge: the member limit drops ours, never the app’s', () => {
  const app = parseBaggage(Array.from({ length: BAGGAGE_MAX_MEMBERS - 1 }, (_, i) => `k${i}=v`).join(','));
  const r = mergeBaggage(app, parseBaggage('strata.priority=high,x=1'));
  assert.equal(r.added, 1);
  const out = parseBaggage(r.value);
  assert.equal(out.length, BAGGAGE_MAX_MEMBERS);
  assert.equal(out.at(-1)?.text, 'strata.priority=high');
  const full = parseBaggage(Array.from({ length: BAGGAGE_MAX_MEMBERS + 5 }, (_, i) => `k${i}=v`).join(','));
  const over = mergeBaggage(full, parseBaggage('strata.priority=high'));
  assert.equal(over.added, 0);
  assert.equal(parseBaggage(over.value).length, BAGGAGE_MAX_MEMBERS + 5, 'the app’s header is left as it is');
});

test('merge: the byte limit drops a member of ours that does not fit, a smaller one later still fits', () => {
  const big = 'a=' + 'x'.repeat(BAGGAGE_MAX_BYTES - 40);
  const r = mergeBaggage(parseBaggage(big), parseBaggage(`huge=${'y'.repeat(100)},strata.priority=high`));
  assert.equal(r.added, 1);
  assert.ok(Buffer.byteLength(r.value ?? '') <= BAGGAGE_MAX_BYTES);
  assert.equal(r.value, `${big},strata.priority=high`);
  const exact = 'a=' + 'x'.repeat(BAGGAGE_MAX_BYTES - 2 - ',s=1'.length);
  assert.equal(Buffer.byteLength(mergeBaggage(parseBaggage(exact), parseBaggage('s=1')).value ?? ''), BAGGAGE_MAX_BYTES);
  assert.equal(mergeBaggage(parseBaggage(exact + 'x'), parseBaggage('s=1')).added, 0);
});
