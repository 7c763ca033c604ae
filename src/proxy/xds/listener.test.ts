/**
 * LDS as a sidecar decodes it: a service's API listener names its route configuration; the
 * `strata.priority` listener carries the mesh's priority, and a class this machine cannot
 * apply makes it a NACK with the field path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MarkingEnvironment } from '../../net/marking.js';
import { DEFAULT_PRIORITY_CLASSES } from '../../config/defaults.js';
import { nackMessage } from '../../xds/from-xds.js';
import { LISTENER_TYPE_URL, pack } from '../../xds/protos.js';
import { priorityListenerToXds } from '../../xds/priority-xds.js';
import type { MeshPrioritySpec } from '../../xds/priority-xds.js';
import { apiListenerToXds } from '../../xds/to-xds.js';
import { decodeApiListenerAny } from './listener.js';

/** A machine that offers reno and cubic only, and lets unprivileged sockets pick reno. */
const MACHINE: MarkingEnvironment = { available: ['reno', 'cubic'], allowed: ['reno'], netAdmin: false, supported: true };

const mesh = (extra: MeshPrioritySpec['classes']): MeshPrioritySpec => ({
  classes: [...extra, ...DEFAULT_PRIORITY_CLASSES.map((c) => ({ ...c }))].sort((a, b) => b.rank - a.rank),
  defaultClass: 'default',
  rules: [{ name: 'p/r', match: { path: { prefix: '/export' } }, class: 'bulk', trustIncoming: false }],
});

test('a service listener gives its route configuration', () => {
  const d = decodeApiListenerAny(pack(LISTENER_TYPE_URL, apiListenerToXds('orders', 'orders-routes')), MACHINE);
  assert.deepEqual(d, { name: 'orders', value: { kind: 'routes', routeConfig: 'orders-routes' } });
});

test('strata.priority gives the mesh priority; built-in classes are not checked against the machine', () => {
  // latency-sensitive asks for bbr, which MACHINE lacks: built-ins are not the operator's to fix.
  const p = mesh([{ name: 'gold', rank: 400, dscp: 34, congestion: 'reno', minShare: 0, maxShare: 1, shedOrder: 400 }]);
  const d = decodeApiListenerAny(pack(LISTENER_TYPE_URL, priorityListenerToXds(p)), MACHINE);
  assert.deepEqual(d, { name: 'strata.priority', value: { kind: 'priority', priority: p } });
});

test('a declared class this machine cannot apply: every problem with its path (the NACK)', () => {
  const p = mesh([
    { name: 'gold', rank: 400, congestion: 'vegas', minShare: 0, maxShare: 1, shedOrder: 400 },
    { name: 'silver', rank: 350, soPriority: 65552, congestion: 'cubic', minShare: 0, maxShare: 1, shedOrder: 350 },
  ]);
  const d = decodeApiListenerAny(pack(LISTENER_TYPE_URL, priorityListenerToXds(p)), MACHINE);
  assert.ok('errors' in d, JSON.stringify(d));
  assert.equal(d.name, 'strata.priority');
  const v = 'api_listener.api_listener.value';
  assert.deepEqual(
    d.errors.map((e) => `${e.path}: ${e.message}`),
    [
      `${v}.classes[0].congestion: TCP congestion control 'vegas' is not available: /proc/sys/net/ipv4/tcp_available_congestion_control lists reno cubic`,
      `${v}.classes[1].soPriority: 65552 needs CAP_NET_ADMIN (only 0-6 are allowed without it); run the sidecar as root or grant it CAP_NET_ADMIN`,
      `${v}.classes[1].congestion: TCP congestion control 'cubic' is available but not allowed without CAP_NET_ADMIN: /proc/sys/net/ipv4/tcp_allowed_congestion_control lists reno`,
    ],
  );
  assert.match(nackMessage(d.errors), /classes\[0\]\.congestion: TCP congestion control 'vegas' is not available/);
  // With CAP_NET_ADMIN only the missing algorithm remains.
  const admin = decodeApiListenerAny(pack(LISTENER_TYPE_URL, priorityListenerToXds(p)), { ...MACHINE, netAdmin: true });
  assert.ok('errors' in admin);
  assert.equal(admin.errors.length, 1);
});

test('an API listener of another type is refused', () => {
  const any = pack(LISTENER_TYPE_URL, { name: 'x', api_listener: { api_listener: pack('type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', {}) } });
  const d = decodeApiListenerAny(any, MACHINE);
  assert.ok('errors' in d);
  assert.match(d.errors[0]!.path, /^api_listener\.api_listener\.type_url$/);
});
