/**
 * An instability sweep over k (Figures 3 and 7) as cached pair units, with lib/stability's
 * tables and per-k summary (mean and std over initializations x pairs). Each trunk continues from
 * the finished trunk at the next smaller k, so nothing before the largest k is trained twice, and
 * a sweep extended by a k or a pair trains only what is new.
 */
import { validateConfig, resolveConfig, type TrainConfig } from '../train/config';
import {
  checkBatchNormPolicy,
  initSeedsFor,
  resolveAlphas,
  summarize,
  tablesOf,
  DEFAULT_BN_BATCHES,
  PAPER_ALPHA_COUNT,
  type BatchNormPolicy,
  type ExperimentRows,
  type InitSeeds,
  type InstabilityOptions,
  type InstabilityResult,
  type PairRow,
  type SplitName,
} from '../stability';
import type { Dataset } from '../data/types';
import { forEachUnit, type ExperimentContext, type UnitCall } from './unit';
import { stepOf } from './keys';
import type { MaskSpec } from './masks';
import { instabilityPair, pairCall, type PairResult, type PairSpec } from './pair';

/** Options of `instabilitySweep`: lib/stability's names and defaults, plus a stored mask. */
export interface SweepOptions extends Pick<
  InstabilityOptions,
  'k' | 'inits' | 'initSeeds' | 'pairs' | 'alphas' | 'bn' | 'bnBatches' | 'bnSeed' | 'splits' | 'onPair'
> {
  /** One mask for every copy (dense trunk, masked copies). */
  mask?: MaskSpec;
  /**
   * A subnetwork per initialization and k (overrides `mask`): its mask, fresh weights (random
   * reinitialization) and the trunk it starts from. IMP subnetworks differ per initialization,
   * so a sweep over inits of sparse networks names them here (see sparseSweep).
   */
  subnetwork?(at: SweepSubnetworkContext): SweepSubnetwork | Promise<SweepSubnetwork>;
}

/** Where a sweep asks for a subnetwork. */
export interface SweepSubnetworkContext {
  init: number;
  initSeed: number;
  k: number;
  /** This initialization's config (initSeed set). */
  config: TrainConfig;
}

/** What both copies of the pairs at one initialization and k train. */
export interface SweepSubnetwork {
  mask?: MaskSpec;
  /** Fresh weights of this seed instead of W_k (random reinitialization). */
  reinit?: number;
  /** Data-order seed of the trunk 0 -> k (IMP's own trunk trains under config.dataOrderSeed). */
  trunkSeed?: number;
}

/** The sweep's tables and summary and its pair units. */
export interface SweepResult extends InstabilityResult {
  units: PairResult[];
}

/**
 * The options every sweep shares, resolved and checked: ks
 * (iterations, ascending), pairs, initializations, alphas, policy.
 */
export function resolveSweep(
  who: string,
  config: TrainConfig,
  dataset: Dataset,
  options: Pick<InstabilityOptions, 'k' | 'inits' | 'initSeeds' | 'pairs' | 'alphas' | 'bn'>,
): { ks: number[]; pairs: number; inits: InitSeeds[]; alphas: number[]; bn: BatchNormPolicy } {
  const kList = options.k === undefined ? [0] : Array.isArray(options.k) ? options.k : [options.k as number | string];
  if (kList.length === 0) throw new Error(`${who}: k is an empty list; give at least one step, e.g. 0 or "500it"`);
  const ks = [...new Set(kList.map((k, i) => stepOf(config, dataset, k, `k[${i}]`)))].sort((a, b) => a - b);
  const pairs = options.pairs ?? 3;
  if (!Number.isSafeInteger(pairs) || pairs < 1)
    throw new Error(`${who}: pairs = ${pairs}; give a whole number of pairs >= 1`);
  return {
    ks,
    pairs,
    inits: initSeedsFor(config.initSeed, config.dataOrderSeed, options.inits ?? 3, options.initSeeds),
    alphas: resolveAlphas(options.alphas ?? PAPER_ALPHA_COUNT),
    bn: checkBatchNormPolicy(options.bn ?? 'interpolate'),
  };
}

/** Instability at every k, initialization and pair, each pair a cached unit. */
export async function instabilitySweep(
  ctx: ExperimentContext,
  configInput: TrainConfig,
  options: SweepOptions = {},
): Promise<SweepResult> {
  const config = validateConfig({ ...configInput });
  const dataset = ctx.dataset(config);
  const resolved = resolveConfig(config, dataset.train.size);
  const { ks, pairs, inits, alphas, bn } = resolveSweep('instabilitySweep', config, dataset, options);
  const splits = [...(options.splits ?? ['train', 'test'])] as SplitName[];
  const rows: ExperimentRows = { curves: [], pairs: [], distances: [], throughoutCurves: [], throughoutPairs: [] };
  const densities = new Map<number, number[]>();
  const units: PairResult[] = [];
  const T = resolved.totalIterations;
  const planned = await plannedPairs(ctx, config, options, { ks, pairs, inits, alphas, bn }, splits);
  // Every pair at once on worker threads (their copies first, as each pair's dependencies).
  await forEachUnit(
    ctx,
    planned,
    (p) => instabilityPair(ctx, p.spec),
    async (unit, i) => {
      const { seeds, k, pair } = planned[i];
      units.push(unit);
      const s = unit.summary;
      const where = { k, init: seeds.init, initSeed: seeds.initSeed, pair, run: `${seeds.init}.${pair}` };
      for (const p of await unit.curve())
        rows.curves.push({ ...where, alpha: p.alpha, split: p.split, error: p.error, loss: p.loss });
      rows.distances.push({ ...where, step: T, epoch: T / resolved.itersPerEpoch, l2: s.l2, l2Prunable: s.l2Prunable });
      const added: PairRow[] = splits.map((split) => ({
        ...where,
        seed1: s.seed1,
        seed2: s.seed2,
        ...s.splits[split],
        l2: s.l2,
        l2Prunable: s.l2Prunable,
        density: s.density,
      }));
      rows.pairs.push(...added);
      // A subnetwork's density is recorded once per initialization and k.
      if (pair === 0 && s.density !== null) densities.set(k, [...(densities.get(k) ?? []), s.density]);
      options.onPair?.(added);
    },
  );
  const setup = {
    ks,
    totalIterations: T,
    itersPerEpoch: resolved.itersPerEpoch,
    alphas,
    bn,
    bnBatches: options.bnBatches ?? DEFAULT_BN_BATCHES,
    splits,
    inits,
    pairs,
    evalExamples: config.evalExamples,
  };
  const { table, pairs: pairTable, distances } = tablesOf(rows, false);
  return { table, pairs: pairTable, distances, summary: summarize(rows, setup, densities, false), setup, units };
}

/** The pair specs of a sweep, by initialization, k and pair. */
async function plannedPairs(
  ctx: ExperimentContext,
  config: TrainConfig,
  options: SweepOptions,
  resolved: ReturnType<typeof resolveSweep>,
  splits: SplitName[],
): Promise<{ seeds: InitSeeds; k: number; pair: number; spec: PairSpec }[]> {
  const { ks, pairs, inits, alphas, bn } = resolved;
  const planned: { seeds: InitSeeds; k: number; pair: number; spec: PairSpec }[] = [];
  for (const seeds of inits) {
    const initConfig = { ...config, initSeed: seeds.initSeed };
    for (const k of ks) {
      const sub: SweepSubnetwork = options.subnetwork
        ? await options.subnetwork({ init: seeds.init, initSeed: seeds.initSeed, k, config: initConfig })
        : { mask: options.mask };
      for (let pair = 0; pair < pairs; pair++) {
        planned.push({
          seeds,
          k,
          pair,
          spec: {
            config: initConfig,
            k,
            pair,
            trunkSeed: sub.trunkSeed ?? seeds.trunkSeed,
            mask: sub.mask,
            reinit: sub.reinit,
            alphas,
            bn,
            bnBatches: options.bnBatches,
            bnSeed: options.bnSeed,
            splits,
            shortcuts: ks,
          },
        });
      }
    }
  }
  return planned;
}

/**
 * Every pair call of `instabilitySweep(ctx, config, options)` (their copies and trunks are their dependencies): what
 * a cluster submits at once.
 */
export async function sweepCalls(
  ctx: ExperimentContext,
  configInput: TrainConfig,
  options: SweepOptions = {},
): Promise<UnitCall[]> {
  const config = validateConfig({ ...configInput });
  const resolved = resolveSweep('instabilitySweep', config, ctx.dataset(config), options);
  const splits = [...(options.splits ?? ['train', 'test'])] as SplitName[];
  return (await plannedPairs(ctx, config, options, resolved, splits)).map((p) => pairCall(p.spec));
}
