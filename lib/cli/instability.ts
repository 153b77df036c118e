/**
 * `lmc instability`: Algorithm 1 for one preset at one or more k, printed as text or one JSON
 * object, every trunk, copy and pair a unit of the store. With --sparse, the copies are a
 * subnetwork at density D: IMP rewound to k, or its random-pruning or random-reinitialization
 * baseline, one IMP run per initialization and k (sparseSweep).
 */
import { parseArgs } from 'node:util';
import { type Scale } from '../train/config';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';
import {
  configFromFlags,
  CONFIG_OPTIONS,
  decimalFlag,
  densityFlag,
  FLAG_LIMITS,
  listFlag,
  OUTPUT_OPTIONS,
  wholeNumberFlag,
  reportHeader,
  startCommand,
} from './config-flags';
import type { ColumnTable } from 'arquero';
import { parseStep, toIterations } from '../train/step';
import { iterationsPerEpoch } from '../data/order';
import type { InstabilitySetup, ThroughoutOptions } from '../stability/instability';
import { checkBatchNormPolicy } from '../stability/batchnorm';
import type { MeanStd } from '../stability/measure';
import type { InstabilitySummary, PairRow } from '../stability/tables';
import {
  experimentContext,
  instabilitySweep,
  sparseSweep,
  sweepCalls,
  throughoutSweep,
  type SubnetworkKind,
} from '../experiments';
import { CLUSTER_OPTIONS, clusterFromFlags, submitGraph } from './cluster-flags';
import { terminalProgress, formatSeconds } from './progress';
import { unitCounter } from './unit-counts';

/** Initializations x pairs when not given: the paper's 3 x 3 at paper scale, fewer when shortened. */
export const DEFAULT_REPLICATES: Readonly<Record<Scale, { inits: number; pairs: number }>> = {
  paper: { inits: 3, pairs: 3 },
  quick: { inits: 3, pairs: 1 },
  smoke: { inits: 1, pairs: 1 },
};

const SPARSE_KINDS = ['imp', 'random-prune', 'reinit'] as const;
type SparseKind = (typeof SPARSE_KINDS)[number];
/** The kind of subnetwork each --sparse value measures (sparseSweep's names). */
const SPARSE_METHODS: Readonly<Record<SparseKind, SubnetworkKind>> = {
  imp: 'imp',
  'random-prune': 'random-prune',
  reinit: 'random-reinit',
};

/** The default of --inits or --pairs at each scale, as help says it. */
const replicatesText = (field: 'inits' | 'pairs') =>
  (Object.keys(DEFAULT_REPLICATES) as Scale[])
    .map((scale) => `${DEFAULT_REPLICATES[scale][field]} at ${scale} scale`)
    .join(', ');

/** The options of `lmc instability`: what it parses and what its help lists. */
export const INSTABILITY_OPTIONS = {
  ...CONFIG_OPTIONS,
  k: {
    type: 'string',
    value: '<steps>',
    description: 'k, or a comma list for a sweep, e.g. "0,100it,2ep"; one trunk per initialization',
    defaultText: '0',
  },
  inits: { type: 'string', value: '<N>', description: 'initializations', defaultText: replicatesText('inits') },
  pairs: {
    type: 'string',
    value: '<N>',
    description: 'pairs of copies per initialization',
    defaultText: replicatesText('pairs'),
  },
  alphas: {
    type: 'string',
    value: '<N|list>',
    description: 'N evenly spaced alphas in [0, 1], ends included, or a list, e.g. "0,0.5,1"',
    defaultText: '30',
  },
  bn: {
    type: 'string',
    value: '<policy>',
    description: 'BatchNorm statistics along the path: interpolate or recompute',
    defaultText: 'interpolate',
  },
  'bn-batches': {
    type: 'string',
    value: '<N>',
    description: 'training batches that re-estimate BatchNorm statistics under recompute',
    defaultText: '32',
  },
  sparse: {
    type: 'string',
    value: '<kind>',
    description:
      `one of ${SPARSE_KINDS.join(', ')}: the subnetwork at --density that IMP rewound to k finds, ` +
      'or its random-pruning or random-reinitialization baseline',
  },
  density: {
    type: 'string',
    value: '<D>',
    description: 'density of --sparse in (0, 1]',
    defaultText: "the preset's (Table 1)",
  },
  throughout: {
    type: 'string',
    value: '<when>',
    description: 'also interpolate during training: "epoch" or every N steps ("100it", "2ep")',
  },
  ...CLUSTER_OPTIONS,
  ...OUTPUT_OPTIONS,
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help instability`. */
export const INSTABILITY_HELP = formatHelp({
  usage: ['lmc instability --config <preset> [options]'],
  about: `Instability analysis (Algorithm 1 of the paper): trains the network to step k once per
initialization, trains pairs of copies from k to T under different data orders, and linearly
interpolates each pair. Instability = max error along the path - mean error of the two ends,
on train and test data; reported as mean and std over initializations x pairs. Every trunk, copy
and pair is a unit of the store: a second run of the same command trains nothing.`,
  options: INSTABILITY_OPTIONS,
});

/** Runs `lmc instability` with its flags; resolves to the exit code. */
export async function instabilityCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: parserOptions(INSTABILITY_OPTIONS),
  });
  if (values.help) {
    console.log(INSTABILITY_HELP);
    return 0;
  }
  const { preset, scale, config } = configFromFlags(values);
  const count = (flag: string, text: string | undefined, max: number) =>
    text === undefined ? undefined : wholeNumberFlag(flag, text, 1, max);
  const inits = count('--inits', values.inits, FLAG_LIMITS.inits) ?? DEFAULT_REPLICATES[scale].inits;
  const pairs = count('--pairs', values.pairs, FLAG_LIMITS.pairs) ?? DEFAULT_REPLICATES[scale].pairs;
  const bnBatches = count('--bn-batches', values['bn-batches'], FLAG_LIMITS.bnBatches);
  const bn = checkBatchNormPolicy(values.bn ?? 'interpolate');
  const alphas = parseAlphas(values.alphas);
  const ks = listFlag('--k', values.k ?? '0', FLAG_LIMITS.kValues, 'values of k').map((s) => s.trim());
  ks.forEach((k) => parseStep(k, '--k'));
  const sparse = values.sparse as SparseKind | undefined;
  if (sparse !== undefined && !SPARSE_KINDS.includes(sparse))
    throw new Error(`--sparse ${sparse}: use one of ${SPARSE_KINDS.join(', ')}`);
  const density = values.density === undefined ? undefined : densityFlag(values.density);
  if (density !== undefined && !sparse)
    throw new Error('--density applies to sparse networks; add --sparse imp, random-prune or reinit');

  let log = (_line: string): void => undefined;
  const cluster = clusterFromFlags(values, ['lmc instability', ...args].join(' '), (line) => log(line));
  const start = await startCommand(config, values.json);
  const { backend, dataset } = start;
  log = start.log;
  const throughout = parseThroughout(values.throughout, iterationsPerEpoch(dataset.train.size, config.batchSize));
  const targetDensity = density ?? preset.targetDensity;
  log(
    `instability of ${config.model} (${values.config}, ${scale} scale): k = ${ks.join(', ')}; ` +
      `${inits} init(s) x ${pairs} pair(s); ${typeof alphas === 'number' ? alphas : alphas.length} alphas; ` +
      `BatchNorm ${bn}${sparse ? `; ${sparse} subnetwork at density ${targetDensity}` : '; dense'}`,
  );

  if (sparse && throughout)
    throw new Error(
      '--throughout with --sparse: instability throughout training is measured for dense networks; drop one of them',
    );
  const counter = unitCounter();
  const ctx = experimentContext({
    dataset,
    executor: cluster?.executor,
    callbacks: values.quiet || values.json ? undefined : (run) => [terminalProgress(run.label)],
    onUnit: (event) => {
      counter.see(event);
      if (event.type === 'train' && event.kind === 'trunk') log(`${event.label}: ${event.from} -> ${event.to}`);
    },
  });
  log(`store: ${ctx.store.root} (every trunk, copy and pair is a unit: a rerun finds them)`);
  const onPair = (rows: readonly PairRow[]) => {
    const cells = rows.map(
      (r) => `${r.split} ${pp(r.instability)} (max ${pct(r.maxError)}, ends ${pct(r.error1)} / ${pct(r.error2)})`,
    );
    log(
      `  k ${rows[0].k}, init ${rows[0].init}, pair ${rows[0].pair}: instability ${cells.join('; ')}; ` +
        `L2 ${rows[0].l2.toPrecision(4)}`,
    );
  };
  const sweep = { k: ks, inits, pairs, alphas, bn, bnBatches };
  if (cluster && (sparse || throughout) && (cluster.detach || cluster.dryRun)) {
    throw new Error(
      `--${cluster.detach ? 'detach' : 'dry-run'} with --${sparse ? 'sparse' : 'throughout'}: those units are known ` +
        `only as earlier ones finish; run with --on slurm alone (each unit is submitted when it is known)`,
    );
  }
  if (
    cluster &&
    !sparse &&
    !throughout &&
    (await submitGraph(ctx, cluster, await sweepCalls(ctx, config, sweep), log, values.json))
  )
    return 0;
  const started = performance.now();
  let result: SweepTables;
  if (throughout) {
    const during = await throughoutSweep(ctx, config, { ...sweep, throughout });
    result = { table: during.finalCurves, summary: during.summary, setup: during.setup, throughoutPairs: during.pairs };
  } else if (sparse) {
    const method = SPARSE_METHODS[sparse];
    const found = await sparseSweep(ctx, config, {
      ...sweep,
      onPair,
      targetDensity,
      oneShot: preset.pruning === 'one-shot',
      methods: [method],
    });
    result = found.sweeps[method]!;
  } else {
    result = await instabilitySweep(ctx, config, { ...sweep, onPair });
  }
  const seconds = (performance.now() - started) / 1000;
  const report = {
    ...reportHeader(values.config, scale, config, backend, dataset),
    bn,
    alphas: result.setup.alphas.length,
    inits: result.setup.inits.map((s) => s.initSeed),
    pairs,
    sparse: sparse ?? null,
    density: sparse ? targetDensity : null,
    results: perK(result),
    units: counter.counts(),
    seconds,
  };
  if (values.json) {
    console.log(JSON.stringify(report));
    return 0;
  }
  for (const r of report.results) {
    const part = (split: string) =>
      r.instability[split] ? `${split} ${pp(r.instability[split].mean)} ± ${pp(r.instability[split].std)}` : '';
    log(
      `k ${r.k}: instability ${['test', 'train'].map(part).filter(Boolean).join(', ')}; ` +
        `test accuracy ${pct(r.accuracy.test?.mean)} ± ${pct(r.accuracy.test?.std)}; ` +
        `L2 ${r.l2.mean.toPrecision(4)}${r.density !== null ? `; density ${pct(r.density)}` : ''}`,
    );
  }
  log(
    `done in ${formatSeconds(seconds)}: ${report.units.computed} units computed, ` +
      `${report.units.fromStore} from the store`,
  );
  return 0;
}

/** What the report is made of: the curves at T, the summary per k, what ran, and the pairs throughout training. */
interface SweepTables {
  table: ColumnTable;
  summary: InstabilitySummary[];
  setup: Pick<InstabilitySetup, 'alphas' | 'inits'>;
  throughoutPairs?: ColumnTable;
}

/** The JSON item of each k: what --json promises (instability, l2, endpoint accuracies, curves). */
function perK(result: SweepTables) {
  const curves = result.table.objects() as {
    k: number;
    init: number;
    pair: number;
    alpha: number;
    split: string;
    error: number;
    loss: number;
  }[];
  const during = result.throughoutPairs?.objects() as
    { k: number; init: number; pair: number; step: number; split: string; instability: number }[] | undefined;
  return result.summary.map((s) => ({
    k: s.k,
    instability: s.instability as Record<string, MeanStd>,
    l2: s.l2,
    l2Prunable: s.l2Prunable,
    accuracy: s.accuracy as Record<string, MeanStd>,
    endpointError: s.endpointError,
    density: s.density,
    meanCurve: s.curve,
    curves: curves
      .filter((c) => c.k === s.k)
      .map(({ init, pair, alpha, split, error, loss }) => ({ init, pair, alpha, split, error, loss })),
    throughout: s.throughout,
    throughoutPairs: during
      ?.filter((d) => d.k === s.k)
      .map(({ init, pair, step, split, instability: value }) => ({ init, pair, step, split, instability: value })),
  }));
}

function parseAlphas(text: string | undefined): number | number[] {
  if (text === undefined) return 30;
  if (!text.includes(',')) return wholeNumberFlag('--alphas', text, 2, FLAG_LIMITS.alphas);
  return listFlag('--alphas', text, FLAG_LIMITS.alphas, 'alphas').map((s) => {
    const a = decimalFlag('--alphas', s, 'each alpha is a number in [0, 1], e.g. 0,0.5,1');
    if (!(a >= 0 && a <= 1)) throw new Error(`--alphas ${text}: "${s}" is not an alpha in [0, 1]`);
    return a;
  });
}

function parseThroughout(text: string | undefined, itersPerEpoch: number): ThroughoutOptions | undefined {
  if (text === undefined) return undefined;
  if (text === 'epoch') return { everyEpoch: true };
  const every = toIterations(parseStep(text, '--throughout'), itersPerEpoch);
  if (every < 1) throw new Error(`--throughout ${text}: interpolate every "epoch" or every N >= 1 steps, e.g. 100it`);
  return { everySteps: every };
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(2)}%`);
const pp = (x: number) => `${(100 * x).toFixed(2)} pp`;
