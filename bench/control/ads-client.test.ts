import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adsService } from '../../src/control/xds/ads-proto.js';
import { dependenciesOf } from '../../src/control/scope.js';
import type { XdsNode } from '../../src/control/xds/snapshot-cache.js';
import { nodeOf } from './ads-client.js';

test('the dependencies in node metadata survive the wire and reach the control plane', () => {
  const method = adsService().service['DeltaAggregatedResources'];
  assert.ok(method);
  const wire = method.requestSerialize({ node: nodeOf({ id: 'c1', dependencies: ['svc-0003', 'svc-0000'] }), type_url: 't' });
  const req = method.requestDeserialize(wire) as { node: XdsNode };
  assert.deepEqual(dependenciesOf(req.node), ['svc-0000', 'svc-0003']);
  assert.equal(nodeOf({ id: 'c2' })['metadata'], undefined);
});
