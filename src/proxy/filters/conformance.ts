/**
 * @module proxy/filters/conformance
 * The shared suite every HTTP filter runs from its own test file:
 *
 * ```ts
 * runFilterConformance('fault', { abort: { status: 503, percent: 50 } }, [
 *   { config: { abort: { status: 503, percent: 101 } }, path: 'abort.percent' },
 * ]);
 * ```
 *
 * It checks the contract in filter.ts: the factory is registered under its name; decode
 * accepts the valid config without mutating it, rejects non-objects, unknown fields and each
 * invalid config at the right field path, and never throws, whatever it is given; whatever
 * decode accepts, build accepts; and a built filter's hooks return 'continue' or 'stop',
 * where 'stop' is followed by exactly one respond() or resume().
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FieldError } from '../../errors.js';
import { formatFieldError } from '../../errors.js';
import type { FilterCallbacks, FilterFactory, HttpFilter, RequestHead, ResponseHead } from './filter.js';
import { getFilter } from './registry.js';
import { isPlainObject } from './decode-helpers.js';

export interface InvalidConfigCase {
  config: unknown;
  /** Where an error is expected, relative to the config root: 'abort.percent', '' for the root. */
  path: string;
}

export interface ConformanceOptions {
  /** How long a stream paused with 'stop' may take to respond or resume (default 2000 ms). */
  settleTimeoutMs?: number;
  /** Streams run through one built config (default 20), enough to exercise shared state. */
  streams?: number;
}

/** The path the suite decodes under; every error must be located beneath it. */
const BASE = 'spec.filters[0].config';
const UNKNOWN_FIELD = 'strataConformanceUnknownField';

function under(rel: string): string {
  if (rel === '') return BASE;
  return rel.startsWith('[') ? `${BASE}${rel}` : `${BASE}.${rel}`;
}

function isAtOrBelow(errorPath: string, path: string): boolean {
  return errorPath === path || errorPath.startsWith(`${path}.`) || errorPath.startsWith(`${path}[`);
}

function show(errors: readonly FieldError[]): string {
  return errors.length === 0 ? '(no errors)' : errors.map(formatFieldError).join('\n');
}

function lookup(name: string): FilterFactory {
  const factory = getFilter(name);
  assert.ok(factory, `filter "${name}" is not registered`);
  return factory;
}

// ---- sample traffic ------------------------------------------------------------------------

function sampleRequest(): RequestHead {
  return {
    method: 'GET',
    authority: 'conformance.test',
    path: '/conformance?q=1',
    headers: {
      host: 'conformance.test',
      'user-agent': 'strata-conformance',
      accept: '*/*',
      cookie: 'a=b',
      'x-forwarded-for': '10.0.0.1',
    },
  };
}

function sampleResponse(): ResponseHead {
  return {
    status: 200,
    headers: { 'content-type': 'text/plain', 'content-length': '5', 'set-cookie': ['a=1', 'b=2'] },
  };
}

interface Recorded {
  responds: number;
  resumes: number;
  problems: string[];
}

/** FilterCallbacks that record calls and resolve `settled` on the first respond/resume. */
function fakeCallbacks(): { cb: FilterCallbacks; calls: Recorded; settled: Promise<void> } {
  const calls: Recorded = { responds: 0, resumes: 0, problems: [] };
  let settle = (): void => {};
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const cb: FilterCallbacks = {
    respond(status, body, headers, code) {
      calls.responds += 1;
      if (!Number.isInteger(status) || status < 100 || status > 599) calls.problems.push(`respond status ${status}`);
      if (typeof body !== 'string') calls.problems.push('respond body is not a string');
      for (const [k, v] of Object.entries(headers ?? {})) {
        if (typeof v !== 'string' || /[\r\n\0]/.test(v)) calls.problems.push(`respond header ${k} has a bad value`);
      }
      if (code !== undefined && !/^STRATA_[A-Z_]+$/.test(code)) calls.problems.push(`respond code ${String(code)}`);
      settle();
    },
    resume() {
      calls.resumes += 1;
      settle();
    },
    now: () => performance.now(),
    routeName: 'conformance-route',
    serviceName: 'conformance-service',
  };
  return { cb, calls, settled };
}

/** Lets pending immediates and short timers run, to catch late duplicate calls. */
const settleTicks = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

async function runStream(filter: HttpFilter, settleTimeoutMs: number): Promise<void> {
  assert.ok(typeof filter === 'object' && filter !== null, 'the stream constructor must return an object');
  for (const hook of ['onRequestHeaders', 'onResponseHeaders'] as const) {
    const h: unknown = filter[hook];
    assert.ok(h === undefined || typeof h === 'function', `${hook} must be a function when present`);
  }
  const req = sampleRequest();
  const { cb, calls, settled } = fakeCallbacks();
  if (filter.onRequestHeaders !== undefined) {
    const status: unknown = filter.onRequestHeaders(req, cb);
    assert.ok(status === 'continue' || status === 'stop', `onRequestHeaders returned ${String(status)}`);
    if (status === 'continue') {
      await settleTicks();
      assert.equal(calls.responds + calls.resumes, 0, "returned 'continue' but called respond() or resume()");
    } else {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<true>((resolve) => {
        timer = setTimeout(() => resolve(true), settleTimeoutMs);
      });
      const outcome = await Promise.race([settled.then(() => false), timedOut]);
      clearTimeout(timer);
      assert.equal(outcome, false, `returned 'stop' but called neither respond() nor resume() in ${settleTimeoutMs} ms`);
      await settleTicks();
      assert.equal(
        calls.responds + calls.resumes,
        1,
        `after 'stop', expected one respond() or resume(); got ${calls.responds} respond, ${calls.resumes} resume`,
      );
    }
    assert.deepEqual(calls.problems, []);
    if (calls.responds > 0) return; // a local reply ends the stream: no response side
  }
  if (filter.onResponseHeaders !== undefined) {
    const res = sampleResponse();
    filter.onResponseHeaders(res, req);
    assert.ok(Number.isInteger(res.status), 'response status must stay an integer');
  }
}

// ---- arbitrary configs ---------------------------------------------------------------------

type Key = string | number;

/** Paths to every node of a plain-data value (the root included). */
function nodePaths(v: unknown, prefix: Key[] = [], out: Key[][] = []): Key[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x: unknown, i) => nodePaths(x, [...prefix, i], out));
  else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) nodePaths(x, [...prefix, k], out);
  return out;
}

/** A copy of `root` with the node at `path` replaced by `value` (or, with `addKey`, gaining a field). */
function withNode(root: unknown, path: readonly Key[], value: unknown, addKey?: string): unknown {
  const copy: unknown = structuredClone(root);
  const wrapper: Record<Key, unknown> = { root: copy };
  let parent: Record<Key, unknown> = wrapper;
  let key: Key = 'root';
  for (const k of path) {
    parent = parent[key] as Record<Key, unknown>;
    key = k;
  }
  const target = parent[key];
  if (addKey === undefined) parent[key] = value;
  else if (isPlainObject(target)) Object.defineProperty(target, addKey, { value, enumerable: true, writable: true, configurable: true });
  return wrapper.root;
}

/** Arbitrary input, plus the valid config with one node replaced or one field added. */
function configArbitrary(valid: unknown): fc.Arbitrary<unknown> {
  const paths = nodePaths(valid);
  return fc.oneof(
    fc.anything(),
    fc.tuple(fc.constantFrom(...paths), fc.anything()).map(([p, v]) => withNode(valid, p, v)),
    fc.tuple(fc.constantFrom(...paths), fc.string(), fc.anything()).map(([p, k, v]) => withNode(valid, p, v, k)),
  );
}

// ---- the suite -----------------------------------------------------------------------------

export function runFilterConformance(
  name: string,
  validConfig: unknown,
  invalidConfigs: readonly InvalidConfigCase[],
  options: ConformanceOptions = {},
): void {
  const settleTimeoutMs = options.settleTimeoutMs ?? 2000;
  const streams = options.streams ?? 20;

  describe(`filter conformance: ${name}`, () => {
    test('is registered under its name', () => {
      assert.equal(lookup(name).name, name);
    });

    test('decodes the valid config without mutating it', () => {
      const input = structuredClone(validConfig);
      const r = lookup(name).decode(input, BASE);
      assert.ok(r.ok, show(r.ok ? [] : r.errors));
      assert.deepEqual(input, validConfig);
    });

    test('rejects a config that is not an object, at the config path', () => {
      const factory = lookup(name);
      for (const raw of [undefined, null, 0, 42, 'text', true, [], [validConfig]]) {
        const r = factory.decode(raw, BASE);
        assert.ok(!r.ok, `accepted ${JSON.stringify(raw)}`);
        assert.ok(
          r.errors.some((e) => e.path === BASE),
          `${JSON.stringify(raw)}: expected an error at ${BASE}, got:\n${show(r.errors)}`,
        );
      }
    });

    test('reports each invalid config at its field path', () => {
      const factory = lookup(name);
      assert.ok(invalidConfigs.length > 0, 'give the suite at least one invalid config');
      for (const { config, path } of invalidConfigs) {
        const want = under(path);
        const r = factory.decode(config, BASE);
        assert.ok(!r.ok, `accepted ${JSON.stringify(config)}`);
        assert.ok(
          r.errors.some((e) => isAtOrBelow(e.path, want)),
          `${JSON.stringify(config)}: expected an error at ${want}, got:\n${show(r.errors)}`,
        );
        for (const e of r.errors) assert.ok(isAtOrBelow(e.path, BASE), `error outside the config: ${formatFieldError(e)}`);
      }
    });

    test('names an unknown field', () => {
      assert.ok(isPlainObject(validConfig), 'the valid config must be an object');
      const r = lookup(name).decode({ ...validConfig, [UNKNOWN_FIELD]: 1 }, BASE);
      assert.ok(!r.ok, 'accepted an unknown field');
      assert.ok(
        r.errors.some((e) => e.path === `${BASE}.${UNKNOWN_FIELD}`),
        `expected an error at ${BASE}.${UNKNOWN_FIELD}, got:\n${show(r.errors)}`,
      );
    });

    test('decode never throws, and build accepts whatever decode accepts', () => {
      const factory = lookup(name);
      fc.assert(
        fc.property(configArbitrary(validConfig), (raw) => {
          const r = factory.decode(raw, BASE);
          if (r.ok) {
            assert.equal(typeof factory.build(r.value), 'function');
            return;
          }
          assert.ok(Array.isArray(r.errors) && r.errors.length > 0, 'a failed decode must report errors');
          for (const e of r.errors) {
            assert.ok(isAtOrBelow(e.path, BASE), `error outside the config: ${formatFieldError(e)}`);
            assert.ok(typeof e.message === 'string' && e.message.length > 0, 'every error needs a message');
          }
        }),
        { numRuns: 300 },
      );
    });

    test("hooks return 'continue' or 'stop', and a stopped stream is answered exactly once", async () => {
      const factory = lookup(name);
      const r = factory.decode(structuredClone(validConfig), BASE);
      assert.ok(r.ok, show(r.ok ? [] : r.errors));
      const newStream = factory.build(r.value);
      assert.equal(typeof newStream, 'function');
      await Promise.all(Array.from({ length: streams }, () => runStream(newStream(), settleTimeoutMs)));
    });
  });
}
