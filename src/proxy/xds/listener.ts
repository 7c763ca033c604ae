/**
 * @module proxy/xds/listener
 * The part of an LDS resource a sidecar needs. Two kinds of API Listener arrive:
 *
 * - a service's: its HttpConnectionManager names the RouteConfiguration to take over RDS;
 * - `strata.priority` (xds/priority-xds.ts): the mesh's priority classes, rules and default
 *   class. Besides the decoder's own checks, each declared class's socket options are checked
 *   against this machine (congestion control offered and allowed, CAP_NET_ADMIN): a class this
 *   sidecar could not apply makes the response a NACK, and the configuration in force stays.
 *   Built-in classes delivered unchanged are not checked (the file path does not check them either).
 *
 * Errors carry field paths, like the other decoders.
 */
import type { FieldError } from '../../errors.js';
import { isRecord } from '../../config/field-path.js';
import { classSocketProblems, machineEnvironment } from '../../config/compile-priority.js';
import { DEFAULT_PRIORITY_CLASSES } from '../../config/defaults.js';
import type { PriorityClassSpec } from '../../config/snapshot.js';
import type { MarkingEnvironment } from '../../net/marking.js';
import { HTTP_CONNECTION_MANAGER_TYPE_URL, LISTENER_TYPE_URL, TYPED_STRUCT_TYPE_URL, unpack } from '../../xds/protos.js';
import type { XdsAny } from '../../xds/protos.js';
import type { XdsDecoded } from '../../xds/from-xds.js';
import { PRIORITY_VALUE_PATH, decodePriorityTypedStruct } from '../../xds/priority-xds.js';
import type { MeshPrioritySpec } from '../../xds/priority-xds.js';

/** What one Listener gives the sidecar. */
export type ListenerValue = { kind: 'routes'; routeConfig: string } | { kind: 'priority'; priority: MeshPrioritySpec };

const err = (path: string, message: string): FieldError => ({ source: 'xds', path, message });

function isAny(v: unknown): v is XdsAny {
  return isRecord(v) && typeof v.type_url === 'string' && v.value instanceof Uint8Array;
}

/** A Listener Any → the route configuration it refers to, or the mesh's priority. `env`: the machine classes are checked against. */
export function decodeApiListenerAny(any: unknown, env: MarkingEnvironment = machineEnvironment()): XdsDecoded<ListenerValue> {
  if (!isAny(any)) return { name: '', errors: [err('', 'expected a google.protobuf.Any')] };
  if (any.type_url !== LISTENER_TYPE_URL) return { name: '', errors: [err('type_url', `expected ${LISTENER_TYPE_URL}, got ${any.type_url}`)] };
  let listener: Record<string, unknown>;
  try {
    listener = unpack(any);
  } catch (e) {
    return { name: '', errors: [err('', `malformed Listener: ${(e as Error).message}`)] };
  }
  const name = typeof listener.name === 'string' ? listener.name : '';
  const errors: FieldError[] = [];
  if (name === '') errors.push(err('name', 'not set'));
  const outer = listener.api_listener;
  const inner = isRecord(outer) ? outer.api_listener : undefined;
  if (!isAny(inner)) {
    errors.push(err('api_listener.api_listener', 'not set (only API listeners are supported)'));
    return { name, errors };
  }
  if (inner.type_url === TYPED_STRUCT_TYPE_URL) return decodePriority(name, inner, errors, env);
  if (inner.type_url !== HTTP_CONNECTION_MANAGER_TYPE_URL) {
    errors.push(err('api_listener.api_listener.type_url', `expected ${HTTP_CONNECTION_MANAGER_TYPE_URL} or ${TYPED_STRUCT_TYPE_URL}, got ${inner.type_url}`));
    return { name, errors };
  }
  let hcm: Record<string, unknown>;
  try {
    hcm = unpack(inner);
  } catch (e) {
    return { name, errors: [...errors, err('api_listener.api_listener', `malformed HttpConnectionManager: ${(e as Error).message}`)] };
  }
  const rds = hcm.rds;
  const rc = isRecord(rds) ? rds.route_config_name : undefined;
  if (typeof rc !== 'string' || rc === '') errors.push(err('api_listener.api_listener.rds.route_config_name', 'not set (inline route_config is not supported)'));
  if (errors.length > 0 || typeof rc !== 'string') return { name, errors };
  return { name, value: { kind: 'routes', routeConfig: rc } };
}

function decodePriority(name: string, inner: XdsAny, errors: FieldError[], env: MarkingEnvironment): XdsDecoded<ListenerValue> {
  let typedStruct: Record<string, unknown>;
  try {
    typedStruct = unpack(inner);
  } catch (e) {
    return { name, errors: [...errors, err('api_listener.api_listener', `malformed TypedStruct: ${(e as Error).message}`)] };
  }
  const d = decodePriorityTypedStruct(name, typedStruct);
  if ('errors' in d) return { name, errors: [...errors, ...d.errors] };
  d.value.classes.forEach((c, i) => {
    if (isBuiltIn(c)) return;
    for (const e of classSocketProblems(c, `${PRIORITY_VALUE_PATH}.classes[${i}]`, env)) errors.push({ ...e, source: 'xds' });
  });
  return errors.length > 0 ? { name, errors } : { name, value: { kind: 'priority', priority: d.value } };
}

function isBuiltIn(c: PriorityClassSpec): boolean {
  const b = DEFAULT_PRIORITY_CLASSES.find((d) => d.name === c.name);
  return b !== undefined && b.rank === c.rank && b.dscp === c.dscp && b.soPriority === c.soPriority && b.congestion === c.congestion && b.minShare === c.minShare && b.maxShare === c.maxShare && b.shedOrder === c.shedOrder;
}
