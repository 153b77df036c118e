/**
 * IMP with rewinding (Algorithm 2) as cached units: one `imp-level` unit per level n holds the
 * mask m_n it trained with, W_T^n and its test accuracy. Level n's mask is magnitudePrune(W_T^{n-1},
 * m_{n-1}), read from level n - 1's unit, so extending a run from 8 to 15 levels trains only the
 * new levels, and a run interrupted at level 9 resumes at level 9 (from its last checkpoint).
 *
 * Every step mirrors lib/prune's `imp` (same trunk, start m ⊙ W_k with masked optimizer slots,
 * data order config.dataOrderSeed, evaluation on the test split, baseline seeds), so the cached
 * run equals `imp(config, ...)` bit for bit. Baselines are copy units: random pruning names the
 * level by hash, reinitialization trains the level's mask from fresh weights.
 */
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { canonicalJson, type Json } from '../store';
import { validateConfig, type TrainConfig, resolveConfig } from '../train/config';
import { evaluate } from '../train/evaluate';
import { disposeState, snapshot, type TrainState } from '../train/state';
import { buildModel } from '../train/trainer';
import { prunableNames } from '../models/registry';
import {
  DEFAULT_PRUNING,
  magnitudePrune,
  oneShotPruning,
  resolvePruningOptions,
  type PruningOptions,
} from '../prune/magnitude';
import { planImp } from '../prune/imp';
import { pruningFor } from '../prune/choices';
import {
  createMasks,
  disposeMasks,
  maskCounts,
  maskDensity,
  maskState,
  validateMasks,
  type Masks,
} from '../prune/mask';
import { reinitSeed } from '../prune/random';
import { sparsityTable } from '../prune/sparsity';
import { datasetFingerprint } from './fingerprint';
import {
  forEachUnit,
  type ExperimentContext,
  type RunOptions,
  type UnitCall,
  type UnitDefinition,
  type UnitResult,
} from './unit';
import { copy, copyCall, FINAL_FILE, type CopyResult, type CopySpec } from './copy';
import { stepOf, trainKey, unitLabel, withoutDefaults } from './keys';
import { MASK_FILE, loadMask, maskKey, readMask, type MaskHolder, type MaskKey, type MaskSpec } from './masks';
import { trainInUnit } from './resumable';
import { encodeMasks, encodeState } from '../train/state-bytes';
import { readState, trunkCall, trunkResult } from './trunk';

/** Where IMP rewinds to and how it prunes. */
export interface ImpLevelOptions {
  /** Rewinding step k: iterations, "500it" or "2ep" (default 0). */
  k?: number | string;
  /** Pruning per round (default: the presets' choice for the model, pruningFor). */
  pruning?: Partial<PruningOptions>;
  /** The mask of level 0 (default all ones), e.g. a level of an earlier run stored with storeMask. */
  initialMask?: MaskSpec;
}

/** What an IMP level unit reports. */
export interface ImpLevelSummary {
  level: number;
  k: number;
  /** Fraction of prunable weights the mask keeps. */
  density: number;
  remaining: number;
  total: number;
  testAccuracy: number;
  testError: number;
  testLoss: number;
}

/** A finished IMP level. */
export interface ImpLevelResult extends MaskHolder {
  level: number;
  summary: ImpLevelSummary;
  /** W_T of the level (weights only); the caller disposes it. */
  loadFinal(): Promise<TrainState>;
}

/** The pruning options as they enter the identity: undefined when they are the model's default. */
function pruningKey(config: TrainConfig, pruning: Partial<PruningOptions> | undefined): PruningOptions | undefined {
  if (pruning === undefined) return undefined;
  const full: PruningOptions = { ...DEFAULT_PRUNING, ...pruning, tensors: { ...(pruning.tensors ?? {}) } };
  return canonicalJson(full) === canonicalJson(pruningFor(config.model)) ? undefined : full;
}

/** The store config of IMP level `level` rewound to k. */
export function impLevelKey(
  config: TrainConfig,
  data: string,
  k: number,
  level: number,
  pruning?: PruningOptions,
  initialMask?: MaskKey,
) {
  return withoutDefaults({
    train: trainKey(config),
    data,
    k,
    level,
    pruning: pruning as unknown as { [key: string]: string } | undefined,
    initialMask,
  });
}

/** An IMP level as a call carries it: the initial mask by its key. */
export interface ImpLevelSpec extends Omit<ImpLevelOptions, 'initialMask'> {
  config: TrainConfig;
  level: number;
  initialMask?: MaskKey;
}

/** The call of `impLevel(ctx, config, level, options)`. */
export function impLevelCall(config: TrainConfig, level: number, options: ImpLevelOptions = {}): UnitCall {
  const initialMask =
    options.initialMask === undefined ? undefined : maskKey(options.initialMask, validateConfig({ ...config }));
  return {
    unit: 'imp-level',
    spec: { config, level, k: options.k, pruning: options.pruning, initialMask } satisfies ImpLevelSpec,
  };
}

/** The IMP level unit: after level n - 1 and the trunk to k, trains m_n ⊙ W_k from k to T. */
export const IMP_LEVEL_UNIT: UnitDefinition<ImpLevelSpec> = {
  kind: 'imp-level',
  describe: (spec) => `imp level ${spec.level} k=${spec.k ?? 0}`,
  config: (spec) => spec.config,
  plan: (ctx, spec) => {
    const { level } = spec;
    if (!Number.isSafeInteger(level) || level < 0)
      throw new Error(
        `impLevel: level = ${JSON.stringify(level)}; give a whole number >= 0 (0 is the unpruned network)`,
      );
    const config = validateConfig({ ...spec.config });
    const dataset = ctx.dataset(config);
    const k = stepOf(config, dataset, spec.k ?? 0, 'imp k');
    const pruning = pruningKey(config, spec.pruning);
    const { initialMask } = spec;
    const key = impLevelKey(config, datasetFingerprint(dataset), k, level, pruning, initialMask) as unknown as Json;
    const options = { k: spec.k, pruning: spec.pruning, initialMask };
    return {
      kind: 'imp-level',
      key,
      label: unitLabel('imp-level', key),
      // The previous level first: a chain from an empty store then computes level 0 first.
      dependencies:
        level > 0 ? [impLevelCall(config, level - 1, options), trunkCall(config, k)] : [trunkCall(config, k)],
      // A missing or misshapen initial mask fails before the trunk trains.
      check: async () => {
        if (level > 0 || !initialMask) return;
        const masks = await loadMask(ctx, initialMask, config);
        const { model } = buildModel(config, dataset);
        try {
          validateMasks(model, masks);
        } finally {
          model.dispose();
          disposeMasks(masks);
        }
      },
      compute: async (writer, unitRef, dependencies) => {
        const [previous, trunkUnit] = dependencies.length === 2 ? dependencies : [undefined, dependencies[0]];
        const { model } = buildModel(config, dataset);
        let mask: Masks | null = null;
        const states: TrainState[] = [];
        try {
          const round = resolvePruningOptions(pruning ?? pruningFor(config.model), prunableNames(model));
          if (previous === undefined) {
            mask = initialMask ? await loadMask(ctx, initialMask, config) : createMasks(model);
            validateMasks(model, mask);
          } else {
            const prev = impLevelResult(previous);
            const [prevMask, prevFinal] = [await prev.loadMask(), await prev.loadFinal()];
            try {
              mask = magnitudePrune(prevFinal.weights, prevMask, round);
            } finally {
              disposeMasks(prevMask);
              disposeState(prevFinal);
            }
          }
          const atK = await trunkResult(trunkUnit).loadState();
          states.push(atK);
          const start = maskState(atK, mask);
          states.push(start);
          const T = resolveConfig(config, dataset.train.size).totalIterations;
          const result = await trainInUnit(ctx, writer, unitRef, { config, start, to: T, model, dataset, masks: mask });
          try {
            const test = evaluate(model, dataset.test, { batchSize: config.evalBatchSize, limit: config.evalExamples });
            const final = snapshot(model, result.step, null);
            states.push(final);
            await writer.writeFile(MASK_FILE, encodeMasks(mask));
            await writer.writeFile(FINAL_FILE, encodeState(final));
            await writer.writeTable('sparsity', sparsityTable(mask), ['csv']);
            const counts = maskCounts(mask);
            const remaining = counts.reduce((sum, c) => sum + c.remaining, 0);
            const total = counts.reduce((sum, c) => sum + c.total, 0);
            const summary: ImpLevelSummary = {
              level,
              k,
              density: total === 0 ? 1 : remaining / total,
              remaining,
              total,
              testAccuracy: test.accuracy,
              testError: test.error,
              testLoss: test.loss,
            };
            return { ...summary };
          } finally {
            result.dispose();
          }
        } finally {
          states.forEach(disposeState);
          if (mask) disposeMasks(mask);
          model.dispose();
        }
      },
    };
  },
};

/** A finished IMP level unit as an ImpLevelResult. */
export function impLevelResult({ unit, ref }: UnitResult): ImpLevelResult {
  const summary = unit.summary as unknown as ImpLevelSummary;
  return {
    unit,
    ref,
    level: summary.level,
    summary,
    loadMask: () => readMask(unit),
    loadFinal: () => readState(unit, FINAL_FILE),
  };
}

/** IMP level `level` (0: the dense network from W_k) of `config` rewound to k, computing earlier levels as needed. */
export async function impLevel(
  ctx: ExperimentContext,
  config: TrainConfig,
  level: number,
  options: ImpLevelOptions = {},
  run: RunOptions = {},
): Promise<ImpLevelResult> {
  return impLevelResult(await ctx.run(impLevelCall(config, level, options), run));
}

/** Which baselines an IMP run trains, and where. */
export interface ImpBaselines {
  /** Levels that get baselines (default every level from 1 on; level 0 has nothing to compare). */
  levels?: readonly number[];
  /** Random pruning (default true). */
  randomPrune?: boolean;
  /** Random reinitialization (default true). */
  randomReinit?: boolean;
  /** Seed of both baselines' streams (default config.initSeed, as lib/prune). */
  seed?: number;
  /** Random pruning keeps the IMP counts per tensor (default) or in total. */
  scope?: 'layerwise' | 'global';
}

/** Options of `impRun`. */
export interface ImpRunOptions extends ImpLevelOptions {
  /** Rounds of pruning N (levels 0..N). Default: the rounds nearest `targetDensity`. */
  levels?: number;
  /** Density to reach: where iterative pruning stops when `levels` is not given, or one-shot's target. */
  targetDensity?: number;
  /** Prune once, straight to `targetDensity` (levels 0 and 1). */
  oneShot?: boolean;
  /** Train baselines: true for both at every level, or where and which. */
  baselines?: boolean | ImpBaselines;
  /** Called after each level (with its baselines) is available. */
  onLevel?(row: ImpRunLevel): void;
}

/** One level of an IMP run with its baselines. */
export interface ImpRunLevel {
  level: ImpLevelResult;
  randomPrune: CopyResult | null;
  randomReinit: CopyResult | null;
}

/** An IMP run: its levels and one tidy table (level, density, method, accuracy, unit hash). */
export interface ImpRunResult {
  k: number;
  /** T in iterations. */
  totalIterations: number;
  mode: 'iterative' | 'one-shot';
  /** Pruning per round as resolved for the model (one-shot's single round prunes to the target from these rates). */
  pruning: PruningOptions;
  levels: ImpRunLevel[];
  /**
   * Rows {level, density, method: 'imp' | 'random-prune' |
   * 'random-reinit', testAccuracy, testError, testLoss, run, unit}.
   */
  table: ColumnTable;
}

/** An IMP run's options resolved and checked: the run's config, plan, level options and baselines. */
async function resolveImpRun(ctx: ExperimentContext, configInput: TrainConfig, options: ImpRunOptions) {
  const config = validateConfig({ ...configInput });
  const dataset = ctx.dataset(config);
  const plan = planImp(config, dataset, {
    rewindTo: options.k,
    levels: options.levels,
    oneShot: options.oneShot,
    targetDensity: options.targetDensity,
    pruning: options.pruning,
  });
  const rounds = plan.levels;
  // Checked before anything trains: the pruning rates name tensors of this model.
  const { model: probe } = buildModel(config, dataset);
  const resolvedPruning = (() => {
    try {
      return resolvePruningOptions(plan.pruning, prunableNames(probe));
    } finally {
      probe.dispose();
    }
  })();
  const levelOptions: ImpLevelOptions = { k: options.k, pruning: options.pruning, initialMask: options.initialMask };
  if (plan.mode === 'one-shot') {
    // One round from the initial mask's density straight to the target.
    const from = options.initialMask === undefined ? 1 : await initialDensity(ctx, options.initialMask, config);
    levelOptions.pruning = oneShotPruning(plan.pruning, from, plan.targetDensity!);
  }
  const b: ImpBaselines | null = options.baselines === true ? {} : options.baselines || null;
  const seed = b?.seed ?? config.initSeed;
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`impRun: baselines.seed = ${JSON.stringify(seed)} is invalid; seeds are whole numbers >= 0`);
  const baselineLevels = new Set(b?.levels ?? Array.from({ length: rounds }, (_, i) => i + 1));
  for (const n of baselineLevels) {
    if (!(Number.isSafeInteger(n) && n >= 1 && n <= rounds))
      throw new Error(
        `impRun: baselines.levels holds ${JSON.stringify(n)}; ` +
          `baselines exist at levels 1..${rounds} (level 0 is the unpruned network)`,
      );
  }
  /** The copy units of level n's baselines; the level by its result or its unit hash. */
  const baselineSpecs = (
    level: MaskHolder | string,
    k: number,
    n: number,
  ): { randomPrune?: CopySpec; randomReinit?: CopySpec } => {
    const withBaselines = b !== null && n > 0 && baselineLevels.has(n);
    const holder: MaskSpec = typeof level === 'string' ? { imp: level } : level;
    return {
      randomPrune:
        withBaselines && b.randomPrune !== false
          ? { config, k, mask: { randomPrune: level, seed, scope: b.scope } }
          : undefined,
      randomReinit:
        withBaselines && b.randomReinit !== false
          ? { config, k, mask: holder, reinit: reinitSeed(seed, n) }
          : undefined,
    };
  };
  return { config, dataset, plan, rounds, resolvedPruning, levelOptions, baselineSpecs };
}

/**
 * Every call of `impRun(ctx, config, options)` known before anything trains: the levels 0..N and
 * the baselines, each naming its level by unit hash. A cluster submits them all at once.
 */
export async function impRunCalls(
  ctx: ExperimentContext,
  configInput: TrainConfig,
  options: ImpRunOptions = {},
): Promise<UnitCall[]> {
  const { config, dataset, rounds, levelOptions, baselineSpecs } = await resolveImpRun(ctx, configInput, options);
  const k = stepOf(config, dataset, levelOptions.k ?? 0, 'imp k');
  const calls: UnitCall[] = [];
  for (let n = 0; n <= rounds; n++) {
    const call = impLevelCall(config, n, levelOptions);
    calls.push(call);
    const plan = IMP_LEVEL_UNIT.plan(ctx, call.spec as ImpLevelSpec);
    const specs = baselineSpecs(ctx.store.identify('imp-level', plan.key).hash, k, n);
    for (const spec of [specs.randomPrune, specs.randomReinit]) if (spec) calls.push(copyCall(spec));
  }
  return calls;
}

/** IMP levels 0..N rewound to k with the baselines asked for, every training cached. */
export async function impRun(
  ctx: ExperimentContext,
  configInput: TrainConfig,
  options: ImpRunOptions = {},
): Promise<ImpRunResult> {
  const { config, plan, rounds, resolvedPruning, levelOptions, baselineSpecs } = await resolveImpRun(
    ctx,
    configInput,
    options,
  );
  const levels: ImpRunLevel[] = [];
  const rows: Record<string, unknown>[] = [];
  const report = (entry: ImpRunLevel) => {
    const { level, randomPrune, randomReinit } = entry;
    const row = (method: string, s: { testAccuracy: number; testError: number; testLoss: number }, unit: string) =>
      rows.push({
        level: level.level,
        density: level.summary.density,
        method,
        testAccuracy: s.testAccuracy,
        testError: s.testError,
        testLoss: s.testLoss,
        run: 0,
        unit: unit.slice(0, 12),
      });
    row('imp', level.summary, level.ref.hash);
    if (randomPrune) row('random-prune', randomPrune.summary, randomPrune.ref.hash);
    if (randomReinit) row('random-reinit', randomReinit.summary, randomReinit.ref.hash);
    levels.push(entry);
    options.onLevel?.(entry);
  };
  // Levels are reported in order, each once its baselines are in; on worker threads a level's
  // baselines train beside the next levels, and the chain of levels (the critical path) goes first.
  let reported: Promise<void> = Promise.resolve();
  let k = 0;
  for (let n = 0; n <= rounds; n++) {
    const level = await impLevel(ctx, config, n, levelOptions, { first: true });
    k = level.summary.k;
    const specs = baselineSpecs(level, level.summary.k, n);
    const entry = forEachUnit(ctx, [specs.randomPrune, specs.randomReinit], (spec) =>
      spec ? copy(ctx, spec) : Promise.resolve(null),
    ).then(([randomPrune, randomReinit]): ImpRunLevel => ({ level, randomPrune, randomReinit }));
    entry.catch(() => undefined); // awaited through `reported`; not an unhandled rejection meanwhile
    reported = reported.then(async () => report(await entry));
    if (ctx.workers <= 1) await reported;
    else reported.catch(() => undefined);
  }
  await reported;
  const columns = ['level', 'density', 'method', 'testAccuracy', 'testError', 'testLoss', 'run', 'unit'];
  return {
    k,
    totalIterations: plan.totalIterations,
    mode: plan.mode,
    pruning: resolvedPruning,
    levels,
    table: aq.table(Object.fromEntries(columns.map((c) => [c, rows.map((r) => r[c])]))),
  };
}

/** The density of a stored mask. */
async function initialDensity(ctx: ExperimentContext, spec: MaskSpec, config: TrainConfig): Promise<number> {
  const masks = await loadMask(ctx, maskKey(spec, config), config);
  try {
    return maskDensity(masks);
  } finally {
    disposeMasks(masks);
  }
}
