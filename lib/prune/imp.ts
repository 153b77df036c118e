/**
 * Iterative magnitude pruning with rewinding to step k (Algorithm 2), and its two baselines.
 *
 *   W_k = A^{0->k}(W_0)                                   trained once (the trunk)
 *   level n = 0..N:  W_T^n = A^{k->T}(m_n ⊙ W_k)          m_0 = 1 (or a given mask)
 *                    m_{n+1} = magnitudePrune(W_T^n, m_n) 20% of the survivors, globally
 *
 * Rewinding restores W_k's weights, the learning-rate schedule at k and the data position at k
 * (trainFrom does all three from a state whose step is k). The optimizer state at k is the
 * config's `optimizerStateAtK`: 'reset' starts every level with fresh optimizer slots (open_lth),
 * 'restore' starts from the dense trunk's slots at k, masked. At k = 0 there is no state to
 * restore, so both policies are the same run. Every level uses config.dataOrderSeed, so levels
 * (and the baselines of a level) differ only in their mask and starting weights.
 *
 * Baselines (from level 1 on; at level 0 the mask is all ones, so random pruning would be the
 * IMP network itself): random pruning with stream('pruning', seed, level), and reinitialization
 * with init seed reinitSeed(seed, level), where seed is `baselines.seed` (default config.initSeed).
 */
import type { ColumnTable } from 'arquero';
import type { Dataset } from '../data/types';
import type { TrainConfig } from '../train/config';
import { resolveConfig, validateConfig } from '../train/config';
import { roundsToDensity } from '../train/presets';
import { parseStep, toIterations } from '../train/step';
import { buildModel, datasetFor, type TrainCallback } from '../train/trainer';
import { prunableNames } from '../models/registry';
import { disposeState, type TrainState } from '../train/state';
import { tf } from '../tf';
import { cloneMasks, createMasks, disposeMasks, maskDensity, maskState, validateMasks, type Masks } from './mask';
import { magnitudePrune, oneShotPruning, resolvePruningOptions, type PruningOptions } from './magnitude';
import { pruningFor } from './choices';
import { freshWeights, randomPruneMask, randomPruningStream, reinitSeed } from './random';
import { sparsityTable } from './sparsity';
import { trainSubnetwork, trainTrunk, type SubnetworkRun, type TrainingContext } from './subnetwork';

/** Which training a callback list is for. */
export interface ImpRun {
  kind: 'trunk' | 'imp' | 'random-prune' | 'random-reinit';
  /** IMP level (null for the trunk). */
  level: number | null;
}

/** Which baselines to train at every level from 1 on. */
export interface BaselineOptions {
  /** Random pruning with the IMP mask's per-tensor counts ('layerwise', the default) or total count ('global'); false skips it. */
  randomPrune?: boolean | 'layerwise' | 'global';
  /** Random reinitialization under the IMP mask; false skips it. Default true. */
  randomReinit?: boolean;
  /** Seed of both baselines' streams (default config.initSeed). */
  seed?: number;
}

/** Options of `imp`. */
export interface ImpOptions {
  /** Rewinding step k: iterations, or a step such as "500it" or "2ep". Default 0. */
  rewindTo?: number | string;
  /** Rounds of pruning N (levels 0..N are trained). Default: the rounds that reach targetDensity. */
  levels?: number;
  /** Prune once, straight to targetDensity (levels 0 and 1). */
  oneShot?: boolean;
  /** Density to reach: one-shot's target, or (without `levels`) where iterative pruning stops. */
  targetDensity?: number;
  /** Pruning options; default pruningFor(config.model), the presets' choice. */
  pruning?: Partial<PruningOptions>;
  /** Train the random-pruning and reinitialization baselines (true: both, layerwise). */
  baselines?: boolean | BaselineOptions;
  /** Mask of level 0 (e.g. a saved level of an earlier run); default all ones. Validated against the model. */
  initialMask?: ReadonlyMap<string, tf.Tensor>;
  /** Keep each trained network's final weights W_T (default true). */
  keepWeights?: boolean;
  dataset?: Dataset;
  signal?: AbortSignal;
  /** Called after each level (with its baselines) is done. */
  onLevel?(level: ImpLevel): void | Promise<void>;
  /** Training callbacks (progress bars) for each training IMP runs. */
  callbacks?(run: ImpRun): readonly TrainCallback[];
}

/** A baseline subnetwork of one level. */
export interface BaselineResult {
  kind: 'random-prune' | 'random-reinit';
  /** The mask it trained: a random mask, or (reinit) the level's IMP mask itself. */
  mask: Masks;
  density: number;
  testAccuracy: number;
  testError: number;
  testLoss: number;
  /** W_T, when keepWeights. */
  final: TrainState | null;
  seconds: number;
  /** random-prune: the pruning stream's indices; random-reinit: the init seed of its fresh weights. */
  seed: number;
}

/** One level of IMP. */
export interface ImpLevel {
  level: number;
  /** Fraction of the prunable weights the mask keeps. */
  density: number;
  mask: Masks;
  /** Per-tensor counts and densities of `mask`. */
  sparsity: ColumnTable;
  testAccuracy: number;
  testError: number;
  testLoss: number;
  /** W_T of this level (m ⊙ W_k trained from k to T), when keepWeights. */
  final: TrainState | null;
  seconds: number;
  randomPrune: BaselineResult | null;
  randomReinit: BaselineResult | null;
}

/** The outcome of `imp`. The caller owns every tensor and frees them with `dispose`. */
export interface ImpResult {
  config: TrainConfig;
  mode: 'iterative' | 'one-shot';
  /** k in iterations. */
  rewindTo: number;
  /** T in iterations. */
  totalIterations: number;
  /** The optimizer-state policy at k that every level trained under ('reset' and 'restore' coincide at k = 0). */
  optimizerStateAtK: TrainConfig['optimizerStateAtK'];
  pruning: PruningOptions;
  /** W_k, the state every level rewinds to (weights and the trunk's optimizer state at k). */
  rewind: TrainState;
  levels: ImpLevel[];
  /** Wall time of the whole run, seconds. */
  seconds: number;
  dispose(): void;
}

/** Runs IMP with rewinding to k (Algorithm 2) on `config`, optionally with both baselines at each level. */
export async function imp(configInput: TrainConfig, options: ImpOptions = {}): Promise<ImpResult> {
  const started = performance.now();
  const config = validateConfig({ ...configInput });
  const dataset = options.dataset ?? datasetFor(config);
  const plan = planImp(config, dataset, options);
  const keep = options.keepWeights ?? true;
  const baselines = resolveBaselines(options.baselines, config);
  const callbacksFor = (run: ImpRun) => options.callbacks?.(run) ?? [];

  const { model } = buildModel(config, dataset);
  let rewind: TrainState | null = null;
  let mask: Masks | null = null;
  // Pruning writes the next level's mask from inside the training call; kept here so that a
  // failure after pruning still frees it.
  const pending: { next: Masks | null } = { next: null };
  const levels: ImpLevel[] = [];
  try {
    // Everything that can be checked is checked before the trunk spends any training time.
    const pruning = resolvePruningOptions(plan.pruning, prunableNames(model));
    if (options.initialMask) validateMasks(model, options.initialMask);
    rewind = await trainTrunk(config, plan.rewindTo, { model, dataset, signal: options.signal, callbacks: callbacksFor({ kind: 'trunk', level: null }) });
    const atK = rewind;
    mask = options.initialMask ? cloneMasks(options.initialMask) : createMasks(model);
    for (let n = 0; n <= plan.levels; n++) {
      const current = mask as Masks; // set before level 0, and by pruning at every level before the last
      const context = { model, dataset, signal: options.signal, keepFinal: keep };
      const density = maskDensity(current);
      const run = await withStart(atK, current, (start) =>
        trainSubnetwork(config, start, current, {
          ...context,
          callbacks: callbacksFor({ kind: 'imp', level: n }),
          afterTraining: n < plan.levels
            ? (trained) => {
              const round = plan.mode === 'one-shot' ? oneShotPruning(pruning, density, plan.targetDensity!) : pruning;
              pending.next = magnitudePrune(trained.params, current, round);
            }
            : undefined,
        }));
      const level: ImpLevel = {
        level: n, density, mask: current, sparsity: sparsityTable(current), ...accuracy(run), final: run.final, seconds: run.seconds,
        randomPrune: null, randomReinit: null,
      };
      levels.push(level);
      mask = pending.next;
      pending.next = null;
      const train = (kind: 'random-prune' | 'random-reinit') => ({ ...context, callbacks: callbacksFor({ kind, level: n }) });
      if (n > 0 && baselines.randomPrune) {
        const exclude = Object.entries(pruning.tensors).filter(([, rule]) => rule === 'exclude').map(([name]) => name);
        const random = randomPruneMask(current, randomPruningStream(baselines.seed, n), { scope: baselines.randomPrune, exclude });
        level.randomPrune = await baseline('random-prune', config, atK, random, baselines.seed, train('random-prune'))
          .catch((err) => { disposeMasks(random); throw err; });
      }
      if (n > 0 && baselines.randomReinit) {
        const seed = reinitSeed(baselines.seed, n);
        // Fresh weights, and otherwise exactly W_k: its step, hence schedule and data position,
        // and its optimizer state (used only under 'restore').
        const fresh: TrainState = { step: atK.step, weights: freshWeights(config, dataset, seed), optimizer: atK.optimizer };
        level.randomReinit = await baseline('random-reinit', config, fresh, current, seed, train('random-reinit'))
          .finally(() => fresh.weights.forEach((t) => t.dispose()));
      }
      await options.onLevel?.(level);
    }
    return {
      config, mode: plan.mode, rewindTo: plan.rewindTo, totalIterations: plan.totalIterations,
      optimizerStateAtK: config.optimizerStateAtK, pruning, rewind: atK, levels,
      seconds: (performance.now() - started) / 1000,
      dispose: () => {
        disposeState(atK);
        disposeLevels(levels);
      },
    };
  } catch (err) {
    if (pending.next) disposeMasks(pending.next);
    if (mask && !levels.some((l) => l.mask === mask)) disposeMasks(mask);
    disposeLevels(levels);
    if (rewind) disposeState(rewind);
    throw err;
  } finally {
    model.dispose();
  }
}

/** The resolved plan of an IMP run: k, T, N, mode and pruning options; throws naming the field. */
export function planImp(config: TrainConfig, dataset: Dataset, options: ImpOptions): {
  rewindTo: number; totalIterations: number; levels: number; mode: 'iterative' | 'one-shot'; targetDensity: number | null; pruning: Partial<PruningOptions>;
} {
  const resolved = resolveConfig(config, dataset.train.size);
  const T = resolved.totalIterations;
  const k = toIterations(parseStep(options.rewindTo ?? 0, 'rewindTo'), resolved.itersPerEpoch);
  if (k > T) throw new Error(`imp: rewindTo = ${JSON.stringify(options.rewindTo)} is step ${k}, past the end of training (T = ${T} iterations); rewind to a step in [0, ${T}]`);
  const target = options.targetDensity;
  if (target !== undefined && !(typeof target === 'number' && target > 0 && target <= 1)) {
    throw new Error(`imp: targetDensity = ${JSON.stringify(target)} is invalid; a density is a fraction of the prunable weights in (0, 1], e.g. 0.035`);
  }
  if (options.levels !== undefined && !(Number.isSafeInteger(options.levels) && options.levels >= 0)) {
    throw new Error(`imp: levels = ${JSON.stringify(options.levels)} is invalid; give the number of pruning rounds, a whole number >= 0`);
  }
  const pruning = options.pruning ?? pruningFor(config.model);
  if (options.oneShot) {
    if (target === undefined) throw new Error('imp: targetDensity is required for one-shot pruning; e.g. targetDensity 0.3');
    if (options.levels !== undefined && options.levels !== 1) throw new Error(`imp: levels = ${options.levels} with oneShot; one-shot pruning has exactly one round (leave levels out)`);
    return { rewindTo: k, totalIterations: T, levels: 1, mode: 'one-shot', targetDensity: target, pruning };
  }
  const levels = options.levels ?? (target !== undefined ? roundsToDensity(target, pruning.fraction ?? 0.2) : undefined);
  if (levels === undefined) throw new Error('imp: give levels (rounds of pruning) or targetDensity');
  return { rewindTo: k, totalIterations: T, levels, mode: 'iterative', targetDensity: target ?? null, pruning };
}

function resolveBaselines(option: ImpOptions['baselines'], config: TrainConfig): { randomPrune: 'layerwise' | 'global' | null; randomReinit: boolean; seed: number } {
  if (!option) return { randomPrune: null, randomReinit: false, seed: config.initSeed };
  const o: BaselineOptions = option === true ? {} : option;
  const seed = o.seed ?? config.initSeed;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`imp: baselines.seed = ${JSON.stringify(seed)} is invalid; seeds are whole numbers >= 0`);
  const randomPrune = o.randomPrune === false ? null : o.randomPrune === true || o.randomPrune === undefined ? 'layerwise' : o.randomPrune;
  return { randomPrune, randomReinit: o.randomReinit ?? true, seed };
}

/**
 * Trains a baseline subnetwork (mask, start) exactly like an IMP level. Random pruning starts
 * from the unmasked W_k, so its kept weights are W_k's own values; reinitialization starts from
 * fresh weights under the IMP mask.
 */
async function baseline(
  kind: BaselineResult['kind'], config: TrainConfig, start: TrainState, mask: Masks, seed: number, context: TrainingContext & { keepFinal: boolean },
): Promise<BaselineResult> {
  const run = await withStart(start, mask, (masked) => trainSubnetwork(config, masked, mask, context));
  return { kind, mask, density: maskDensity(mask), ...accuracy(run), final: run.final, seconds: run.seconds, seed };
}

/** Runs `train` from m ⊙ state (weights and optimizer slots masked) and frees that copy afterwards. */
async function withStart<T>(state: TrainState, masks: ReadonlyMap<string, tf.Tensor>, train: (start: TrainState) => Promise<T>): Promise<T> {
  const start = maskState(state, masks);
  try {
    return await train(start);
  } finally {
    disposeState(start);
  }
}

function accuracy(run: SubnetworkRun): { testAccuracy: number; testError: number; testLoss: number } {
  return { testAccuracy: run.test.accuracy, testError: run.test.error, testLoss: run.test.loss };
}

function disposeLevels(levels: ImpLevel[]): void {
  for (const level of levels) {
    disposeMasks(level.mask);
    if (level.final) disposeState(level.final);
    if (level.randomPrune) {
      disposeMasks(level.randomPrune.mask);
      if (level.randomPrune.final) disposeState(level.randomPrune.final);
    }
    if (level.randomReinit?.final) disposeState(level.randomReinit.final);
  }
  levels.length = 0;
}
