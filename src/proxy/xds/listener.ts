/**
 * @module proxy/xds/listener
 * The part of an API Listener a sidecar needs: the name of the RouteConfiguration its
 * HttpConnectionManager takes over RDS. Errors carry field paths, like the other decoders.
 */
import type { FieldError } from '../../errors.js';
import { isRecord } from '../../config/field-path.js';
import { HTTP_CONNECTION_MANAGER_TYPE_URL, LISTENER_TYPE_URL, unpack } from '../../xds/protos.js';
import type { XdsAny } from '../../xds/protos.js';
import type { XdsDecoded } from '../../xds/from-xds.js';

const err = (path: string, message: string): FieldError => ({ source: 'xds', path, message });

function isAny(v: unknown): v is XdsAny {
  return isRecord(v) && typeof v.type_url === 'string' && v.value instanceof Uint8Array;
}

/** A Listener Any → the route configuration name it refers to. */
export function decodeApiListenerAny(any: unknown): XdsDecoded<string> {
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
  if (inner.type_url !== HTTP_CONNECTION_MANAGER_TYPE_URL) {
    errors.push(err('api_listener.api_listener.type_url', `expected ${HTTP_CONNECTION_MANAGER_TYPE_URL}, got ${inner.type_url}`));
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
  return { name, value: rc };
}
