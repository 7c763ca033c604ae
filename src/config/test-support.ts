/**
 * @module config/test-support
 * Builders shared by the config tests: small fake filters and balancers registered under
 * the real names (so the tests do not depend on the real implementations), the example
 * configuration, and a decode-then-compile helper.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fail, ok } from '../errors.js';
import type { Decoded, FieldError } from '../errors.js';
import { registerBalancer } from '../proxy/balancer/registry.js';
import { registerFilter } from '../proxy/filters/registry.js';
import { compileSnapshot } from './compile.js';
import { decodeResources } from './decode.js';
import type { Snapshot } from './snapshot.js';

export const EXAMPLE_PATH = fileURLToPath(new URL('../../../examples/sidecar.yaml', import.meta.url));
export const exampleText = (): string => readFileSync(EXAMPLE_PATH, 'utf8');

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Register fake `header-mutation`, `fault`, `local-rate-limit` filters and the four balancers. */
export function registerFakes(): void {
  registerFilter({
    name: 'header-mutation',
    decode: (raw, path) => (isObject(raw) ? ok(raw) : fail([{ path, message: 'must be a mapping' }])),
    build: () => () => ({}),
  });
  registerFilter({
    name: 'fault',
    decode(raw, path) {
      const errors: FieldError[] = [];
      if (!isObject(raw)) return fail([{ path, message: 'must be a mapping' }]);
      for (const part of ['delay', 'abort']) {
        const v = raw[part];
        if (isObject(v) && typeof v['percent'] === 'number' && (v['percent'] < 0 || v['percent'] > 100)) {
          errors.push({ path: `${path}.${part}.percent`, message: 'must be between 0 and 100' });
        }
      }
      return errors.length > 0 ? fail(errors) : ok({ ...raw, decodedBy: 'fake-fault' });
    },
    build: () => () => ({}),
  });
  registerFilter({
    name: 'local-rate-limit',
    decode: (raw, path) =>
      isObject(raw) && typeof raw['maxTokens'] === 'number'
        ? ok(raw)
        : fail([{ path: `${path}.maxTokens`, message: 'required field missing' }]),
    build: () => () => ({}),
  });
  for (const name of ['round-robin', 'least-request', 'peak-ewma', 'ring-hash']) {
    registerBalancer({ name, create: () => ({ update() {}, pick: () => undefined }) });
  }
}

/** Decode and compile `text` as if it were the file `source`. */
export function build(text: string, source = 'test.yaml'): Decoded<Snapshot> {
  const d = decodeResources(text, source);
  return d.ok ? compileSnapshot(d.value, source) : d;
}

/** The errors of a configuration that is expected to be invalid. */
export function errorsOf(r: Decoded<unknown>): FieldError[] {
  if (r.ok) throw new Error('expected errors, but the configuration is valid');
  return r.errors;
}

/** The value of a configuration that is expected to be valid (errors shown on failure). */
export function valueOf<T>(r: Decoded<T>): T {
  if (!r.ok) throw new Error(`expected a valid configuration:\n${JSON.stringify(r.errors, null, 2)}`);
  return r.value;
}

/** The first error at `path` (and resource, when given), or undefined. */
export function errorAt(errors: readonly FieldError[], path: string, resource?: string): FieldError | undefined {
  return errors.find((e) => e.path === path && (resource === undefined || e.resource === resource));
}

// ---- small documents ---------------------------------------------------------------------

export const SIDECAR = `apiVersion: strata.dev/v1alpha1
kind: Sidecar
metadata: { name: me }
spec:
  service: me
`;

export const service = (name: string, extra = '', protocol = 'http'): string => `apiVersion: strata.dev/v1alpha1
kind: Service
metadata: { name: ${name} }
spec:
  protocol: ${protocol}
  endpoints:
    - { address: 127.0.0.1, port: 8080 }
${extra}`;

export const route = (name: string, spec: string): string => `apiVersion: strata.dev/v1alpha1
kind: Route
metadata: { name: ${name} }
spec:
${spec}`;

export const policy = (name: string, spec: string): string => `apiVersion: strata.dev/v1alpha1
kind: TrafficPolicy
metadata: { name: ${name} }
spec:
${spec}`;

export const docs = (...parts: string[]): string => parts.join('---\n');
