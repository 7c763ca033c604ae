/**
 * @module cli/verbs/net
 * `strata net qos --dev DEV --rate RATE [--classes …] [--default NAME] [--netns NS] [--remove]`:
 * an htb root with one class per priority class, selected by SO_PRIORITY (net/qos.ts).
 * `strata net testbed up|down --name N [--hosts N] [--bottleneck RATE]`: the namespace testbed
 * (testbed/testbed.ts) for trying the kernel layer by hand.
 */
import { formatFieldError } from '../../errors.js';
import { DEFAULT_CLASSES, QosError, buildQosPlan, describePlan, installQos, parseClasses, parseRate, removeQos } from '../../net/qos.js';
import { Testbed, deleteNamespaces, testbedNamespaces } from '../../testbed/testbed.js';
import type { Verb } from '../verb.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

async function qos(values: Record<string, unknown>): Promise<number> {
  const dev = str(values['dev']);
  const netns = str(values['netns']);
  const target = netns ? { netns } : {};
  if (!dev) {
    process.stderr.write('strata net qos: --dev DEV is required\n');
    return 2;
  }
  try {
    if (values['remove'] === true) {
      const removed = await removeQos(dev, target);
      process.stdout.write(removed ? `removed the root qdisc of ${dev}${netns ? ` (netns ${netns})` : ''}\n` : `${dev} has no root qdisc of its own; nothing to remove\n`);
      return 0;
    }
    const rateText = str(values['rate']);
    if (!rateText) {
      process.stderr.write('strata net qos: --rate RATE is required (e.g. 100mbit)\n');
      return 2;
    }
    const rate = parseRate(rateText);
    const classes = parseClasses(str(values['classes']) ?? DEFAULT_CLASSES);
    const errors = [...(rate.ok ? [] : rate.errors), ...(classes.ok ? [] : classes.errors)];
    if (!rate.ok || !classes.ok) {
      process.stderr.write(`strata net qos: ${errors.map(formatFieldError).join('; ')}\n`);
      return 2;
    }
    const def = str(values['default']);
    const plan = buildQosPlan({ dev, rateBits: rate.value, classes: classes.value, ...(def && { defaultClass: def }) });
    if (!plan.ok) {
      process.stderr.write(`strata net qos: ${plan.errors.map(formatFieldError).join('; ')}\n`);
      return 2;
    }
    const r = await installQos(plan.value, target);
    process.stdout.write(`${r.replaced ? `replaced the root qdisc ${r.replaced}\n` : ''}installed ${describePlan(plan.value, netns)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof QosError) {
      process.stderr.write(`strata net qos: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function testbed(action: string | undefined, values: Record<string, unknown>): Promise<number> {
  const name = str(values['name']);
  if ((action !== 'up' && action !== 'down') || !name) {
    process.stderr.write('strata net testbed: use `strata net testbed up|down --name NAME`\n');
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('strata net testbed: needs root (network namespaces, veth pairs)\n');
    return 1;
  }
  if (action === 'down') {
    const names = await testbedNamespaces(name);
    await deleteNamespaces(names);
    process.stdout.write(names.length ? `deleted ${names.join(' ')}\n` : `no testbed named ${name}\n`);
    return 0;
  }
  const hosts = Number(str(values['hosts']) ?? '2');
  if (!(Number.isInteger(hosts) && hosts >= 1 && hosts <= 250)) {
    process.stderr.write(`strata net testbed: --hosts must be 1-250, got '${String(values['hosts'])}'\n`);
    return 2;
  }
  const bottleneck = str(values['bottleneck']);
  if (bottleneck && !parseRate(bottleneck).ok) {
    process.stderr.write(`strata net testbed: --bottleneck '${bottleneck}' is not a rate (e.g. 10mbit)\n`);
    return 2;
  }
  if ((await testbedNamespaces(name)).length > 0) {
    process.stderr.write(`strata net testbed: a testbed named ${name} exists; run \`strata net testbed down --name ${name}\` first\n`);
    return 1;
  }
  try {
    const tb = await Testbed.create({ hosts, name, ...(bottleneck && { bottleneck: { host: hosts - 1, rate: bottleneck } }) });
    process.stdout.write(`testbed ${name}: router netns ${tb.router}\n`);
    for (const h of tb.hosts) process.stdout.write(`  ${h.netns}  ${h.dev} ${h.address}/24 via ${h.gateway} (router side ${h.routerDev})\n`);
    if (bottleneck) process.stdout.write(`  bottleneck: htb ${bottleneck} on ${tb.host(hosts - 1).routerDev} in ${tb.router} (traffic into ${tb.host(hosts - 1).netns})\n`);
    process.stdout.write(`run in a host: ip netns exec ${tb.host(0).netns} CMD; remove: strata net testbed down --name ${name}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`strata net testbed: ${(err as Error).message}\n`);
    return 1;
  }
}

export const netVerb: Verb = {
  name: 'net',
  summary: 'Kernel enforcement: htb classes per priority (net qos), a namespace testbed (net testbed)',
  usage:
    'strata net qos --dev DEV --rate RATE [--classes NAME:SHARE[:MINOR],...] [--default NAME] [--netns NS] [--remove]\n' +
    '       strata net testbed up|down --name NAME [--hosts N] [--bottleneck RATE]',
  options: {
    dev: { type: 'string', description: 'qos: the egress device' },
    rate: { type: 'string', description: 'qos: link rate in tc syntax (100mbit, 1gbit, 12mbps = bytes/s)' },
    classes: { type: 'string', description: `qos: classes in rank order, highest first; share of the rate; hex classid minor (default: ${DEFAULT_CLASSES})` },
    default: { type: 'string', description: 'qos: class for unmarked traffic (default: the last)' },
    netns: { type: 'string', description: 'qos: run in this network namespace' },
    remove: { type: 'boolean', description: 'qos: delete the root qdisc instead' },
    name: { type: 'string', description: 'testbed: its name (namespaces NAME-r, NAME-h0, ...)' },
    hosts: { type: 'string', description: 'testbed up: number of hosts (default: 2)' },
    bottleneck: { type: 'string', description: 'testbed up: htb rate on the router link into the last host' },
  },
  async run({ values, positionals }) {
    const [sub, action] = positionals;
    if (sub === 'qos') return qos(values);
    if (sub === 'testbed') return testbed(action, values);
    process.stderr.write(`strata net: the subcommand is qos or testbed${sub ? `, got '${sub}'` : ''}\n`);
    return 2;
  },
};
