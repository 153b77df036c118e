/**
 * The plan of iterative magnitude pruning with rewinding to step k (Algorithm 2):
 *
 *   W_k = A^{0->k}(W_0)                                   trained once (the trunk)
 *   level n = 0..N:  W_T^n = A^{k->T}(m_n ⊙ W_k)          m_0 = 1 (or a given mask)
 *                    m_{n+1} = magnitudePrune(W_T^n, m_n) 20% of the survivors, globally
 *
 * Rewinding restores W_k's weights, the learning-rate schedule at k and the data position at k
 * (trainFrom does all three from a state whose step is k). The optimizer state at k is the
 * config's `optimizerStateAtK`. The levels themselves are store units (lib/experiments `impRun`);
 * this module resolves and checks what a run asks for, before anything trains.
 */
import type { Dataset } from '../data/types';
import { type TrainConfig, resolveConfig } from '../train/config';
import { roundsToDensity } from '../train/presets';
import { parseStep, toIterations } from '../train/step';
import type { PruningOptions } from './magnitude';
import { pruningFor } from './choices';

/** What an IMP run asks for. */
export interface ImpPlanOptions {
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
}

/** An IMP run resolved: k and T in iterations, the rounds N, the mode and the pruning per round. */
export interface ImpPlan {
  rewindTo: number;
  totalIterations: number;
  levels: number;
  mode: 'iterative' | 'one-shot';
  targetDensity: number | null;
  pruning: Partial<PruningOptions>;
}

/** The resolved plan of an IMP run; throws naming the field. */
export function planImp(config: TrainConfig, dataset: Dataset, options: ImpPlanOptions): ImpPlan {
  const resolved = resolveConfig(config, dataset.train.size);
  const T = resolved.totalIterations;
  const k = toIterations(parseStep(options.rewindTo ?? 0, 'rewindTo'), resolved.itersPerEpoch);
  if (k > T)
    throw new Error(
      `imp: rewindTo = ${JSON.stringify(options.rewindTo)} is step ${k}, ` +
        `past the end of training (T = ${T} iterations); rewind to a step in [0, ${T}]`,
    );
  const target = options.targetDensity;
  if (target !== undefined && !(typeof target === 'number' && target > 0 && target <= 1)) {
    throw new Error(
      `imp: targetDensity = ${JSON.stringify(target)} is invalid; ` +
        `a density is a fraction of the prunable weights in (0, 1], e.g. 0.035`,
    );
  }
  if (options.levels !== undefined && !(Number.isSafeInteger(options.levels) && options.levels >= 0)) {
    throw new Error(
      `imp: levels = ${JSON.stringify(options.levels)} is invalid; ` +
        `give the number of pruning rounds, a whole number >= 0`,
    );
  }
  const pruning = options.pruning ?? pruningFor(config.model);
  if (options.oneShot) {
    if (target === undefined)
      throw new Error('imp: targetDensity is required for one-shot pruning; e.g. targetDensity 0.3');
    if (options.levels !== undefined && options.levels !== 1)
      throw new Error(
        `imp: levels = ${options.levels} with oneShot; one-shot pruning has exactly one round (leave levels out)`,
      );
    return { rewindTo: k, totalIterations: T, levels: 1, mode: 'one-shot', targetDensity: target, pruning };
  }
  const levels =
    options.levels ?? (target !== undefined ? roundsToDensity(target, pruning.fraction ?? 0.2) : undefined);
  if (levels === undefined) throw new Error('imp: give levels (rounds of pruning) or targetDensity');
  return { rewindTo: k, totalIterations: T, levels, mode: 'iterative', targetDensity: target ?? null, pruning };
}
