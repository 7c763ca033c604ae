/**
 * @module cli/verbs/experiment
 * `strata experiment priority`: run the priority experiment (src/experiment/priority.ts) on a
 * testbed of network namespaces and write its result as JSON, a Markdown table and an SVG chart.
 * Needs root, RabbitMQ (scripts/provision.sh) and the repository (the demo app uses amqplib, a
 * devDependency).
 */
import { writeFileSync } from 'node:fs';
import { selectConfigs } from '../../experiment/configs.js';
import { runPriorityExperiment } from '../../experiment/priority.js';
import { markdownTable, svgChart } from '../../experiment/report.js';
import type { Verb } from '../verb.js';

export const experimentVerb: Verb = {
  name: 'experiment',
  summary: 'Run an experiment on a network-namespace testbed (priority: five configurations under overload)',
  usage: 'strata experiment priority [--duration S] [--warmup S] [--out FILE] [--md FILE] [--svg FILE] [--configs a,b] [--repeat N] [--quick] [--keep]',
  options: {
    duration: { type: 'string', default: '20', description: 'seconds measured in each phase (unloaded, loaded) of each configuration' },
    warmup: { type: 'string', default: '5', description: 'seconds of bulk load before the loaded phase is measured' },
    out: { type: 'string', description: 'write the result as JSON to FILE' },
    md: { type: 'string', description: 'write the Markdown table to FILE (it is printed in any case)' },
    svg: { type: 'string', description: 'write the SVG chart to FILE' },
    configs: { type: 'string', description: 'configurations to run: no-mesh, mesh, proxy, proxy-broker, all-layers (default: these five), proxy-kernel (extra: all layers except the broker)' },
    repeat: { type: 'string', default: '1', description: 'rounds of every configuration (interleaved); the table shows the median run of each and the range' },
    quick: { type: 'boolean', description: 'short phases (3 s, warm-up 2 s), for a smoke test' },
    keep: { type: 'boolean', description: 'keep the run directory (sidecar files, logs of every process)' },
  },
  async run({ values, positionals }) {
    const usage = (msg: string): number => {
      process.stderr.write(`strata experiment: ${msg}\n  usage: ${experimentVerb.usage}\n`);
      return 2;
    };
    if (positionals[0] !== 'priority' || positionals.length !== 1) return usage(positionals.length === 0 ? 'name the experiment: priority' : `unknown experiment '${positionals.join(' ')}' (known: priority)`);
    const quick = values['quick'] === true;
    const duration = Number(values['duration'] !== undefined && !quick ? values['duration'] : quick ? 3 : 20);
    const warmup = Number(values['warmup'] !== undefined && !quick ? values['warmup'] : quick ? 2 : 5);
    if (!(duration >= 1 && duration <= 3600)) return usage(`--duration must be 1-3600 seconds, got '${String(values['duration'])}'`);
    if (!(warmup >= 0 && warmup <= 600)) return usage(`--warmup must be 0-600 seconds, got '${String(values['warmup'])}'`);
    const repeat = Number(values['repeat'] ?? 1);
    if (!(Number.isInteger(repeat) && repeat >= 1 && repeat <= 20)) return usage(`--repeat must be an integer 1-20, got '${String(values['repeat'])}'`);
    const selected = selectConfigs(values['configs'] as string | undefined);
    if (!selected.ok) return usage(`--configs: ${selected.error}`);
    if (process.getuid?.() !== 0) {
      process.stderr.write('strata experiment: needs root (it builds network namespaces and qdiscs)\n');
      return 1;
    }
    const command = ['strata', 'experiment', 'priority', ...process.argv.slice(4)].join(' ');
    const result = await runPriorityExperiment({
      configs: selected.value,
      warmupS: warmup,
      durationS: duration,
      repeat,
      command,
      log: (l) => process.stderr.write(`${l}\n`),
      keepDir: values['keep'] === true,
    });
    const md = markdownTable(result);
    process.stdout.write(md);
    if (typeof values['out'] === 'string') writeFileSync(values['out'], `${JSON.stringify(result, null, 2)}\n`);
    if (typeof values['md'] === 'string') writeFileSync(values['md'], md);
    if (typeof values['svg'] === 'string') writeFileSync(values['svg'], svgChart(result));
    return 0;
  },
};
