/**
 * @module net/qos
 * An htb root qdisc with one class per priority class, so that a socket's SO_PRIORITY picks its
 * class in the kernel without any filter: htb_classify() first looks up the class whose classid
 * equals skb->priority (which TCP copies from sk_priority), and only then runs filters and the
 * default class. A class `1:10` (tc writes minors in hex) is therefore selected by
 * SO_PRIORITY = 0x00010010 = 65552 — a value above 6, which needs CAP_NET_ADMIN.
 *
 * Pure builders (`parseRate`, `parseClasses`, `buildQosPlan`) produce the tc argument lists;
 * `installQos` / `removeQos` run them (in a network namespace with `tc -n NAME`).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Decoded, FieldError } from '../errors.js';
import { fail, ok } from '../errors.js';

const run = promisify(execFile);

/** The qdisc handle major (`1:`); class ids are `1:<minor>`. */
export const QOS_MAJOR = 1;
/** The parent class `1:1` at the full rate; the priority classes are its children. */
export const PARENT_MINOR = 1;
export const DEFAULT_CLASSES = 'high:0.5:10,normal:0.3:20,low:0.2:30';
const MAX_QUANTUM = 200_000;
const MIN_QUANTUM = 1514;

export interface QosClass {
  name: string;
  /** Fraction of the rate guaranteed to the class (rate = share × RATE; ceil = RATE). */
  share: number;
  /** tc classid minor (tc notation is hex: minor 0x10 is written `1:10`). */
  minor: number;
}

export interface QosSpec {
  dev: string;
  /** Link rate in bit/s. */
  rateBits: number;
  /** In rank order: the first is the highest (htb prio 0). */
  classes: QosClass[];
  /** Class that unmarked traffic goes to (default: the last, lowest ranked). */
  defaultClass?: string;
}

export interface PlannedClass {
  name: string;
  classid: string;
  /** The SO_PRIORITY that selects this class: (major << 16) | minor. */
  soPriority: number;
  rateBits: number;
  ceilBits: number;
  prio: number;
  quantum: number;
  isDefault: boolean;
}

export interface QosPlan {
  dev: string;
  rateBits: number;
  classes: PlannedClass[];
  /** tc argument lists, in order (without the `tc` itself). */
  commands: string[][];
}

/** SO_PRIORITY value that makes htb (handle major:) pick the class major:minor. */
export function classPriority(minor: number, major = QOS_MAJOR): number {
  return ((major & 0xffff) * 0x10000 + (minor & 0xffff)) >>> 0;
}

const hex = (n: number): string => n.toString(16);

const RATE_UNITS: Record<string, number> = {
  '': 1,
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  kibit: 1024,
  mibit: 1024 ** 2,
  gibit: 1024 ** 3,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
};

/** tc rate syntax → bit/s: `100mbit`, `1gbit`, `500kbit`, `12mbps` (bytes!), bare number = bit/s. */
export function parseRate(text: string, path = '--rate'): Decoded<number> {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m?.[2]?.toLowerCase() ?? '';
  const factor = RATE_UNITS[unit];
  if (!m || factor === undefined) {
    return fail([{ path, message: `'${text}' is not a rate: use a number with bit, kbit, mbit, gbit (bits/s) or bps, kbps, mbps, gbps (bytes/s), e.g. 100mbit` }]);
  }
  const bits = Math.round(Number(m[1]) * factor);
  if (!(bits >= 8 && bits <= 2 ** 53)) return fail([{ path, message: `'${text}' is out of range (8bit to many tbit)` }]);
  return ok(bits);
}

export function formatRate(bits: number): string {
  for (const [unit, f] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) {
    if (bits >= f && bits % f === 0) return `${bits / f}${unit}`;
  }
  return `${bits}bit`;
}

/**
 * `name:share[:minor],…` in rank order (highest first); minor in hex as tc writes it
 * (default 10, 20, 30… by position). Shares are fractions (0.5) or percentages (50%).
 */
export function parseClasses(text: string, path = '--classes'): Decoded<QosClass[]> {
  const errors: FieldError[] = [];
  const out: QosClass[] = [];
  const indexOf: number[] = [];
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) return fail([{ path, message: 'at least one class is needed, e.g. high:0.5,normal:0.3,low:0.2' }]);
  items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    const [name, shareText, minorText, ...rest] = item.split(':');
    if (!name || shareText === undefined || rest.length > 0 || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      errors.push({ path: at, message: `'${item}' is not name:share[:minor] (e.g. high:0.5:10)` });
      return;
    }
    const pct = shareText.endsWith('%');
    const share = Number(pct ? shareText.slice(0, -1) : shareText) / (pct ? 100 : 1);
    if (!(share > 0 && share <= 1)) errors.push({ path: `${at}.share`, message: `must be a fraction in (0, 1] or a percentage, got '${shareText}'` });
    const minor = minorText === undefined ? 0x10 * (i + 1) : /^(0x)?[0-9a-f]{1,4}$/i.test(minorText) ? parseInt(minorText.replace(/^0x/i, ''), 16) : NaN;
    if (!(minor >= 2 && minor <= 0xffff)) {
      errors.push({ path: `${at}.minor`, message: `must be a hex class minor 2-ffff (1 is the parent class), got '${minorText ?? ''}'` });
    }
    out.push({ name, share, minor });
    indexOf.push(i);
  });
  const names = new Set<string>();
  const minors = new Map<number, string>();
  out.forEach((c, j) => {
    const at = `${path}[${indexOf[j]}]`;
    if (names.has(c.name)) errors.push({ path: at, message: `class '${c.name}' is listed twice` });
    const owner = minors.get(c.minor);
    if (owner !== undefined && Number.isFinite(c.minor)) errors.push({ path: `${at}.minor`, message: `minor ${hex(c.minor)} is already used by '${owner}'` });
    names.add(c.name);
    if (!minors.has(c.minor)) minors.set(c.minor, c.name);
  });
  const total = out.reduce((s, c) => s + (Number.isFinite(c.share) ? c.share : 0), 0);
  if (total > 1 + 1e-9) errors.push({ path, message: `the shares add up to ${+total.toFixed(4)}, more than 1` });
  return errors.length > 0 ? fail(errors) : ok(out);
}

function quantumFor(rateBits: number): number {
  return Math.max(MIN_QUANTUM, Math.min(MAX_QUANTUM, Math.floor(rateBits / 8 / 10)));
}

/** The tc commands for a spec (pure). */
export function buildQosPlan(spec: QosSpec): Decoded<QosPlan> {
  if (!/^[A-Za-z0-9_.@:-]{1,15}$/.test(spec.dev)) return fail([{ path: '--dev', message: `'${spec.dev}' is not an interface name (1-15 characters)` }]);
  if (spec.classes.length === 0) return fail([{ path: '--classes', message: 'at least one class is needed' }]);
  const defaultName = spec.defaultClass ?? spec.classes[spec.classes.length - 1]?.name;
  const def = spec.classes.find((c) => c.name === defaultName);
  if (!def) return fail([{ path: '--default', message: `'${defaultName ?? ''}' is not one of the classes (${spec.classes.map((c) => c.name).join(', ')})` }]);
  const root = `${QOS_MAJOR}:`;
  const parent = `${QOS_MAJOR}:${hex(PARENT_MINOR)}`;
  const rate = `${spec.rateBits}bit`;
  const commands: string[][] = [
    ['qdisc', 'add', 'dev', spec.dev, 'root', 'handle', root, 'htb', 'default', hex(def.minor)],
    ['class', 'add', 'dev', spec.dev, 'parent', root, 'classid', parent, 'htb', 'rate', rate, 'ceil', rate, 'quantum', String(quantumFor(spec.rateBits))],
  ];
  const classes: PlannedClass[] = spec.classes.map((c, rank) => {
    const rateBits = Math.max(8, Math.floor(c.share * spec.rateBits));
    const classid = `${QOS_MAJOR}:${hex(c.minor)}`;
    const quantum = quantumFor(rateBits);
    commands.push(['class', 'add', 'dev', spec.dev, 'parent', parent, 'classid', classid, 'htb', 'rate', `${rateBits}bit`, 'ceil', rate, 'prio', String(Math.min(rank, 7)), 'quantum', String(quantum)]);
    return { name: c.name, classid, soPriority: classPriority(c.minor), rateBits, ceilBits: spec.rateBits, prio: Math.min(rank, 7), quantum, isDefault: c === def };
  });
  return ok({ dev: spec.dev, rateBits: spec.rateBits, classes, commands });
}

export function removeCommands(dev: string): string[][] {
  return [['qdisc', 'del', 'dev', dev, 'root']];
}

/** Human-readable summary of a plan (what the CLI prints). */
export function describePlan(plan: QosPlan, netns?: string): string {
  const def = plan.classes.find((c) => c.isDefault);
  const rows = [['class', 'classid', 'rate', 'ceil', 'prio', 'SO_PRIORITY']];
  for (const c of plan.classes) {
    rows.push([c.name + (c.isDefault ? ' (default)' : ''), c.classid, formatRate(c.rateBits), formatRate(c.ceilBits), String(c.prio), `${c.soPriority} (0x${hex(c.soPriority)})`]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [
    `htb root ${QOS_MAJOR}: on ${plan.dev}${netns ? ` (netns ${netns})` : ''} at ${formatRate(plan.rateBits)}, parent class ${QOS_MAJOR}:${hex(PARENT_MINOR)}, unmarked traffic → ${def?.name} (${def?.classid})`,
    ...rows.map((r) => '  ' + r.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()),
    'a socket selects a class with SO_PRIORITY = the value shown (needs CAP_NET_ADMIN: it is above 6)',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// executor

export class QosError extends Error {
  constructor(
    readonly code: 'STRATA_QOS_NOT_ROOT' | 'STRATA_QOS_NO_DEVICE' | 'STRATA_QOS_NO_TC' | 'STRATA_QOS_TC_FAILED',
    message: string,
  ) {
    super(message);
    this.name = 'QosError';
  }
}

export interface TcTarget {
  /** Run in this network namespace (`tc -n NAME`, `ip -n NAME`). */
  netns?: string;
}

const nsArgs = (t: TcTarget): string[] => (t.netns ? ['-n', t.netns] : []);

async function tc(args: string[], t: TcTarget): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run('tc', [...nsArgs(t), ...args], { encoding: 'utf8' });
  } catch (err) {
    const e = err as { code?: string | number; stderr?: string };
    if (e.code === 'ENOENT') throw new QosError('STRATA_QOS_NO_TC', 'tc not found: install iproute2 (apt-get install iproute2)');
    throw new QosError('STRATA_QOS_TC_FAILED', `tc ${[...nsArgs(t), ...args].join(' ')} failed: ${(e.stderr ?? String(err)).trim()}`);
  }
}

async function preflight(dev: string, t: TcTarget): Promise<void> {
  if (process.getuid?.() !== 0) throw new QosError('STRATA_QOS_NOT_ROOT', 'changing qdiscs needs root (or CAP_NET_ADMIN): run with sudo');
  try {
    await run('ip', [...nsArgs(t), 'link', 'show', 'dev', dev], { encoding: 'utf8' });
  } catch (err) {
    const e = err as { code?: string | number; stderr?: string };
    if (e.code === 'ENOENT') throw new QosError('STRATA_QOS_NO_TC', 'ip not found: install iproute2 (apt-get install iproute2)');
    throw new QosError('STRATA_QOS_NO_DEVICE', `device '${dev}' does not exist${t.netns ? ` in netns ${t.netns}` : ''}: ${(e.stderr ?? '').trim()}`);
  }
}

/** The current root qdisc of a device (`noqueue`, `htb 1:`, …), or undefined. */
export async function rootQdisc(dev: string, t: TcTarget = {}): Promise<string | undefined> {
  const { stdout } = await tc(['qdisc', 'show', 'dev', dev, 'root'], t);
  const m = /^qdisc (\S+) (\S+)/m.exec(stdout);
  return m ? `${m[1]} ${m[2]}` : undefined;
}

const BUILTIN_ROOTS = /^(noqueue|pfifo_fast|mq|noop) /;

/** Install the plan (replacing any non-default root qdisc); returns what it replaced, if anything. */
export async function installQos(plan: QosPlan, t: TcTarget = {}): Promise<{ replaced?: string }> {
  await preflight(plan.dev, t);
  const current = await rootQdisc(plan.dev, t);
  let replaced: string | undefined;
  if (current !== undefined && !BUILTIN_ROOTS.test(`${current} `)) {
    await tc(removeCommands(plan.dev)[0]!, t);
    replaced = current;
  }
  try {
    for (const args of plan.commands) await tc(args, t);
  } catch (err) {
    await tc(removeCommands(plan.dev)[0]!, t).catch(() => undefined);
    throw err;
  }
  return replaced ? { replaced } : {};
}

/** Delete the root qdisc (the device returns to its default); false when there was none to delete. */
export async function removeQos(dev: string, t: TcTarget = {}): Promise<boolean> {
  await preflight(dev, t);
  const current = await rootQdisc(dev, t);
  if (current === undefined || BUILTIN_ROOTS.test(`${current} `)) return false;
  await tc(removeCommands(dev)[0]!, t);
  return true;
}

export interface ClassCounters {
  classid: string;
  bytes: number;
  packets: number;
}

/** `tc -s class show dev DEV`, parsed: bytes and packets sent per class. */
export async function classCounters(dev: string, t: TcTarget = {}): Promise<ClassCounters[]> {
  const { stdout } = await tc(['-s', 'class', 'show', 'dev', dev], t);
  return parseClassStats(stdout);
}

export function parseClassStats(text: string): ClassCounters[] {
  const out: ClassCounters[] = [];
  const re = /^class \S+ (\S+)[^\n]*\n\s*Sent (\d+) bytes (\d+) pkt/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push({ classid: m[1]!, bytes: Number(m[2]), packets: Number(m[3]) });
  return out;
}
