import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planTestbed, uniqueName } from './testbed.js';

test('uniqueName: st-<pid>-<n>, different on every call', () => {
  const a = uniqueName();
  const b = uniqueName();
  assert.match(a, new RegExp(`^st-${process.pid}-\\d+$`));
  assert.notEqual(a, b);
  assert.match(uniqueName('mine'), /^mine-\d+-\d+$/);
});

test('planTestbed: one /24 per host behind the router, names inside the testbed', () => {
  const p = planTestbed({ hosts: 3, name: 'st-1-1', subnetOctet: 77 });
  assert.equal(p.router, 'st-1-1-r');
  assert.deepEqual(p.hosts[2], { index: 2, netns: 'st-1-1-h2', address: '10.77.2.2', dev: 'eth0', gateway: '10.77.2.1', routerDev: 'h2' });
  assert.equal(planTestbed({ hosts: 1, name: 'x' }).hosts[0]?.address, '10.200.0.2');
  assert.throws(() => planTestbed({ hosts: 0, name: 'x' }), /hosts must be 1-250/);
  assert.throws(() => planTestbed({ hosts: 1, name: 'bad name' }), /testbed name/);
  assert.throws(() => planTestbed({ hosts: 1, name: 'x', subnetOctet: 300 }), /subnetOctet/);
});
