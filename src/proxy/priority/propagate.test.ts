import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { baggageMember, classFromHeader, incomingClass, markRequest, withBaggageMember } from './propagate.js';

const known = (name: string): number => ['latency-sensitive', 'default', 'bulk'].indexOf(name);

test('the header: trimmed, lower-case, first of repeated values', () => {
  assert.equal(classFromHeader(' Bulk '), 'bulk');
  assert.equal(classFromHeader(['default', 'bulk']), 'default');
  assert.equal(classFromHeader(''), undefined);
  assert.equal(classFromHeader(undefined), undefined);
});

test('baggage: finds strata.priority among other members, with properties and whitespace', () => {
  assert.equal(baggageMember('userId=alice, strata.priority=bulk;ttl=3 , x=y'), 'bulk');
  assert.equal(baggageMember('strata.priority = latency-sensitive'), 'latency-sensitive');
  assert.equal(baggageMember(['a=1', 'strata.priority=default']), 'default');
  assert.equal(baggageMember('a=1,b=2'), undefined);
  assert.equal(baggageMember('strata.priority=%E0%A4%A'), undefined, 'bad percent-encoding is no class');
  assert.equal(baggageMember('strata.priority'), undefined);
  assert.equal(baggageMember('strata.priorityx=bulk'), undefined);
});

test('incoming class: the header wins; an unknown header falls back to the baggage; unknown both = -1', () => {
  assert.equal(incomingClass('bulk', 'strata.priority=latency-sensitive', known), 2);
  assert.equal(incomingClass('gold', 'strata.priority=latency-sensitive', known), 0);
  assert.equal(incomingClass(undefined, 'strata.priority=default', known), 1);
  assert.equal(incomingClass('gold', 'strata.priority=platinum', known), -1);
  assert.equal(incomingClass(undefined, undefined, known), -1);
});

test('writing the baggage keeps other members byte for byte and replaces ours', () => {
  assert.equal(withBaggageMember(undefined, 'bulk'), 'strata.priority=bulk');
  assert.equal(withBaggageMember('a=1;p=q,strata.priority=default,b=%20x', 'bulk'), 'a=1;p=q,b=%20x,strata.priority=bulk');
  assert.equal(withBaggageMember(['a=1', 'strata.priority=x,strata.priority=y'], 'bulk'), 'a=1,strata.priority=bulk');
  assert.equal(withBaggageMember(' , a=1,,', 'bulk'), 'a=1,strata.priority=bulk');
});

test('markRequest sets both headers, and leaves a request that already carries the class alone', () => {
  const h: Record<string, string | string[] | undefined> = { baggage: 'k=v' };
  markRequest(h, 'bulk');
  assert.deepEqual(h, { baggage: 'k=v,strata.priority=bulk', 'x-strata-priority': 'bulk' });
  const same = h['baggage'];
  markRequest(h, 'bulk');
  assert.equal(h['baggage'], same);
  markRequest(h, 'default');
  assert.deepEqual(h, { baggage: 'k=v,strata.priority=default', 'x-strata-priority': 'default' });
  const none: Record<string, string | string[] | undefined> = {};
  markRequest(none, 'bulk');
  assert.deepEqual(none, { 'x-strata-priority': 'bulk', baggage: 'strata.priority=bulk' });
});

test('fuzz: reading any header never throws and yields a known class or -1', () => {
  fc.assert(
    fc.property(fc.option(fc.string(), { nil: undefined }), fc.option(fc.oneof(fc.string(), fc.array(fc.string())), { nil: undefined }), (h, b) => {
      const c = incomingClass(h, b, known);
      return c >= -1 && c <= 2;
    }),
    { numRuns: 2000 },
  );
});

/** Baggage members as the W3C grammar allows them (tokens, values without , ; or spaces, properties). */
const token = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,8}$/).filter((k) => k !== 'strata.priority');
const member = fc.tuple(token, fc.stringMatching(/^[A-Za-z0-9%!#$&'()*+./:<=>?@[\]^_`{|}~-]{0,8}$/), fc.option(fc.stringMatching(/^;[a-z]{1,4}(=[a-z0-9]{1,4})?$/), { nil: '' })).map(
  ([k, v, p]) => `${k}=${v}${p}`,
);

test('fuzz: writing our member keeps every other member, in order, and reads back', () => {
  fc.assert(
    fc.property(fc.array(member, { maxLength: 10 }), fc.constantFrom('latency-sensitive', 'default', 'bulk'), fc.boolean(), (members, cls, withOld) => {
      const input = withOld ? [...members.slice(0, 1), 'strata.priority=default', ...members.slice(1)] : members;
      const out = withBaggageMember(input.join(','), cls);
      const parts = out.split(',');
      assert.deepEqual(parts.slice(0, -1), members);
      assert.equal(baggageMember(out), cls);
    }),
    { numRuns: 1000 },
  );
});
