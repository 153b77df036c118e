/** `lmc imp`: iterative magnitude pruning with rewinding (and its baselines), printed as a table or one JSON object. */
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';
import {
  configFromFlags,
  CONFIG_OPTIONS,
  densityFlag,
  FLAG_LIMITS,
  OUTPUT_OPTIONS,
  wholeNumberFlag,
  reportHeader,
  startCommand,
} from './config-flags';
import { loadCheckpoint, saveCheckpoint } from '../train/checkpoint';
import { disposeState } from '../train/state';
import { planImp } from '../prune/imp';
import { disposeMasks, maskCounts } from '../prune/mask';
import type { TrainConfig } from '../train/config';
import {
  experimentContext,
  impRun,
  impRunCalls,
  storeMask,
  trunk,
  type ExperimentContext,
  type ImpLevelResult,
  type ImpRunLevel,
  type ImpRunOptions,
  type StoredMask,
} from '../experiments';
import { terminalProgress, formatSeconds } from './progress';
import { unitCounter } from './unit-counts';
import { CLUSTER_OPTIONS, clusterFromFlags, submitGraph } from './cluster-flags';

/** The options of `lmc imp`: what it parses and what its help lists. */
export const IMP_OPTIONS = {
  ...CONFIG_OPTIONS,
  rewind: { type: 'string', value: '<step>', description: 'rewinding step k, e.g. "500it" or "1ep"', defaultText: '0' },
  levels: {
    type: 'string',
    value: '<N>',
    description: 'rounds of pruning (levels 0..N)',
    defaultText: 'the rounds that reach --density',
  },
  density: {
    type: 'string',
    value: '<D>',
    description: 'target density in (0, 1]',
    defaultText: "the preset's (Table 1)",
  },
  oneshot: { type: 'boolean', default: false, description: 'prune once, straight to --density' },
  baselines: {
    type: 'boolean',
    default: false,
    description: 'also train random pruning and random reinitialization at every level',
  },
  'random-scope': {
    type: 'string',
    value: '<scope>',
    description: "random pruning keeps the IMP mask's counts per tensor (layerwise) or in total (global)",
    defaultText: 'layerwise',
  },
  mask: {
    type: 'string',
    value: '<checkpoint>',
    description:
      'start from the mask of a checkpoint saved by --save, e.g. a level of an earlier run ' +
      '(its name or either of its two files)',
  },
  save: {
    type: 'string',
    value: '<folder>',
    description: 'save W_k as <folder>/rewind and each level as <folder>/level-<n> (weights and mask)',
  },
  ...CLUSTER_OPTIONS,
  ...OUTPUT_OPTIONS,
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help imp`. */
export const IMP_HELP = formatHelp({
  usage: ['lmc imp --config <preset> [options]'],
  about: `Iterative magnitude pruning with rewinding to step k (Algorithm 2 of the paper): trains the
network to k once, then per level trains the subnetwork m ⊙ W_k from k to T, prunes 20% of the
remaining weights globally, and rewinds. Reports the test accuracy of every level. The trunk, every
level and every baseline are units of the store: a second run of the same command trains nothing.`,
  options: IMP_OPTIONS,
});

/** Runs `lmc imp` with its flags; resolves to the exit code. */
export async function impCommand(args: string[]): Promise<number> {
  const started = performance.now();
  const { values } = parseArgs({
    args,
    strict: true,
    options: parserOptions(IMP_OPTIONS),
  });
  const { preset, scale, config } = configFromFlags(values);
  const levels =
    values.levels === undefined ? undefined : wholeNumberFlag('--levels', values.levels, 0, FLAG_LIMITS.levels);
  const density = values.density === undefined ? undefined : densityFlag(values.density);
  if (levels !== undefined && density !== undefined && !values.oneshot) {
    throw new Error(
      '--levels and --density both given: iterative pruning stops after --levels rounds, ' +
        'or at the round nearest --density; give one',
    );
  }
  const randomScope = values['random-scope'] ?? 'layerwise';
  if (randomScope !== 'layerwise' && randomScope !== 'global')
    throw new Error(`--random-scope ${randomScope}: use layerwise or global`);

  let log = (_line: string): void => undefined;
  const cluster = clusterFromFlags(values, ['lmc imp', ...args].join(' '), (line) => log(line));
  const start = await startCommand(config, values.json);
  const { backend, dataset } = start;
  log = start.log;
  const counter = unitCounter();
  const ctx = experimentContext({
    dataset,
    executor: cluster?.executor,
    onUnit: counter.see,
    callbacks: values.quiet || values.json ? undefined : (run) => [terminalProgress(run.label)],
  });

  const initialMask = values.mask ? await storeCheckpointMask(ctx, values.mask) : undefined;
  const targetDensity = density ?? (levels === undefined || values.oneshot ? preset.targetDensity : undefined);
  const plan = planImp(config, dataset, {
    rewindTo: values.rewind ?? 0,
    levels,
    oneShot: values.oneshot,
    targetDensity,
  });
  log(
    `IMP on ${config.model} (${values.config}, ${scale} scale): rewind to step ${plan.rewindTo} of ` +
      `${plan.totalIterations}, ${plan.mode} pruning, ${plan.levels} ` +
      `round(s)${values.baselines ? ', with random pruning and random reinitialization' : ''}`,
  );
  const atZero = plan.rewindTo === 0 ? ' (no state exists at k = 0, so reset and restore are the same run)' : '';
  log(`optimizer state at k: ${config.optimizerStateAtK}${atZero}`);
  log(`store: ${ctx.store.root} (levels and baselines are units: a rerun finds them)`);
  const runOptions: ImpRunOptions = {
    k: plan.rewindTo,
    levels: plan.levels,
    oneShot: values.oneshot,
    targetDensity,
    initialMask,
    baselines: values.baselines ? { scope: randomScope } : false,
  };
  if (cluster && (await submitGraph(ctx, cluster, await impRunCalls(ctx, config, runOptions), log, values.json)))
    return 0;
  log(header());

  if (values.save) fs.mkdirSync(values.save, { recursive: true });
  const rows: Awaited<ReturnType<typeof levelReport>>[] = [];
  let saving: Promise<void> = Promise.resolve();
  const result = await impRun(ctx, config, {
    ...runOptions,
    onLevel: (level) => {
      saving = saving.then(async () => {
        rows.push(await levelReport(level));
        log(row(rows[rows.length - 1]));
        if (values.save) await saveLevel(path.join(values.save, `level-${level.level.level}`), level.level, config);
      });
    },
  });
  await saving;
  if (values.save) {
    const atK = await trunk(ctx, config, plan.rewindTo).then((t) => t.loadState());
    try {
      await saveCheckpoint(path.join(values.save, 'rewind'), { state: atK, config });
    } finally {
      disposeState(atK);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const report = {
    ...reportHeader(values.config, scale, config, backend, dataset),
    mode: result.mode,
    rewindTo: result.k,
    totalIterations: result.totalIterations,
    optimizerStateAtK: config.optimizerStateAtK,
    pruning: result.pruning,
    levels: rows,
    units: counter.counts(),
    seconds,
  };
  if (values.json) console.log(JSON.stringify(report));
  else
    log(
      `${rows.length} level(s) in ${formatSeconds(seconds)}: ${report.units.computed} units computed, ` +
        `${report.units.fromStore} from the store${values.save ? `; saved to ${values.save}` : ''}`,
    );
  return 0;
}

/** The masks of a checkpoint written by --save, stored by content so that units can name them. */
async function storeCheckpointMask(ctx: ExperimentContext, file: string): Promise<StoredMask> {
  const loaded = await loadCheckpoint(file).catch((err: Error) => {
    throw new Error(`--mask ${err.message}`);
  });
  disposeState(loaded.state);
  if (!loaded.masks)
    throw new Error(`--mask ${file}: the checkpoint holds no masks; give a level saved by lmc imp --save`);
  try {
    return await storeMask(ctx, loaded.masks);
  } finally {
    disposeMasks(loaded.masks);
  }
}

/** Writes a level's W_T and mask as one checkpoint. */
async function saveLevel(file: string, level: ImpLevelResult, config: TrainConfig): Promise<void> {
  const [final, masks] = [await level.loadFinal(), await level.loadMask()];
  try {
    await saveCheckpoint(file, { state: final, config, masks });
  } finally {
    disposeState(final);
    disposeMasks(masks);
  }
}

/** The JSON item of one level; `seconds` is the time its units took when they were computed. */
async function levelReport({ level, randomPrune, randomReinit }: ImpRunLevel) {
  const masks = await level.loadMask();
  try {
    return {
      level: level.level,
      density: level.summary.density,
      testAccuracy: level.summary.testAccuracy,
      testError: level.summary.testError,
      randomPruneAccuracy: randomPrune?.summary.testAccuracy ?? null,
      randomReinitAccuracy: randomReinit?.summary.testAccuracy ?? null,
      remaining: Object.fromEntries(maskCounts(masks).map((c) => [c.name, c.remaining])),
      seconds: [level, randomPrune, randomReinit].reduce((sum, u) => sum + (u?.unit.manifest.seconds ?? 0), 0),
    };
  } finally {
    disposeMasks(masks);
  }
}

function header(): string {
  return 'level  density   IMP      random   reinit   (test accuracy; seconds of computing)';
}

function row(r: Awaited<ReturnType<typeof levelReport>>): string {
  const pct = (x: number | null) => (x === null ? '   -   ' : `${(100 * x).toFixed(2).padStart(6)}%`);
  return (
    `${String(r.level).padStart(5)}  ${(100 * r.density).toFixed(2).padStart(6)}%  ${pct(r.testAccuracy)}  ` +
    `${pct(r.randomPruneAccuracy)}  ${pct(r.randomReinitAccuracy)}  ${r.seconds.toFixed(1)}s`
  );
}
