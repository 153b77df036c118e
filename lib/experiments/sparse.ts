/**
 * Instability of sparse subnetworks (Figures 6 and 7, Appendices C and E) as cached units: for
 * each initialization and rewinding step k, IMP rewound to k prunes to the chosen level, and the
 * three kinds of subnetwork the paper compares are trained as instability pairs from W_k:
 * the IMP subnetwork (its mask on W_k), random pruning (a random mask with the IMP mask's
 * per-layer counts on W_k) and random reinitialization (the IMP mask on fresh weights). Masks and
 * seeds are impRun's, so these pairs reuse the IMP levels a Figure 5 run trained.
 */
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import { validateConfig, type TrainConfig } from '../train/config';
import { roundsToDensity } from '../train/presets';
import { reinitSeed } from '../prune/random';
import { oneShotPruning, type PruningOptions } from '../prune/magnitude';
import { pruningFor } from '../prune/choices';
import { forEachUnit, type ExperimentContext } from './unit';
import { impLevel } from './imp';
import { instabilitySweep, resolveSweep, type SweepOptions, type SweepResult, type SweepSubnetwork } from './sweep';

/** The kinds of subnetwork the paper compares. */
export type SubnetworkKind = 'imp' | 'random-prune' | 'random-reinit';
export const SUBNETWORK_KINDS: readonly SubnetworkKind[] = ['imp', 'random-prune', 'random-reinit'];

/** Options of `sparseSweep`: a sweep's options plus the pruning level and the kinds to measure. */
export interface SparseSweepOptions extends Omit<SweepOptions, 'mask' | 'subnetwork'> {
  /** Rounds of pruning (the level of IMP); default: the rounds nearest `targetDensity`. */
  levels?: number;
  /** Density to reach when `levels` is not given, e.g. 0.035. */
  targetDensity?: number;
  /** Kinds of subnetwork (default all three). */
  methods?: readonly SubnetworkKind[];
  /** Pruning per round (default: the model's, as impRun). */
  pruning?: Partial<PruningOptions>;
  /** Prune once, straight to `targetDensity` (level 1), as impRun's oneShot. */
  oneShot?: boolean;
}

/** Per kind the sweep, and tables over all kinds with a `method` column. */
export interface SparseSweepResult {
  levels: number;
  sweeps: Partial<Record<SubnetworkKind, SweepResult>>;
  /** Interpolation curves (as SweepResult.table) with `method`. */
  table: ColumnTable;
  /** Instability per pair and split (as SweepResult.pairs) with `method`. */
  pairs: ColumnTable;
  /** L2 distances at T (as SweepResult.distances) with `method`. */
  distances: ColumnTable;
  /** Test accuracy of every trained copy: {method, k, init, pair, run, copy, accuracy, density}. */
  accuracy: ColumnTable;
  /** One row per method and k: density, instability and accuracy as mean and std over inits x pairs. */
  summary: ColumnTable;
}

/** Instability of IMP, randomly pruned and randomly reinitialized subnetworks at every k. */
export async function sparseSweep(
  ctx: ExperimentContext,
  configInput: TrainConfig,
  options: SparseSweepOptions = {},
): Promise<SparseSweepResult> {
  const config = validateConfig({ ...configInput });
  if (options.oneShot) {
    if (options.targetDensity === undefined)
      throw new Error('sparseSweep: oneShot needs targetDensity, the density its one round prunes to');
    const pruning = oneShotPruning(options.pruning ?? pruningFor(config.model), 1, options.targetDensity);
    return sparseSweep(ctx, config, { ...options, oneShot: false, levels: 1, targetDensity: undefined, pruning });
  }
  const levels =
    options.levels ??
    (options.targetDensity !== undefined
      ? roundsToDensity(options.targetDensity, options.pruning?.fraction ?? 0.2)
      : undefined);
  if (levels === undefined || !Number.isSafeInteger(levels) || levels < 1) {
    throw new Error(
      `sparseSweep: give levels (a whole number of pruning rounds >= 1) or targetDensity in (0, 1); ` +
        `got levels = ${JSON.stringify(options.levels)}, targetDensity = ${JSON.stringify(options.targetDensity)}`,
    );
  }
  const methods = [...(options.methods ?? SUBNETWORK_KINDS)];
  const unknown = methods.filter((m) => !SUBNETWORK_KINDS.includes(m));
  if (methods.length === 0 || unknown.length > 0)
    throw new Error(`sparseSweep: methods [${methods.join(', ')}]; choose from ${SUBNETWORK_KINDS.join(', ')}`);
  const { levels: _l, targetDensity: _t, methods: _m, oneShot: _o, pruning, ...sweepOptions } = options;
  const sweeps: SparseSweepResult['sweeps'] = {};
  // Every initialization's IMP run to k is independent of the others: on worker threads they train at once.
  const { ks, inits } = resolveSweep('sparseSweep', config, ctx.dataset(config), sweepOptions);
  const runs = inits.flatMap((seeds) => ks.map((k) => ({ config: { ...config, initSeed: seeds.initSeed }, k })));
  await forEachUnit(ctx, runs, (run) => impLevel(ctx, run.config, levels, { k: run.k, pruning }));
  for (const method of methods) {
    sweeps[method] = await instabilitySweep(ctx, config, {
      ...sweepOptions,
      subnetwork: async ({ k, config: initConfig }): Promise<SweepSubnetwork> => {
        // IMP trains its own trunk under the init's data order; every kind starts from that W_k.
        const level = await impLevel(ctx, initConfig, levels, { k, pruning });
        const trunkSeed = initConfig.dataOrderSeed;
        if (method === 'imp') return { mask: level, trunkSeed };
        if (method === 'random-prune') return { mask: { randomPrune: level }, trunkSeed };
        return { mask: level, reinit: reinitSeed(initConfig.initSeed, levels), trunkSeed };
      },
    });
  }
  const withMethod = (pick: (s: SweepResult) => ColumnTable) => {
    const rows = methods.flatMap((m) =>
      (pick(sweeps[m]!).objects() as Record<string, unknown>[]).map((r) => ({ method: m, ...r })),
    );
    return aq.from(rows);
  };
  const accuracyRows = methods.flatMap((m) =>
    sweeps[m]!.units.flatMap((u) => {
      const s = u.summary;
      const split = s.splits.test;
      if (!split) return [];
      const init = sweeps[m]!.setup.inits.findIndex((i) => i.initSeed === s.initSeed);
      return ([1, 2] as const).map((c) => ({
        method: m,
        k: s.k,
        init,
        pair: s.pair,
        run: `${init}.${s.pair}.${c}`,
        copy: c,
        density: s.density,
        accuracy: 1 - (c === 1 ? split.trainedError1 : split.trainedError2),
      }));
    }),
  );
  const summaryRows = methods.flatMap((m) =>
    sweeps[m]!.summary.map((s) => ({
      method: m,
      k: s.k,
      density: s.density,
      n: s.n,
      testInstability: s.instability.test?.mean ?? null,
      testInstabilityStd: s.instability.test?.std ?? null,
      trainInstability: s.instability.train?.mean ?? null,
      trainInstabilityStd: s.instability.train?.std ?? null,
      testAccuracy: s.accuracy.test?.mean ?? null,
      testAccuracyStd: s.accuracy.test?.std ?? null,
      l2: s.l2.mean,
      l2Std: s.l2.std,
    })),
  );
  return {
    levels,
    sweeps,
    table: withMethod((s) => s.table),
    pairs: withMethod((s) => s.pairs),
    distances: withMethod((s) => s.distances),
    accuracy: aq.from(accuracyRows),
    summary: aq.from(summaryRows),
  };
}
