/**
 * IMP rewound to several k, for several initializations, as one tidy table: the rows of every
 * `impRun` with the k it rewound to and the index of its initialization as `run` (the plots'
 * mean ± std are over runs), test accuracy as `accuracy` (the column accuracyDensityPlot reads).
 * Figure 8 takes the best k per density from it; Figure 5 is its k = 0 part.
 */
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import type { ExperimentContext } from '../experiments/unit';
import { impRun } from '../experiments/imp';
import type { PruningOptions } from '../prune/magnitude';
import type { TrainConfig } from '../train/config';

/** Options of `impOverK`. */
export interface ImpOverKOptions {
  /** Rewinding steps (iterations, or "1ep"); 0 is the number 0. */
  ks: readonly (number | string)[];
  /** IMP levels 0..levels at each k. */
  levels: number;
  /** W_0 seeds of the initializations, in `run` order. */
  initSeeds: readonly number[];
  /**
   * Random pruning and reinitialization baselines, at k = 0 only (where Figures 5 and 8 draw
   * them): at every level (true) or at these levels.
   */
  baselines?: boolean | readonly number[];
  pruning?: Partial<PruningOptions>;
}

/** Every IMP level at every k and initialization as one table {level, density, method, accuracy, ..., run, k}. */
export async function impOverK(
  ctx: ExperimentContext,
  config: TrainConfig,
  options: ImpOverKOptions,
): Promise<ColumnTable> {
  const { ks, levels, initSeeds, pruning, baselines } = options;
  if (ks.length === 0 || initSeeds.length === 0) {
    throw new Error(
      `impOverK: ks = [${ks.join(', ')}], initSeeds = [${initSeeds.join(', ')}]; ` +
        'give at least one rewinding step and one seed',
    );
  }
  const listed = Array.isArray(baselines) && baselines.length > 0;
  const atZero = baselines === true ? true : listed ? { levels: baselines as readonly number[] } : false;
  const tables: ColumnTable[] = [];
  for (const k of ks) {
    for (const [init, initSeed] of initSeeds.entries()) {
      const withBaselines = k === 0 ? atZero : false;
      const result = await impRun(ctx, { ...config, initSeed }, { k, levels, pruning, baselines: withBaselines });
      tables.push(result.table.derive({ k: aq.escape(() => result.k), run: aq.escape(() => init) }));
    }
  }
  return tables.reduce((a, b) => a.concat(b)).rename({ testAccuracy: 'accuracy' });
}
