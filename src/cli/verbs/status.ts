/**
 * @module cli/verbs/status
 * `strata status [-o table|json] [--server URL]`: the control plane's served revision, store
 * health and every connected xDS client with the version it ACKed per type and its last NACK.
 */
import { ApiClient, serverUrl } from '../../control/api/client.js';
import type { StatusReport, XdsClientStatusReport } from '../../control/api/server.js';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE_URL,
  CLUSTER_TYPE_URL,
  LISTENER_TYPE_URL,
  ROUTE_CONFIGURATION_TYPE_URL,
} from '../../xds/protos.js';
import { parseGroup } from '../../control/scope.js';
import type { Verb } from '../verb.js';
import { reportError } from './apply.js';

const FORMATS = ['table', 'json'];
/** The longest NACK reason shown in the table. */
export const NACK_WIDTH = 60;

/** The short type columns of the table, in push order. */
const TYPE_COLUMNS: readonly [string, string][] = [
  ['CDS', CLUSTER_TYPE_URL],
  ['EDS', CLUSTER_LOAD_ASSIGNMENT_TYPE_URL],
  ['LDS', LISTENER_TYPE_URL],
  ['RDS', ROUTE_CONFIGURATION_TYPE_URL],
];

export const statusVerb: Verb = {
  name: 'status',
  summary: 'Show the control plane: store health, served revision and connected xDS clients',
  usage: 'strata status [-o table|json] [--server URL]',
  options: {
    output: { type: 'string', short: 'o', default: 'table', description: 'output format: table or json' },
    server: { type: 'string', description: 'control plane API URL (default: $STRATA_SERVER or http://127.0.0.1:15080)' },
  },
  async run({ values }) {
    const output = (values['output'] as string | undefined) ?? 'table';
    if (!FORMATS.includes(output)) {
      process.stderr.write(`strata status: -o must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(output)}\n`);
      return 2;
    }
    const client = new ApiClient(serverUrl(values['server'] as string | undefined));
    let report: StatusReport;
    try {
      report = await client.status();
    } catch (err) {
      return reportError('status', err);
    }
    if (output === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write(statusTable(report));
    return 0;
  },
};

/** The table form: a header line, then one line per connected xDS client. */
export function statusTable(report: StatusReport): string {
  const { store } = report;
  const head = store.ok
    ? `store ${store.kind} healthy${store.detail ? ` (${store.detail})` : ''}, serving revision ${report.revision}\n`
    : `store ${store.kind} DEGRADED${store.detail ? ` (${store.detail})` : ''}: serving the last configuration read, revision ${report.revision}; changes wait until the store is back\n`;
  if (report.xds === undefined) return `${head}xDS clients: not reported by this server\n`;
  if (report.xds.length === 0) return `${head}No xDS clients connected.\n`;
  const header = ['NODE', 'WORKLOAD', 'KIND', 'SCOPE', 'CONNECTED-SINCE', ...TYPE_COLUMNS.map(([c]) => c), 'LAST-NACK'];
  return head + table([header, ...report.xds.map(row)]);
}

function row(c: XdsClientStatusReport): string[] {
  const acked = TYPE_COLUMNS.map(([, url]) => {
    const t = c.types.find((x) => x.typeUrl === url);
    return t === undefined ? '-' : t.ackedVersion || '…';
  });
  return [c.nodeId, c.workload || '-', c.kind, scope(c.group), c.connectedSince, ...acked, lastNack(c)];
}

/** The part of the mesh a client receives: `mesh`, or the services it depends on. */
function scope(group: string): string {
  const { dependencies } = parseGroup(group);
  if (dependencies === undefined) return 'mesh';
  const deps = dependencies.join(',');
  return deps === '' ? '(none yet)' : deps.length > 40 ? `${deps.slice(0, 39)}…` : deps;
}

function lastNack(c: XdsClientStatusReport): string {
  if (!c.lastNack) return '-';
  const short = TYPE_COLUMNS.find(([, url]) => url === c.lastNack?.typeUrl)?.[0] ?? c.lastNack.typeUrl.slice(c.lastNack.typeUrl.lastIndexOf('.') + 1);
  const text = `${short}: ${c.lastNack.reason.replace(/\s+/g, ' ')}`;
  return text.length > NACK_WIDTH ? `${text.slice(0, NACK_WIDTH - 1)}…` : text;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('   ')).join('\n') + '\n';
}
