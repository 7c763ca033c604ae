/**
 * `strata experiment priority --quick` end to end on a real testbed (namespaces, htb, RabbitMQ,
 * sidecars): the outputs are produced and well-formed — JSON with every measured field, a
 * Markdown row per configuration, an SVG that parses as XML with three bars per configuration.
 * Latency claims are not asserted here: they live in the experiment's own output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rabbitmqSkipReason } from '../src/proxy/amqp/rabbitmq-test-server.js';
import { listNamespaces } from '../src/testbed/testbed.js';
import { alive, interruptAll, ROOT, spawnStrata, STRATA_BIN, waitFor } from './lib/harness.js';

const exec = promisify(execFile);
const skip = process.getuid?.() !== 0 ? 'needs root (network namespaces, qdiscs)' : (rabbitmqSkipReason() ?? false);

/** A small XML well-formedness check: every tag closes in order, one root element. */
function assertWellFormedXml(text: string): void {
  const stack: string[] = [];
  let roots = 0;
  const body = text.replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (close) {
      assert.equal(stack.pop(), name, `closing </${name}> does not match`);
    } else if (!selfClose) {
      if (stack.length === 0) roots += 1;
      stack.push(name as string);
    } else if (stack.length === 0) {
      roots += 1;
    }
  }
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'one root element');
  // Nothing that looks like a tag but did not match the grammar above (unquoted attributes, stray <).
  const tags = body.match(/<[^>]*>/g) ?? [];
  const matched = [...body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g)].length;
  assert.equal(matched, tags.length, 'every tag is well-formed');
}

test('strata experiment priority --quick: JSON, Markdown and SVG for each configuration; testbed torn down', { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'strata-exp-test-'));
  const before = new Set(await listNamespaces());
  try {
    const out = join(dir, 'r.json');
    const md = join(dir, 'r.md');
    const svg = join(dir, 'r.svg');
    const r = await exec(process.execPath, [STRATA_BIN, 'experiment', 'priority', '--quick', '--configs', 'mesh,all-layers', '--out', out, '--md', md, '--svg', svg], {
      cwd: ROOT,
      timeout: 230_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    assert.match(r.stdout, /^\| configuration \|/m);

    const result = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown> & { configs: Record<string, unknown>[]; target: { summary: string } };
    assert.equal(result['experiment'], 'priority');
    assert.ok(!Number.isNaN(Date.parse(String(result['date']))));
    assert.deepEqual(result.configs.map((c) => c['id']), ['mesh', 'all-layers']);
    for (const c of result.configs) {
      assert.equal(typeof c['label'], 'string');
      assert.equal(typeof c['lsP99Ratio'], 'number');
      assert.equal(typeof c['bottleneck'], 'string');
      for (const phase of ['unloaded', 'loaded'] as const) {
        const p = c[phase] as Record<string, Record<string, unknown>>;
        for (const cls of ['latencySensitive', 'bulk'] as const) {
          for (const k of ['sent', 'ok', 'shed', 'errors', 'throughput', 'p50', 'p99', 'p999', 'max', 'mean']) {
            assert.equal(typeof p[cls]?.[k], 'number', `${String(c['id'])}.${phase}.${cls}.${k}`);
          }
        }
        assert.ok((p['latencySensitive']?.['ok'] as number) > 0, `${String(c['id'])} ${phase}: some latency-sensitive request succeeded`);
      }
      assert.ok(((c['loaded'] as Record<string, Record<string, number>>)['bulk']?.['ok'] ?? 0) > 0, 'bulk load ran');
    }
    assert.match(result.target.summary, /target (met|missed)/);

    const table = readFileSync(md, 'utf8');
    const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| configuration') && !l.startsWith('| ---'));
    assert.equal(rows.length, 2, table);
    assert.match(rows[0] ?? '', /^\| mesh, priority off \|/);
    assert.match(rows[1] ?? '', /^\| all layers \|/);

    const chart = readFileSync(svg, 'utf8');
    assertWellFormedXml(chart);
    assert.match(chart, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((chart.match(/<rect class="bar"/g) ?? []).length, 6, 'LS p99 unloaded + loaded + bulk throughput per configuration');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const left = (await listNamespaces()).filter((n) => !before.has(n) && /^st-\d+-\d+-(r|h\d+)$/.test(n));
    assert.deepEqual(left, [], 'the testbed is torn down');
  }
});

test('strata experiment: bad arguments are refused with exit 2, naming the option', async () => {
  const cases: [string[], RegExp][] = [
    [[], /name the experiment: priority/],
    [['nope'], /unknown experiment 'nope' \(known: priority\)/],
    [['priority', '--duration', '0'], /--duration must be 1-3600 seconds, got '0'/],
    [['priority', '--warmup', 'x'], /--warmup must be 0-600 seconds, got 'x'/],
    [['priority', '--repeat', '0'], /--repeat must be an integer 1-20, got '0'/],
    [['priority', '--repeat', '1.5'], /--repeat must be an integer 1-20, got '1.5'/],
    [['priority', '--configs', 'mesh,nope'], /--configs: unknown configuration 'nope'/],
  ];
  for (const [args, message] of cases) {
    const r = await exec(process.execPath, [STRATA_BIN, 'experiment', ...args], { cwd: ROOT }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code?: number; stderr?: string }) => ({ code: e.code ?? -1, stderr: e.stderr ?? '' }),
    );
    assert.equal(r.code, 2, `${args.join(' ')}: exit code`);
    assert.match(r.stderr, message, args.join(' '));
  }
});

/** PIDs of processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

test('strata experiment priority: Ctrl-C tears the testbed, the broker and every process down, exit 130', { skip, timeout: 240_000 }, async () => {
  const before = new Set(await listNamespaces());
  const run = spawnStrata(['experiment', 'priority', '--quick', '--configs', 'mesh']);
  try {
    // Interrupted once the configuration's sidecars and apps run (its warm-up has answered).
    const started = await waitFor('the broker and the configuration running', () => {
      if (run.proc.exitCode !== null) throw new Error(`experiment exited ${run.proc.exitCode}:\n${run.out()}`);
      const broker = /RabbitMQ in \S+ on 127\.0\.0\.1:\d+, pid (\d+); run directory (\S+)/.exec(run.out());
      return broker && /warm-up: LS \d+ ok/.test(run.out()) ? { pid: Number(broker[1]), dir: broker[2] as string } : undefined;
    }, 200_000, 100);
    run.proc.kill('SIGINT');
    assert.equal(await run.exited, 130, run.out());
    assert.match(run.out(), /SIGINT: stopping; tearing the testbed and the broker down/);
    const left = (await listNamespaces()).filter((n) => !before.has(n) && /^st-\d+-\d+-(r|h\d+)$/.test(n));
    assert.deepEqual(left, [], 'no namespace left');
    assert.equal(alive(started.pid), false, 'the broker is stopped');
    assert.deepEqual(processesMentioning(started.dir), [], 'no sidecar or app of the run is left');
    assert.equal(existsSync(started.dir), false, 'the run directory is removed');
  } finally {
    await interruptAll([run], 30_000);
  }
});
