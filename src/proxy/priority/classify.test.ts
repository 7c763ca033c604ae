import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PRIORITY_CLASSES } from '../../config/defaults.js';
import type { PrioritySpec } from '../../config/snapshot.js';
import { classify, compilePolicy } from './classify.js';
import type { ClassifyInput } from './classify.js';

const spec = (rules: PrioritySpec['rules'], defaultClass = 'default'): PrioritySpec => ({
  classes: DEFAULT_PRIORITY_CLASSES.map((c) => ({ ...c })),
  defaultClass,
  rules,
  trustIncoming: true,
  pools: 'per-class',
  services: {},
});
const req = (over: Partial<ClassifyInput> = {}): ClassifyInput => ({ method: 'GET', path: '/', headers: {}, destination: 'api', ...over });
const LS = 0;
const DEFAULT = 1;
const BULK = 2;

test('no rules: the default class (or the policy default)', () => {
  assert.equal(classify(compilePolicy(spec([])), req(), -1, false), DEFAULT);
  assert.equal(classify(compilePolicy(spec([], 'bulk')), req(), -1, false), BULK);
});

test('first matching rule wins: path, methods, headers, api key, services', () => {
  const p = compilePolicy(
    spec([
      { name: 'exact', match: { path: { exact: '/checkout' } }, class: 'latency-sensitive', trustIncoming: false },
      { name: 'export', match: { path: { prefix: '/export' }, methods: ['GET'] }, class: 'bulk', trustIncoming: false },
      { name: 'hdr', match: { headers: [{ name: 'x-tier', match: { regex: 'gold|platinum' } }] }, class: 'latency-sensitive', trustIncoming: false },
      { name: 'key', match: { apiKey: { header: 'x-api-key', values: ['k1'] } }, class: 'bulk', trustIncoming: false },
      { name: 'svc', match: { services: ['reports'] }, class: 'bulk', trustIncoming: false },
    ]),
  );
  assert.equal(classify(p, req({ path: '/checkout?x=1' }), -1, false), LS);
  assert.equal(classify(p, req({ path: '/checkout/more' }), -1, false), DEFAULT);
  assert.equal(classify(p, req({ path: '/export/all' }), -1, false), BULK);
  assert.equal(classify(p, req({ path: '/export/all', method: 'POST' }), -1, false), DEFAULT);
  assert.equal(classify(p, req({ headers: { 'x-tier': 'gold' } }), -1, false), LS);
  assert.equal(classify(p, req({ headers: { 'x-tier': 'silver' } }), -1, false), DEFAULT);
  assert.equal(classify(p, req({ headers: { 'x-api-key': ' k1 ' } }), -1, false), BULK);
  assert.equal(classify(p, req({ headers: { 'x-api-key': 'k2' } }), -1, false), DEFAULT);
  assert.equal(classify(p, req({ destination: 'reports' }), -1, false), BULK);
});

test('incoming class: honoured when trusted, ignored when not, unless a matching rule trusts it', () => {
  const p = compilePolicy(
    spec([
      { name: 'partner', match: { apiKey: { header: 'x-api-key', values: ['partner'] } }, trustIncoming: true },
      { name: 'bulk-path', match: { path: { prefix: '/bulk' } }, class: 'bulk', trustIncoming: false },
      { name: 'trusted-with-class', match: { path: { prefix: '/t' } }, class: 'bulk', trustIncoming: true },
    ]),
  );
  assert.equal(classify(p, req({ path: '/bulk' }), LS, true), LS, 'a trusted hop keeps its class');
  assert.equal(classify(p, req({ path: '/bulk' }), LS, false), BULK, 'untrusted: classified by policy');
  assert.equal(classify(p, req({ path: '/other' }), LS, false), DEFAULT, 'untrusted and no rule: the default class');
  assert.equal(classify(p, req({ headers: { 'x-api-key': 'partner' } }), LS, false), LS, 'a rule may trust it');
  assert.equal(classify(p, req({ headers: { 'x-api-key': 'partner' } }), -1, false), DEFAULT, 'trusted rule without a class, none sent: default');
  assert.equal(classify(p, req({ path: '/t' }), -1, false), BULK, 'trusted rule with a class, none sent: its class');
  assert.equal(classify(p, req({ path: '/t' }), LS, false), LS);
});
