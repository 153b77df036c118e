/**
 * Instability throughout training (Figure 4) and the copies' L2 distance at every epoch
 * (Appendix D) as cached units. One `throughout` unit per initialization and k runs
 * lib/stability's `instability()` with `throughout`: the two copies of each pair train in
 * lockstep and are interpolated whenever they meet, so no trajectory is stored, only the rows.
 * Seeds are the sweep's (same W_0, trunk order and copy orders), so the pairs' end points are the
 * networks an instabilitySweep of the same config trains.
 */
import type { ColumnTable } from 'arquero';
import { validateConfig, type TrainConfig } from '../train/config';
import {
  CURVE_ARITHMETIC, DEFAULT_BN_BATCHES, PAPER_ALPHA_COUNT, instability, resolveAlphas, summarize, tablesOf,
  type CurveRow, type DistanceRow, type ExperimentRows, type InstabilityOptions, type InstabilitySummary, type PairRow,
  type SplitName, type ThroughoutOptions, type ThroughoutRow,
} from '../stability';
import { canonicalJson, type Json } from '../store';
import { cachedUnit, datasetFingerprint, type ExperimentContext } from './context';
import { trainKey, unitLabel, withoutDefaults } from './keys';
import { resolveSweep } from './sweep';

/** Options of `throughoutSweep`. */
export interface ThroughoutSweepOptions extends Pick<InstabilityOptions, 'k' | 'inits' | 'initSeeds' | 'pairs' | 'alphas' | 'bn' | 'bnBatches' | 'bnSeed'> {
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
  summary: InstabilitySummary[];
}

const FILE = 'rows.json';

/** Instability and L2 distance throughout training from every k, one cached unit per initialization and k. */
export async function throughoutSweep(ctx: ExperimentContext, configInput: TrainConfig, options: ThroughoutSweepOptions = {}): Promise<ThroughoutSweepResult> {
  const config = validateConfig({ ...configInput });
  const dataset = ctx.dataset(config);
  const data = datasetFingerprint(dataset);

  const { ks, pairs, inits, alphas, bn } = resolveSweep('throughoutSweep', config, dataset, options);
  const bnBatches = options.bnBatches ?? DEFAULT_BN_BATCHES;
  const t = options.throughout ?? { everyEpoch: true };
  if (!t.everyEpoch && !t.everySteps) throw new Error('throughoutSweep: throughout needs everyEpoch: true or everySteps: n');
  const during = {
    everyEpoch: t.everyEpoch ? true : undefined, everySteps: t.everySteps,
    alphas: t.alphas === undefined ? undefined : resolveAlphas(t.alphas), splits: [...(t.splits ?? ['test'])] as SplitName[],
  };
  const rows: ExperimentRows = { curves: [], pairs: [], distances: [], throughoutCurves: [], throughoutPairs: [] };
  for (const seeds of inits) {
    const initConfig = { ...config, initSeed: seeds.initSeed };
    for (const k of ks) {
      const key = withoutDefaults({
        train: trainKey(initConfig), data, k, pairs,
        alphas: canonicalJson(alphas) === canonicalJson(resolveAlphas(PAPER_ALPHA_COUNT)) ? undefined : alphas,
        bn: bn === 'interpolate' ? undefined : bn,
        bnBatches: bn === 'recompute' && bnBatches !== DEFAULT_BN_BATCHES ? bnBatches : undefined,
        bnSeed: bn === 'recompute' && (options.bnSeed ?? 0) !== 0 ? options.bnSeed : undefined,
        throughout: withoutDefaults(during),
        curve: CURVE_ARITHMETIC, // always present: rows stored by an older arithmetic are not this one's
      }) as unknown as Json;
      const { unit } = await cachedUnit(ctx, 'throughout', key, unitLabel('throughout', key), async (writer, ref) => {
        const result = await instability(initConfig, {
          k, initSeeds: [seeds.initSeed], pairs, alphas, bn, bnBatches, bnSeed: options.bnSeed, dataset,
          throughout: during, signal: ctx.signal, callbacks: ctx.callbacks(ref),
        });
        const out = {
          curves: result.table.objects(), pairs: result.pairs.objects(), distances: result.distances.objects(),
          throughoutCurves: result.throughout!.table.objects(), throughoutPairs: result.throughout!.pairs.objects(),
        };
        await writer.writeJson(FILE, out as unknown as Json);
        const s = result.summary[0];
        return JSON.parse(JSON.stringify({ k, pairs, meetings: s.throughout?.length ?? 0, testInstability: s.instability.test?.mean ?? null, l2: s.l2.mean })) as Json;
      });
      const stored = await unit.readJson<Record<keyof ExperimentRows, Record<string, unknown>[]>>(FILE);
      // The unit ran one initialization (index 0): give its rows this sweep's index.
      const place = <T>(r: Record<string, unknown>): T => ({ ...r, init: seeds.init, run: `${seeds.init}.${r.pair}` }) as T;
      rows.curves.push(...stored.curves.map((r) => place<CurveRow>(r)));
      rows.pairs.push(...stored.pairs.map((r) => place<PairRow>(r)));
      rows.distances.push(...stored.distances.map((r) => place<DistanceRow>(r)));
      rows.throughoutCurves.push(...stored.throughoutCurves.map((r) => place<CurveRow>(r)));
      rows.throughoutPairs.push(...stored.throughoutPairs.map((r) => place<ThroughoutRow>(r)));
    }
  }
  const tables = tablesOf(rows, true);
  const summary = summarize(rows, { ks, bn, splits: ['train', 'test'] }, new Map(), true);
  return { table: tables.throughout!.table, pairs: tables.throughout!.pairs, distances: tables.distances, final: tables.pairs, summary };
}
