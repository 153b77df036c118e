/**
 * Instability throughout training (Figure 4) and the copies' L2 distance at every epoch
 * (Appendix D) as cached units. One `throughout` unit per initialization and k trains its pairs
 * from the initialization's trunk unit at k in lockstep (lib/stability's measureThroughout) and
 * interpolates them whenever they meet, so no trajectory is stored, only the rows. Seeds are the
 * sweep's (same W_0, trunk order and copy orders), so the pairs' end points are the networks an
 * instabilitySweep of the same config trains.
 */
import type { ColumnTable } from 'arquero';
import { validateConfig, type TrainConfig } from '../train/config';
import {
  CURVE_ARITHMETIC,
  DEFAULT_BN_BATCHES,
  PAPER_ALPHA_COUNT,
  measureThroughout,
  resolveAlphas,
  summarize,
  tablesOf,
  type CurveRow,
  type DistanceRow,
  type ExperimentRows,
  type InstabilityOptions,
  type InstabilitySetup,
  type InstabilitySummary,
  type PairRow,
  type BatchNormPolicy,
  type SplitName,
  type ThroughoutOptions,
  type ThroughoutRow,
} from '../stability';
import { canonicalJson, type Json } from '../store';
import { datasetFingerprint } from './fingerprint';
import { forEachUnit, type ExperimentContext, type UnitDefinition, type UnitResult } from './unit';
import { trainKey, unitLabel, withoutDefaults } from './keys';
import { resolveSweep } from './sweep';
import { instabilityTrunkSeed } from './pair';
import { trunkCall, trunkResult } from './trunk';
import { disposeState } from '../train/state';

/** Options of `throughoutSweep`. */
export interface ThroughoutSweepOptions extends Pick<
  InstabilityOptions,
  'k' | 'inits' | 'initSeeds' | 'pairs' | 'alphas' | 'bn' | 'bnBatches' | 'bnSeed'
> {
  /** When the copies meet and what is measured there (default: every epoch, test split, the experiment's alphas). */
  throughout?: ThroughoutOptions;
}

/** Rows at every meeting and at T, as tables, and the per-k summary (with `throughout`). */
export interface ThroughoutSweepResult {
  /** Interpolation curves at every meeting: {k, init, pair, run, step, epoch, alpha, split, error, loss}. */
  table: ColumnTable;
  /** Instability at every meeting: {k, init, pair, run, step, epoch, split, instability, ...}. */
  pairs: ColumnTable;
  /** L2 distances at every meeting and at T: {k, init, pair, run, step, epoch, l2, l2Prunable}. */
  distances: ColumnTable;
  /** Instability at T (the ordinary pair rows). */
  final: ColumnTable;
  /** Interpolation curves at T: {k, init, pair, run, alpha, split, error, loss}. */
  finalCurves: ColumnTable;
  summary: InstabilitySummary[];
  /** What ran: ks (iterations), alphas and the initializations' seeds. */
  setup: Pick<InstabilitySetup, 'ks' | 'alphas' | 'inits'>;
}

const FILE = 'rows.json';

/** One throughout unit: an initialization's config (initSeed set), k, and the sweep's settings, resolved. */
export interface ThroughoutUnitSpec {
  config: TrainConfig;
  k: number;
  pairs: number;
  alphas: number[];
  bn: BatchNormPolicy;
  bnBatches: number;
  bnSeed?: number;
  throughout: { everyEpoch?: true; everySteps?: number; alphas?: number[]; splits: SplitName[] };
}

/** The throughout unit: the pairs of one initialization and k, interpolated whenever their copies meet. */
export const THROUGHOUT_UNIT: UnitDefinition<ThroughoutUnitSpec> = {
  kind: 'throughout',
  describe: (spec) => `throughout k=${spec.k} init=${spec.config.initSeed}`,
  config: (spec) => spec.config,
  plan: (ctx, spec) => {
    const { config, k, pairs, alphas, bn, bnBatches, bnSeed, throughout: during } = spec;
    const dataset = ctx.dataset(config);
    const key = withoutDefaults({
      train: trainKey(config),
      data: datasetFingerprint(dataset),
      k,
      pairs,
      alphas: canonicalJson(alphas) === canonicalJson(resolveAlphas(PAPER_ALPHA_COUNT)) ? undefined : alphas,
      bn: bn === 'interpolate' ? undefined : bn,
      bnBatches: bn === 'recompute' && bnBatches !== DEFAULT_BN_BATCHES ? bnBatches : undefined,
      bnSeed: bn === 'recompute' && (bnSeed ?? 0) !== 0 ? bnSeed : undefined,
      throughout: withoutDefaults(during),
      curve: CURVE_ARITHMETIC, // always present: rows stored by an older arithmetic are not this one's
    }) as unknown as Json;
    const trunkSeed = instabilityTrunkSeed(config);
    return {
      kind: 'throughout',
      key,
      label: unitLabel('throughout', key),
      // W_k of the initialization's trunk: the one its instabilitySweep pairs start from.
      dependencies: [trunkCall({ ...config, dataOrderSeed: trunkSeed }, k)],
      compute: async (writer, ref, [trunkUnit]) => {
        const from = await trunkResult(trunkUnit).loadState();
        try {
          const rows = await measureThroughout({
            config,
            dataset,
            from,
            init: 0,
            pairs,
            alphas,
            bn,
            bnBatches,
            bnSeed,
            splits: ['train', 'test'],
            throughout: during,
            signal: ctx.signal,
            callbacks: ctx.callbacks(ref),
          });
          const tables = tablesOf(rows, true);
          const out = {
            curves: tables.table.objects(),
            pairs: tables.pairs.objects(),
            distances: tables.distances.objects(),
            throughoutCurves: tables.throughout!.table.objects(),
            throughoutPairs: tables.throughout!.pairs.objects(),
          };
          await writer.writeJson(FILE, out as unknown as Json);
          const s = summarize(rows, { ks: [k], bn, splits: ['train', 'test'] }, new Map(), true)[0];
          return JSON.parse(
            JSON.stringify({
              k,
              pairs,
              meetings: s.throughout?.length ?? 0,
              testInstability: s.instability.test?.mean ?? null,
              l2: s.l2.mean,
            }),
          ) as Json;
        } finally {
          disposeState(from);
        }
      },
    };
  },
};

/** Measures (or finds) the pairs of one initialization and k throughout training. */
export async function throughoutUnit(ctx: ExperimentContext, spec: ThroughoutUnitSpec): Promise<UnitResult> {
  return ctx.run({ unit: 'throughout', spec });
}

/** Instability and L2 distance throughout training from every k, one cached unit per initialization and k. */
export async function throughoutSweep(
  ctx: ExperimentContext,
  configInput: TrainConfig,
  options: ThroughoutSweepOptions = {},
): Promise<ThroughoutSweepResult> {
  const config = validateConfig({ ...configInput });
  const { ks, pairs, inits, alphas, bn } = resolveSweep('throughoutSweep', config, ctx.dataset(config), options);
  const bnBatches = options.bnBatches ?? DEFAULT_BN_BATCHES;
  const t = options.throughout ?? { everyEpoch: true };
  if (!t.everyEpoch && !t.everySteps)
    throw new Error('throughoutSweep: throughout needs everyEpoch: true or everySteps: n');
  const during = {
    everyEpoch: t.everyEpoch ? (true as const) : undefined,
    everySteps: t.everySteps,
    alphas: t.alphas === undefined ? undefined : resolveAlphas(t.alphas),
    splits: [...(t.splits ?? ['test'])] as SplitName[],
  };
  const rows: ExperimentRows = { curves: [], pairs: [], distances: [], throughoutCurves: [], throughoutPairs: [] };
  const specs = inits.map((seeds) =>
    ks.map((k): ThroughoutUnitSpec => ({
      config: { ...config, initSeed: seeds.initSeed },
      k,
      pairs,
      alphas,
      bn,
      bnBatches,
      bnSeed: options.bnSeed,
      throughout: during,
    })),
  );
  // Each initialization and k is independent: on worker threads they train at once.
  const units = await forEachUnit(ctx, specs.flat(), (spec) => throughoutUnit(ctx, spec));
  for (const [i, seeds] of inits.entries()) {
    for (const [j] of specs[i].entries()) {
      const { unit } = units[i * ks.length + j];
      const stored = await unit.readJson<Record<keyof ExperimentRows, Record<string, unknown>[]>>(FILE);
      // The unit ran one initialization (index 0): give its rows this sweep's index.
      const place = <T>(r: Record<string, unknown>): T =>
        ({ ...r, init: seeds.init, run: `${seeds.init}.${r.pair}` }) as T;
      rows.curves.push(...stored.curves.map((r) => place<CurveRow>(r)));
      rows.pairs.push(...stored.pairs.map((r) => place<PairRow>(r)));
      rows.distances.push(...stored.distances.map((r) => place<DistanceRow>(r)));
      rows.throughoutCurves.push(...stored.throughoutCurves.map((r) => place<CurveRow>(r)));
      rows.throughoutPairs.push(...stored.throughoutPairs.map((r) => place<ThroughoutRow>(r)));
    }
  }
  const tables = tablesOf(rows, true);
  const summary = summarize(rows, { ks, bn, splits: ['train', 'test'] }, new Map(), true);
  return {
    table: tables.throughout!.table,
    pairs: tables.throughout!.pairs,
    distances: tables.distances,
    final: tables.pairs,
    finalCurves: tables.table,
    summary,
    setup: { ks, alphas, inits },
  };
}
