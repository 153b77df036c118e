/**
 * `lmc quickstart` (what `npm start` runs): LeNet-300-100 on the embedded MNIST digits at quick
 * scale, instability at a few k and IMP with rewinding to 3.5% density with both baselines, every
 * training a cached unit of the store, then one offline HTML report with the three figures and
 * the tables behind them. A second run finds every unit in the store and only redraws the report.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendInfo } from '../backend';
import type { Dataset } from '../data/types';
import {
  FLAG_LIMITS,
  listFlag,
  OUTPUT_OPTIONS,
  scaleFrom,
  scaleOption,
  wholeNumberFlag,
  startCommand,
} from './config-flags';
import {
  experimentContext,
  quickstartCalls,
  quickstartPlan,
  runQuickstart,
  type QuickstartResults,
  type UnitEvent,
} from '../experiments';
import { CLUSTER_OPTIONS, clusterFromFlags, submitGraph } from './cluster-flags';
import { exportTable, TABLE_FORMATS, type TableFormat } from '../store';
import {
  accuracyDensityPlot,
  figureToHtmlPage,
  instabilityPlot,
  interpolationPlot,
  tableView,
  type PageSection,
} from '../display';
import { formatSeconds, terminalProgress } from './progress';
import { unitCounter, type UnitCounts } from './unit-counts';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';
import { SCALES } from '../train/config';

/** A default of the quick start's plan at each scale, as help says it (quickstartPlan decides it). */
const planDefault = (pick: (plan: ReturnType<typeof quickstartPlan>) => number | number[]) =>
  SCALES.map((scale) => `${String(pick(quickstartPlan(scale)))} at ${scale} scale`).join(', ');

/** The options of `lmc quickstart`: what it parses and what its help lists. */
export const QUICKSTART_OPTIONS = {
  scale: scaleOption('quick'),
  out: {
    type: 'string',
    value: '<folder>',
    description: 'where the report and tables go',
    defaultText: 'out/quickstart',
  },
  export: {
    type: 'string',
    value: '<formats>',
    description: `table formats, comma-separated (${TABLE_FORMATS.join(',')}), or none`,
    defaultText: 'all of them',
  },
  k: {
    type: 'string',
    value: '<steps>',
    description: 'instability at these k, in iterations, comma-separated',
    defaultText: planDefault((plan) => plan.instability.ks),
  },
  levels: {
    type: 'string',
    value: '<N>',
    description: 'rounds of IMP (15 reach 3.5% density)',
    defaultText: planDefault((plan) => plan.imp.levels),
  },
  'baseline-every': {
    type: 'string',
    value: '<N>',
    description: 'baselines at every N-th level and the last',
    defaultText: '3 at quick scale, 1 at smoke and paper scale',
  },
  ...CLUSTER_OPTIONS,
  ...OUTPUT_OPTIONS,
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help quickstart`. */
export const QUICKSTART_HELP = formatHelp({
  usage: ['lmc quickstart [options]'],
  about: `LeNet-300-100 on the embedded MNIST digits with the best backend present: instability at a few
k, and IMP with rewinding to 3.5% density with random pruning and random reinitialization. Every
training is a unit of the store ($LMC_HOME/store): a second run trains nothing. Writes
<out>/report.html (one offline page) and the result tables.

At quick scale it takes about 10 minutes on 2 cores (under a minute again); smoke takes seconds,
paper hours. \`npm start\` runs it at quick scale.`,
  options: QUICKSTART_OPTIONS,
});

/** Runs `lmc quickstart`; resolves to the exit code. */
export async function quickstartCommand(args: string[]): Promise<number> {
  const started = performance.now();
  const { values } = parseArgs({
    args,
    strict: true,
    options: parserOptions(QUICKSTART_OPTIONS),
  });
  if (values.help) {
    console.log(QUICKSTART_HELP);
    return 0;
  }
  const scale = scaleFrom(values.scale, 'quick');
  const formats = parseFormats(values.export);
  const plan = quickstartPlan(scale, {
    ks:
      values.k === undefined
        ? undefined
        : listFlag('--k', values.k, FLAG_LIMITS.kValues, 'values of k').map((s) =>
            wholeNumberFlag('--k', s, 0, FLAG_LIMITS.steps),
          ),
    levels: values.levels === undefined ? undefined : wholeNumberFlag('--levels', values.levels, 0, FLAG_LIMITS.levels),
    baselineEvery:
      values['baseline-every'] === undefined
        ? undefined
        : wholeNumberFlag('--baseline-every', values['baseline-every'], 1, FLAG_LIMITS.baselineEvery),
  });
  const out = path.resolve(values.out ?? path.join('out', 'quickstart'));
  // The report's folder is made before any training, so a path that cannot hold it fails now, not after an hour.
  makeOutputFolder(out);
  let log = (_line: string): void => undefined;
  const cluster = clusterFromFlags(values, ['lmc quickstart', ...args].join(' '), (line) => log(line));
  const start = await startCommand(plan.config, values.json);
  const { backend, dataset } = start;
  log = start.log;
  log(
    `plan (${scale} scale, T = ${plan.config.training}): instability at k = ${plan.instability.ks.join(', ')} ` +
      `(${plan.instability.inits} init x ${plan.instability.pairs} pair); ` +
      `IMP rewound to k = ${plan.imp.k}, ${plan.imp.levels} levels, ` +
      `baselines at levels ${plan.imp.baselineLevels.join(', ')}`,
  );

  const counter = unitCounter();
  const ctx = experimentContext({
    dataset,
    executor: cluster?.executor,
    callbacks: values.quiet || values.json ? undefined : (run) => [terminalProgress(run.label)],
    onUnit: (event: UnitEvent) => {
      counter.see(event);
      if (event.type === 'train') {
        if (event.via === 'checkpoint') log(`resuming ${event.label} from its checkpoint at step ${event.from}`);
        if (event.via === 'shorter-trunk')
          log(`continuing ${event.label} from the finished trunk at step ${event.from}`);
      }
      if (event.type === 'start' && event.kind === 'instability-pair') log(`interpolating ${event.label}`);
    },
  });
  log(`store: ${ctx.store.root}`);
  if (cluster && (await submitGraph(ctx, cluster, await quickstartCalls(ctx, plan), log, values.json))) return 0;
  const results = await runQuickstart(ctx, plan);
  const seconds = (performance.now() - started) / 1000;

  const reportFile = path.join(out, 'report.html');
  const counts = counter.counts();
  fs.writeFileSync(reportFile, quickstartReport(results, { dataset, backend, seconds, counts }));
  const exported: string[] = [];
  for (const [name, table] of Object.entries(resultTables(results))) {
    if (formats.length > 0) exported.push(...(await exportTable(table, path.join(out, name), formats)));
  }
  const summary = quickstartSummary(results);
  const totalSeconds = (performance.now() - started) / 1000;
  if (values.json) {
    console.log(
      JSON.stringify({
        report: reportFile,
        exported,
        scale,
        dataset: dataset.description,
        backend: backend.name,
        device: backend.device,
        store: ctx.store.root,
        units: counts,
        seconds: totalSeconds,
        ...summary,
      }),
    );
    return 0;
  }
  for (const s of summary.instability)
    log(`instability at k = ${s.k}: test ${pp(s.test)}, train ${pp(s.train)} (test accuracy ${pct(s.testAccuracy)})`);
  const last = summary.imp[summary.imp.length - 1];
  if (last) {
    log(
      `IMP at ${pct(last.density)} density: ${pct(last.imp)} test accuracy; ` +
        `random pruning ${pct(last.randomPrune)}, random reinit ${pct(last.randomReinit)}; ` +
        `dense ${pct(summary.imp[0].imp)}`,
    );
  }
  log(
    `${counts.computed} units computed (${counts.trainings} trainings), ${counts.fromStore} from the store; ` +
      `${formatSeconds(totalSeconds)} in all`,
  );
  if (exported.length > 0) log(`tables: ${path.join(out, '*')} (${formats.join(', ')})`);
  log(`report: ${reportFile}`);
  return 0;
}

/** The numbers the terminal prints: instability per k, accuracies per IMP level. */
export function quickstartSummary(results: QuickstartResults) {
  const instability = results.instability.summary.map((s) => ({
    k: s.k,
    test: s.instability.test?.mean ?? null,
    train: s.instability.train?.mean ?? null,
    testAccuracy: s.accuracy.test?.mean ?? null,
  }));
  const imp = results.imp.levels.map((l) => ({
    level: l.level.level,
    density: l.level.summary.density,
    imp: l.level.summary.testAccuracy,
    randomPrune: l.randomPrune?.summary.testAccuracy ?? null,
    randomReinit: l.randomReinit?.summary.testAccuracy ?? null,
  }));
  return { instability, imp };
}

/** The tables behind the figures, by file name. */
export function resultTables(results: QuickstartResults) {
  return {
    'instability-curves': results.instability.table,
    'instability-pairs': results.instability.pairs,
    imp: results.imp.table,
  };
}

/** What the report says about how it was made. */
export interface ReportMeta {
  dataset: Dataset;
  backend: BackendInfo;
  seconds: number;
  counts: UnitCounts;
}

/** The report: one offline HTML page (plotly.js embedded once) with three figures and their tables. */
export function quickstartReport(results: QuickstartResults, meta: ReportMeta): string {
  const { plan } = results;
  const c = plan.config;
  const setting =
    `LeNet-300-100 on ${meta.dataset.description}, ${plan.scale} scale (T = ${c.training}, batch ${c.batchSize}, ` +
    `${c.optimizer} lr ${c.lr})`;
  const reps = `${plan.instability.inits} initialization x ${plan.instability.pairs} pair per k`;
  const curves = results.instability.table;
  const pairs = results.instability.pairs;
  const imp = results.imp.table;
  const dense = results.imp.levels[0]?.level.summary.testAccuracy;
  const density = (imp.objects() as Record<string, unknown>[]).map((r) => ({
    density: r.density,
    accuracy: r.testAccuracy,
    method: r.method,
    run: r.run,
  }));
  const sections: PageSection[] = [
    {
      title: 'Error along the linear path',
      text:
        `Test and train error of alpha W1 + (1 - alpha) W2, where W1 and W2 are two copies trained from W_k to T ` +
        `under different data orders (${plan.instability.alphas} alphas). ${setting}; ${reps}.`,
      items: [interpolationPlot(curves, { seriesBy: 'k' })],
    },
    {
      title: 'Instability against k',
      text:
        `Instability = highest error along the path minus the mean error of its two ends, ` +
        `for copies spawned at step k. ${setting}; ${reps}.`,
      items: [instabilityPlot(pairs, { xScale: 'even' })],
    },
    {
      title: 'IMP with rewinding: accuracy against density',
      text:
        `Test accuracy of IMP subnetworks rewound to k = ${results.imp.k} (${plan.imp.levels} levels, ` +
        `each pruning 20% of the remaining weights by magnitude, globally), ` +
        `random pruning (the IMP mask's per-layer counts at random positions, ` +
        `on W_k) and random reinitialization (the IMP mask on fresh weights); ` +
        `the black line is the unpruned network. ${setting}; one run each.`,
      items: [accuracyDensityPlot(density, dense === undefined ? {} : { dense: [dense] })],
    },
    {
      title: 'Tables',
      text:
        `The numbers behind the figures (${setting}); the same tables are written next to this page as CSV, ` +
        `JSON and Arrow.`,
      items: [
        tableView(pairs.select('k', 'split', 'instability', 'maxError', 'argmaxAlpha', 'error1', 'error2', 'l2'), {
          limit: 1000,
        }),
        tableView(imp, { limit: 1000 }),
        tableView(curves, { limit: 2000 }),
      ],
    },
    {
      title: 'How this was made',
      text:
        `Backend ${meta.backend.name} (${meta.backend.device}). ${meta.counts.computed} units computed ` +
        `(${meta.counts.trainings} trainings) and ${meta.counts.fromStore} found in the store, ` +
        `in ${formatSeconds(meta.seconds)}. Data: ${meta.dataset.description} from ${meta.dataset.source}. ` +
        `Every unit is in the run store; \`lmc ls\` lists them.`,
    },
  ];
  return figureToHtmlPage(sections, {
    title: `lmc-lab quick start: LeNet-300-100 on ${meta.dataset.description}`,
    subtitle: `${setting}.`,
  });
}

function parseFormats(text: string | undefined): TableFormat[] {
  if (text === undefined) return [...TABLE_FORMATS];
  if (text.trim() === 'none') return [];
  return text.split(',').map((f) => {
    const format = f.trim() as TableFormat;
    if (!TABLE_FORMATS.includes(format))
      throw new Error(
        `--export ${text}: "${f}" is not a table format; use ${TABLE_FORMATS.join(', ')} (comma-separated) or none`,
      );
    return format;
  });
}

/** Makes `out` (and its parents) and checks it can be written; the error says what is in the way. */
function makeOutputFolder(out: string): void {
  try {
    fs.mkdirSync(out, { recursive: true });
    fs.accessSync(out, fs.constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOTDIR'
        ? 'a part of that path is a file, not a folder'
        : code === 'EEXIST'
          ? 'it is a file, not a folder'
          : code === 'EROFS'
            ? 'it is on a read-only file system'
            : code === 'EACCES' || code === 'EPERM'
              ? 'permission denied'
              : (e as Error).message;
    throw new Error(`--out ${out}: the report cannot be written there (${why}); give a folder you can write`);
  }
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);
const pp = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(2)} pp`);
