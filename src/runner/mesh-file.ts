/**
 * @module runner/mesh-file
 * `mesh.yaml`, the file `strata up -f` runs: the control plane's ports and data directory,
 * the Strata resources to apply (inline or from files) and the workloads to start, each with
 * its own sidecar. Decoding is pure and reports every problem with its field path
 * (`workloads[1].port: must be between 1 and 65535`); unknown fields are errors.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { LineCounter, parseAllDocuments } from 'yaml';
import { fail, ok } from '../errors.js';
import type { Decoded, FieldError } from '../errors.js';
import { fieldPath, indexPath, isRecord } from '../config/field-path.js';
import { AppProtocolSchema, Closed, HostName, Name, Port } from '../config/kinds/common.js';
import { validateResource } from '../config/resources.js';
import type { Resource } from '../config/resources.js';
import { schemaErrors } from '../config/schema-errors.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const ControlSchema = Type.Object(
  {
    apiPort: Type.Optional(Port('REST API port of the control plane (default 15080).')),
    xdsPort: Type.Optional(Port('ADS port of the control plane (default 15010).')),
    dataDir: Type.Optional(Type.String({ minLength: 1, description: 'SQLite data directory, relative to the mesh file (default: a temporary one).' })),
  },
  Closed,
);

const CommandSchema = Type.Union([
  Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'argv: run without a shell.' }),
  Type.String({ minLength: 1, description: 'A shell command line.' }),
]);

const WorkloadSchema = Type.Object(
  {
    service: Name('The service this workload serves (its endpoints register under this name).'),
    port: Port('The application port (PORT in its environment); replica i listens on port + i.'),
    command: CommandSchema,
    cwd: Type.Optional(Type.String({ minLength: 1, description: 'Working directory, relative to the mesh file.' })),
    env: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Extra environment of the app (names checked apart).' })),
    replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 20, default: 1 })),
    protocol: Type.Optional(AppProtocolSchema({ description: 'What the application speaks (default http).' })),
    dependencies: Type.Optional(Type.Array(HostName('A service this workload calls.'))),
    inboundPort: Type.Optional(Port('Sidecar inbound port (default: a free port); replica i gets + i.')),
    proxyPort: Type.Optional(Port('Sidecar outbound proxy port, HTTP_PROXY (default: a free port); replica i gets + i.')),
    adminPort: Type.Optional(Port('Sidecar admin port (default: a free port); replica i gets + i.')),
    metadata: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { description: 'Extra endpoint metadata (weight, locality…).' })),
  },
  Closed,
);

export const MeshFileSchema = Type.Object(
  {
    control: Type.Optional(ControlSchema),
    resources: Type.Optional(Type.Array(Type.Unknown(), { description: 'Strata resources (Service, Route, TrafficPolicy) applied before the workloads start.' })),
    apply: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Resource files or directories to apply, relative to the mesh file.' })),
    workloads: Type.Array(WorkloadSchema, { minItems: 1 }),
  },
  Closed,
);

export type WorkloadEntry = Static<typeof WorkloadSchema>;

/** A decoded mesh file; `resources` are validated Strata resources. */
export interface MeshFile {
  control: { apiPort?: number; xdsPort?: number; dataDir?: string };
  resources: Resource[];
  /** The resources as written (what is sent to the control plane). */
  rawResources: unknown[];
  apply: string[];
  workloads: WorkloadEntry[];
}

/** Decode and validate mesh.yaml text; every error carries `source` and its field path. */
export function decodeMeshFile(text: string, source: string): Decoded<MeshFile> {
  const lineCounter = new LineCounter();
  let value: unknown;
  try {
    const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    if (!Array.isArray(docs) || docs.length === 0) return fail([{ source, path: '', message: 'the file is empty; expected a mapping with workloads' }]);
    if (docs.length > 1) return fail([{ source, path: '', message: 'expected one YAML document, found several (put resources under `resources:`)' }]);
    const doc = docs[0]!;
    if (doc.errors.length > 0) {
      return fail(
        doc.errors.slice(0, 10).map((e) => {
          const { line, col } = lineCounter.linePos(e.pos[0]);
          return { source, path: '', message: `YAML syntax error at ${line}:${col}: ${e.message}` };
        }),
      );
    }
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    return fail([{ source, path: '', message: `cannot parse: ${(err as Error).message}` }]);
  }
  return validateMeshFile(value, source);
}

/** Validate an already-parsed mesh file value (the demo builds one in code). */
export function validateMeshFile(value: unknown, source: string): Decoded<MeshFile> {
  if (!isRecord(value)) return fail([{ source, path: '', message: 'expected a mapping with workloads (and optionally control, resources, apply)' }]);
  const errors: FieldError[] = schemaErrors(MeshFileSchema, value, '').map((e) =>
    /^workloads\[\d+\]\.command$/.test(e.path) && e.message.startsWith('does not match')
      ? { source, path: e.path, message: 'must be a non-empty list of strings (argv, run without a shell) or a command line (run by a shell)' }
      : { source, ...e },
  );
  const workloads = value['workloads'];
  if (Array.isArray(workloads)) {
    workloads.forEach((w, i) => {
      const env = isRecord(w) ? w['env'] : undefined;
      if (!isRecord(env)) return;
      for (const key of Object.keys(env)) {
        if (!ENV_NAME.test(key)) errors.push({ source, path: fieldPath(fieldPath(indexPath('workloads', i), 'env'), key), message: 'must be an environment variable name (letters, digits, _)' });
      }
    });
  }
  const resources: Resource[] = [];
  const raw = value['resources'];
  if (Array.isArray(raw)) {
    raw.forEach((doc, i) => {
      const base = indexPath('resources', i);
      const r = validateResource(doc, base);
      for (const e of r.errors) errors.push({ source, path: e.path ? `${base}.${e.path}` : base, message: e.message });
      if (r.resource) resources.push(r.resource);
    });
  }
  if (errors.length > 0) return fail(errors);
  const file = value as Static<typeof MeshFileSchema>;
  errors.push(...portConflicts(file).map((e) => ({ source, ...e })));
  if (errors.length > 0) return fail(errors);
  return ok({ control: file.control ?? {}, resources, rawResources: file.resources ?? [], apply: file.apply ?? [], workloads: file.workloads });
}

/** Fixed ports that two workloads (or replicas, or the control plane) would both listen on. */
function portConflicts(file: Static<typeof MeshFileSchema>): FieldError[] {
  const errors: FieldError[] = [];
  const owner = new Map<number, string>();
  const claim = (port: number, path: string): void => {
    const first = owner.get(port);
    if (first !== undefined) errors.push({ path, message: `port ${port} is already used by ${first}` });
    else owner.set(port, path);
  };
  if (file.control?.apiPort !== undefined) claim(file.control.apiPort, 'control.apiPort');
  if (file.control?.xdsPort !== undefined) claim(file.control.xdsPort, 'control.xdsPort');
  file.workloads.forEach((w, i) => {
    const base = indexPath('workloads', i);
    const replicas = w.replicas ?? 1;
    for (const key of ['port', 'inboundPort', 'proxyPort', 'adminPort'] as const) {
      const first = w[key];
      if (first === undefined) continue;
      if (first + replicas - 1 > 65535) {
        errors.push({ path: fieldPath(base, key), message: `${replicas} replicas need ports ${first}..${first + replicas - 1}, beyond 65535` });
        continue;
      }
      for (let r = 0; r < replicas; r++) claim(first + r, `${fieldPath(base, key)}${replicas > 1 ? ` (replica ${r})` : ''}`);
    }
  });
  return errors;
}
