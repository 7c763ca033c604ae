/**
 * @module config/field-path
 * Field paths as users read them: `spec.rules[1].match.path.regex`. Keys that are not
 * plain identifiers are quoted: `spec.directResponse.headers["x.y"]`.
 */

const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

/** Append an object key to a path. */
export function fieldPath(base: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${base}[${JSON.stringify(key)}]`;
  return base ? `${base}.${key}` : key;
}

/** Append an array index to a path. */
export function indexPath(base: string, index: number): string {
  return `${base}[${index}]`;
}

/**
 * Convert a JSON pointer (`/rules/0/match`) into a field path under `base`. The value the
 * pointer walks is consulted so that numeric object keys stay keys and array positions
 * become indexes.
 */
export function pointerToPath(pointer: string, base: string, root: unknown): string {
  if (pointer === '') return base;
  let path = base;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      path = indexPath(path, Number(key));
      node = node[Number(key)];
    } else {
      path = fieldPath(path, key);
      node = isRecord(node) && Object.hasOwn(node, key) ? node[key] : undefined;
    }
  }
  return path;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
