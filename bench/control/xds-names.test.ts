import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, CLUSTER_TYPE_URL, LISTENER_TYPE_URL, ROUTE_CONFIGURATION_TYPE_URL, pack } from '../../src/xds/protos.js';
import { hasName, nameRange, resourceName } from './xds-names.js';

test('the name (field 1) of every resource type, without decoding', () => {
  const cluster = pack(CLUSTER_TYPE_URL, { name: 'svc-0001', type: 'EDS', eds_cluster_config: { eds_config: { ads: {} } }, connect_timeout: { seconds: 1 } });
  const cla = pack(CLUSTER_LOAD_ASSIGNMENT_TYPE_URL, {
    cluster_name: 'svc-0001',
    endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 80 } } } }] }],
  });
  const route = pack(ROUTE_CONFIGURATION_TYPE_URL, { name: 'svc-0001-routes', virtual_hosts: [{ name: 'svc-0001', domains: ['svc-0001'] }] });
  const listener = pack(LISTENER_TYPE_URL, { name: 'svc-0001' });
  assert.equal(resourceName(cluster.value), 'svc-0001');
  assert.equal(resourceName(cla.value), 'svc-0001');
  assert.equal(resourceName(route.value), 'svc-0001-routes');
  assert.equal(resourceName(listener.value), 'svc-0001');
  assert.ok(hasName(route.value, Buffer.from('svc-0001-routes')));
  assert.ok(!hasName(route.value, Buffer.from('svc-0001')));
});

test('field 1 is found after other fields of every wire type', () => {
  // field 2 varint 150, field 3 fixed64, field 4 fixed32, field 5 bytes "xy", then field 1 "ab".
  const buf = Uint8Array.from([0x10, 0x96, 0x01, 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x25, 1, 2, 3, 4, 0x2a, 2, 0x78, 0x79, 0x0a, 2, 0x61, 0x62]);
  assert.equal(resourceName(buf), 'ab');
});

test('absent or truncated: no name', () => {
  assert.equal(nameRange(Uint8Array.from([])), undefined);
  assert.equal(nameRange(Uint8Array.from([0x10, 0x01])), undefined);
  assert.equal(nameRange(Uint8Array.from([0x0a, 5, 0x61])), undefined);
  assert.equal(nameRange(Uint8Array.from([0x0b])), undefined);
  assert.equal(resourceName(Uint8Array.from([0x0a, 0x80])), '');
});
