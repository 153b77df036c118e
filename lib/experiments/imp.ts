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
import { canonicalJson } from '../store';
import { validateConfig, type TrainConfig } from '../train/config';
import { evaluate } from '../train/evaluate';
import { roundsToDensity } from '../train/presets';
import { disposeState, snapshot, type TrainState } from '../train/state';
import { buildModel } from '../train/trainer';
import { prunableNames } from '../models/registry';
import { DEFAULT_PRUNING, magnitudePrune, resolvePruningOptions, type PruningOptions } from '../prune/magnitude';
import { pruningFor } from '../prune/choices';
import { createMasks, disposeMasks, maskCounts, maskState, type Masks } from '../prune/mask';
import { reinitSeed } from '../prune/random';
import { sparsityTable } from '../prune/sparsity';
import { resolveConfig } from '../train/config';
import type { Json } from '../store';
import { cachedUnit, datasetFingerprint, type ExperimentContext } from './context';
import { copyCall } from './calls';
import { copy, FINAL_FILE, type CopyResult, type CopySpec } from './copy';
import { stepOf, trainKey, unitLabel, withoutDefaults } from './keys';
import { MASK_FILE, readMask, type MaskHolder } from './masks';
import { trainInUnit } from './resumable';
import { encodeMasks, encodeState } from '../train/state-bytes';
import { readState, trunk } from './trunk';

/** Where IMP rewinds to and how it prunes. */
export interface ImpLevelOptions {
  /** Rewinding step k: iterations, "500it" or "2ep" (default 0). */
  k?: number | string;
  /** Pruning per round (default: the presets' choice for the model, pruningFor). */
  pruning?: Partial<PruningOptions>;
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
export function impLevelKey(config: TrainConfig, data: string, k: number, level: number, pruning?: PruningOptions) {
  return withoutDefaults({ train: trainKey(config), data, k, level, pruning: pruning as unknown as { [key: string]: string } | undefined });
}

/** IMP level `level` (0: the dense network from W_k) of `config` rewound to k, computing earlier levels as needed. */
export async function impLevel(ctx: ExperimentContext, configInput: TrainConfig, level: number, options: ImpLevelOptions = {}): Promise<ImpLevelResult> {
  if (!Number.isSafeInteger(level) || level < 0) throw new Error(`impLevel: level = ${JSON.stringify(level)}; give a whole number >= 0 (0 is the unpruned network)`);
  const config = validateConfig({ ...configInput });
  const dataset = ctx.dataset(config);
  const data = datasetFingerprint(dataset);
  const k = stepOf(config, dataset, options.k ?? 0, 'imp k');
  const pruning = pruningKey(config, options.pruning);
  const key = impLevelKey(config, data, k, level, pruning);
  const wrap = (unit: ImpLevelResult['unit'], ref: ImpLevelResult['ref']): ImpLevelResult => ({
    unit, ref, level, summary: unit.summary as unknown as ImpLevelSummary,
    loadMask: () => readMask(unit), loadFinal: () => readState(unit, FINAL_FILE),
  });
  // Dependencies first and outside this unit's lock: the previous level and the trunk.
  const found = await ctx.store.get('imp-level', key);
  const previous = found || level === 0 ? null : await impLevel(ctx, config, level - 1, options);
  const trunkResult = found ? null : await trunk(ctx, config, k);
  const { unit, ref } = await cachedUnit(ctx, 'imp-level', key as unknown as Json, unitLabel('imp-level', key as unknown as Json), async (writer, unitRef) => {
    const { model } = buildModel(config, dataset);
    let mask: Masks | null = null;
    const states: TrainState[] = [];
    try {
      const round = resolvePruningOptions(pruning ?? pruningFor(config.model), prunableNames(model));
      if (level === 0) {
        mask = createMasks(model);
      } else {
        const prev = previous ?? (await impLevel(ctx, config, level - 1, options));
        const [prevMask, prevFinal] = [await prev.loadMask(), await prev.loadFinal()];
        try {
          mask = magnitudePrune(prevFinal.weights, prevMask, round);
        } finally {
          disposeMasks(prevMask);
          disposeState(prevFinal);
        }
      }
      const atK = await (trunkResult ?? (await trunk(ctx, config, k))).loadState();
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
        const remaining = counts.reduce((s, c) => s + c.remaining, 0);
        const total = counts.reduce((s, c) => s + c.total, 0);
        const summary: ImpLevelSummary = {
          level, k, density: total === 0 ? 1 : remaining / total, remaining, total,
          testAccuracy: test.accuracy, testError: test.error, testLoss: test.loss,
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
  });
  return wrap(unit, ref);
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
  /** Density to reach when `levels` is not given, e.g. 0.035. */
  targetDensity?: number;
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
  levels: ImpRunLevel[];
  /** Rows {level, density, method: 'imp' | 'random-prune' | 'random-reinit', testAccuracy, testError, testLoss, run, unit}. */
  table: ColumnTable;
}

/** IMP levels 0..N rewound to k with the baselines asked for, every training cached. */
export async function impRun(ctx: ExperimentContext, configInput: TrainConfig, options: ImpRunOptions = {}): Promise<ImpRunResult> {
  const config = validateConfig({ ...configInput });
  const rounds = options.levels ?? (options.targetDensity !== undefined ? roundsToDensity(options.targetDensity, options.pruning?.fraction ?? 0.2) : undefined);
  if (rounds === undefined || !Number.isSafeInteger(rounds) || rounds < 0) {
    throw new Error(`impRun: give levels (a whole number of pruning rounds >= 0) or targetDensity in (0, 1]; got levels = ${JSON.stringify(options.levels)}, targetDensity = ${JSON.stringify(options.targetDensity)}`);
  }
  const b: ImpBaselines | null = options.baselines === true ? {} : options.baselines || null;
  const seed = b?.seed ?? config.initSeed;
  const baselineLevels = new Set(b?.levels ?? Array.from({ length: rounds }, (_, i) => i + 1));
  for (const n of baselineLevels) {
    if (!(Number.isSafeInteger(n) && n >= 1 && n <= rounds)) throw new Error(`impRun: baselines.levels holds ${JSON.stringify(n)}; baselines exist at levels 1..${rounds} (level 0 is the unpruned network)`);
  }
  const levels: ImpRunLevel[] = [];
  const rows: Record<string, unknown>[] = [];
  /** The copy units of level n's baselines. */
  const baselineSpecs = (level: ImpLevelResult, n: number): { randomPrune?: CopySpec; randomReinit?: CopySpec } => {
    const withBaselines = b !== null && n > 0 && baselineLevels.has(n);
    const k = level.summary.k;
    return {
      randomPrune: withBaselines && b.randomPrune !== false ? { config, k, mask: { randomPrune: level, seed, scope: b.scope } } : undefined,
      randomReinit: withBaselines && b.randomReinit !== false ? { config, k, mask: level, reinit: reinitSeed(seed, n) } : undefined,
    };
  };
  // Levels this thread already looked up (on worker threads, below), so each is found once.
  const found: ImpLevelResult[] = [];
  if (ctx.workers > 1) {
    // On worker threads: each level after the one before, and each level's baselines beside the next levels.
    const baselines: Promise<void>[] = [];
    for (let n = 0; n <= rounds; n++) {
      // The chain of levels is the critical path: each goes ahead of the baselines still waiting.
      await ctx.prefetch([{ unit: 'imp-level', config, level: n, options: { k: options.k, pruning: options.pruning } }], { first: true });
      found[n] = await impLevel(ctx, config, n, options);
      const specs = Object.values(baselineSpecs(found[n], n)).filter((s) => s !== undefined);
      const done = ctx.prefetch(specs.map(copyCall));
      done.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      baselines.push(done);
    }
    await Promise.all(baselines);
  }
  let k = 0;
  for (let n = 0; n <= rounds; n++) {
    const level = found[n] ?? await impLevel(ctx, config, n, options);
    k = level.summary.k;
    const specs = baselineSpecs(level, n);
    const randomPrune = specs.randomPrune ? await copy(ctx, specs.randomPrune) : null;
    const randomReinit = specs.randomReinit ? await copy(ctx, specs.randomReinit) : null;
    const entry = { level, randomPrune, randomReinit };
    levels.push(entry);
    const row = (method: string, s: { testAccuracy: number; testError: number; testLoss: number }, unit: string) =>
      rows.push({ level: n, density: level.summary.density, method, testAccuracy: s.testAccuracy, testError: s.testError, testLoss: s.testLoss, run: 0, unit: unit.slice(0, 12) });
    row('imp', level.summary, level.ref.hash);
    if (randomPrune) row('random-prune', randomPrune.summary, randomPrune.ref.hash);
    if (randomReinit) row('random-reinit', randomReinit.summary, randomReinit.ref.hash);
    options.onLevel?.(entry);
  }
  const columns = ['level', 'density', 'method', 'testAccuracy', 'testError', 'testLoss', 'run', 'unit'];
  return { k, levels, table: aq.table(Object.fromEntries(columns.map((c) => [c, rows.map((r) => r[c])]))) };
}
