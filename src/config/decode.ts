/**
 * @module config/decode
 * Text → validated resources. The text is a YAML stream (JSON is YAML too); each document
 * is one resource, or a list of resources. Every problem in every document is reported,
 * with the source, the resource (`Kind/name`, or `document #N` when it has no name) and
 * the field path. Pure: no I/O, never throws.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import { fail, ok } from '../errors.js';
import type { Decoded, FieldError } from '../errors.js';
import { setOrigin, validateResource } from './resources.js';
import type { Resource } from './resources.js';

/** Syntax errors reported per document before the rest are summarised. */
const MAX_SYNTAX_ERRORS = 10;

export function decodeResources(text: string, source: string): Decoded<Resource[]> {
  try {
    return decode(text, source);
  } catch (err) {
    // The YAML parser guards against most pathological input; this is the last resort.
    const detail = err instanceof Error ? err.message : String(err);
    return fail([{ source, path: '', message: `cannot parse: ${detail}` }]);
  }
}

function decode(text: string, source: string): Decoded<Resource[]> {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(docs)) return ok([]); // an empty stream
  const errors: FieldError[] = [];
  const resources: Resource[] = [];

  docs.forEach((doc, i) => {
    const label = `document #${i + 1}`;
    if (doc.errors.length > 0) {
      for (const e of doc.errors.slice(0, MAX_SYNTAX_ERRORS)) {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        errors.push({ source, resource: label, path: '', message: `YAML syntax error at ${line}:${col}: ${e.message}` });
      }
      const more = doc.errors.length - MAX_SYNTAX_ERRORS;
      if (more > 0) errors.push({ source, resource: label, path: '', message: `… and ${more} more YAML syntax errors` });
      return;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      errors.push({ source, resource: label, path: '', message: `cannot read document: ${detail}` });
      return;
    }
    if (value === null || value === undefined) return; // an empty document, e.g. after a trailing `---`
    const items: [unknown, string][] = Array.isArray(value)
      ? value.map((item, j): [unknown, string] => [item, `${label}[${j}]`])
      : [[value, label]];
    for (const [item, itemLabel] of items) {
      const r = validateResource(item, itemLabel);
      for (const e of r.errors) errors.push({ source, resource: r.label, ...e });
      if (r.resource) {
        setOrigin(r.resource, { source, document: itemLabel });
        resources.push(r.resource);
      }
    }
  });

  return errors.length > 0 ? fail(errors) : ok(resources);
}
