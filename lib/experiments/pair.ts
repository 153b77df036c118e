/**
 * The instability pair unit (Algorithm 1 for one pair): two copy units trained from the same W_k
 * under different data orders, their interpolation curve at every alpha on train and test data,
 * instability (max error along the path minus the mean endpoint error) and their L2 distances.
 *
 * Seeds are lib/stability's: the copies' data orders are copySeed(dataOrderSeed, initSeed, pair, 1|2)
 * and the dense trunk trains under that initialization's hashed trunk seed (initSeedsFor), so the
 * pairs of different initializations and k never share an order. The copies are units of their
 * own: a second curve (other alphas, the other BatchNorm policy) trains nothing.
 */
import * as aq from 'arquero';
import { validateConfig, type TrainConfig } from '../train/config';
import { evaluate } from '../train/evaluate';
import { disposeState, loadWeights, type TrainState } from '../train/state';
import { buildModel } from '../train/trainer';
import { disposeMasks } from '../prune/mask';
import {
  BatchNormRecompute,
  CURVE_ARITHMETIC,
  DEFAULT_BN_BATCHES,
  PAPER_ALPHA_COUNT,
  checkBatchNormPolicy,
  copySeed,
  density,
  initSeedsFor,
  interpolationCurve,
  l2Distances,
  measureInstability,
  resolveAlphas,
  type BatchNormPolicy,
  type InterpolationPoint,
  type InstabilityMeasure,
  type SplitName,
} from '../stability';
import { canonicalJson, type Json } from '../store';
import { datasetFingerprint } from './fingerprint';
import type { ExperimentContext, UnitCall, UnitDefinition, UnitResult } from './unit';
import { copyCall, copyResult, type CopySpec } from './copy';
import { stepOf, trainKey, unitLabel, withoutDefaults } from './keys';
import { loadMask, maskKey, type MaskKey, type MaskSpec } from './masks';

/** One pair of an instability experiment. */
export interface PairSpec {
  /**
   * The initialization's config: initSeed is W_0's seed;
   * dataOrderSeed is the base the copies' seeds are hashed from.
   */
  config: TrainConfig;
  /** Step k the copies start from. */
  k: number | string;
  /** Index of the pair within its initialization (0, 1, 2, ...). */
  pair: number;
  /** Data-order seed of the trunk 0 -> k (default lib/stability's per-initialization trunk seed). */
  trunkSeed?: number;
  /** Both copies train this subnetwork. */
  mask?: MaskSpec;
  /** Both copies start from fresh weights of this init seed (random reinitialization). */
  reinit?: number;
  /** A count (evenly spaced, ends included) or a list; default 30. */
  alphas?: number | readonly number[];
  /** BatchNorm statistics along the path (default 'interpolate'). */
  bn?: BatchNormPolicy;
  bnBatches?: number;
  bnSeed?: number;
  /** Splits evaluated along the path (default train and test). */
  splits?: readonly SplitName[];
  /** Earlier trunk steps the trunk may continue from (a sweep's other k); not part of the identity. */
  shortcuts?: readonly (number | string)[];
}

/** What a pair unit reports: per split the instability measures, plus the pair's seeds and distances. */
export interface PairSummary {
  k: number;
  pair: number;
  initSeed: number;
  seed1: number;
  seed2: number;
  l2: number;
  l2Prunable: number;
  density: number | null;
  /** By split: instability measures, and the errors of the two networks as trained (their own BatchNorm statistics). */
  splits: Record<string, InstabilityMeasure & { trainedError1: number; trainedError2: number }>;
}

/** A finished pair. */
export interface PairResult extends UnitResult {
  summary: PairSummary;
  /** The interpolation curve: error and loss at every alpha and split. */
  curve(): Promise<InterpolationPoint[]>;
}

const DEFAULT_SPLITS: readonly SplitName[] = ['train', 'test'];

/** The default trunk seed of an initialization (initSeedsFor's, for that initialization alone). */
export function instabilityTrunkSeed(config: TrainConfig): number {
  return initSeedsFor(config.initSeed, config.dataOrderSeed, 1, [config.initSeed])[0].trunkSeed;
}

/** A pair spec checked and resolved: its unit key, its copies, and what evaluating it needs. */
function resolvePair(ctx: ExperimentContext, spec: PairSpec | PairCallSpec) {
  const config = validateConfig({ ...spec.config });
  const dataset = ctx.dataset(config);
  const data = datasetFingerprint(dataset);
  const k = stepOf(config, dataset, spec.k, 'pair k');
  if (!Number.isSafeInteger(spec.pair) || spec.pair < 0)
    throw new Error(`instabilityPair: pair = ${JSON.stringify(spec.pair)}; give the pair's index, a whole number >= 0`);
  const alphas = resolveAlphas(spec.alphas ?? PAPER_ALPHA_COUNT);
  if (!alphas.includes(0) || !alphas.includes(1))
    throw new Error(`instabilityPair: alphas [${alphas.join(', ')}] must include 0 and 1, the two trained networks`);
  const bn = checkBatchNormPolicy(spec.bn ?? 'interpolate');
  const bnBatches = spec.bnBatches ?? DEFAULT_BN_BATCHES;
  const bnSeed = spec.bnSeed ?? 0;
  const splits = [...(spec.splits ?? DEFAULT_SPLITS)];
  if (splits.length === 0 || splits.some((s) => s !== 'train' && s !== 'test'))
    throw new Error(`instabilityPair: splits [${splits.join(', ')}]; use 'train' and/or 'test'`);
  const trunkSeed = spec.trunkSeed ?? instabilityTrunkSeed(config);
  const mask = spec.mask === undefined ? undefined : maskKey(spec.mask, config);
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  const key = withoutDefaults({
    train: trainKey(config),
    data,
    k,
    pair: spec.pair,
    trunkSeed: trunkSeed === instabilityTrunkSeed(config) ? undefined : trunkSeed,
    mask,
    reinit: spec.reinit,
    alphas: same(alphas, resolveAlphas(PAPER_ALPHA_COUNT)) ? undefined : alphas,
    bn: bn === 'interpolate' ? undefined : bn,
    // The re-estimation settings matter only when statistics are re-estimated.
    bnBatches: bn === 'recompute' && bnBatches !== DEFAULT_BN_BATCHES ? bnBatches : undefined,
    bnSeed: bn === 'recompute' && bnSeed !== 0 ? bnSeed : undefined,
    splits: same(splits, DEFAULT_SPLITS) ? undefined : splits,
    curve: CURVE_ARITHMETIC, // always present: pairs stored by an older arithmetic are not this one's
  });
  const seeds: [number, number] = [
    copySeed(config.dataOrderSeed, config.initSeed, spec.pair, 1),
    copySeed(config.dataOrderSeed, config.initSeed, spec.pair, 2),
  ];
  const copySpecs = seeds.map((seed): CopySpec => ({
    config: { ...config, dataOrderSeed: seed },
    k,
    trunkSeed,
    mask: spec.mask,
    reinit: spec.reinit,
    shortcuts: spec.shortcuts,
  }));
  return { config, dataset, k, alphas, bn, bnBatches, bnSeed, splits, mask, key, seeds, copySpecs };
}

/** A pair as a call carries it: the mask by its key. */
export type PairCallSpec = Omit<PairSpec, 'mask'> & { mask?: MaskKey };

/** The call of `instabilityPair(ctx, spec)`, its mask given by key. */
export function pairCall(spec: PairSpec): UnitCall {
  const mask = spec.mask === undefined ? undefined : maskKey(spec.mask, validateConfig({ ...spec.config }));
  return { unit: 'instability-pair', spec: { ...spec, mask } satisfies PairCallSpec };
}

/** The instability pair unit: its two copies, then their interpolation curve and distances. */
export const PAIR_UNIT: UnitDefinition<PairCallSpec> = {
  kind: 'instability-pair',
  describe: (spec) => `instability pair k=${spec.k} pair=${spec.pair}`,
  config: (spec) => spec.config,
  plan: (ctx, spec) => {
    const { config, dataset, k, alphas, bn, bnBatches, bnSeed, splits, mask, key, seeds, copySpecs } = resolvePair(
      ctx,
      spec,
    );
    return {
      kind: 'instability-pair',
      key: key as unknown as Json,
      label: unitLabel('instability-pair', key as unknown as Json),
      dependencies: copySpecs.map(copyCall),
      compute: async (writer, _ref, copies) => {
        const { model: probe } = buildModel(config, dataset);
        const states: TrainState[] = [];
        const masks = mask ? await loadMask(ctx, mask, config) : undefined;
        try {
          for (const c of copies) states.push(await copyResult(c).loadFinal());
          const [w1, w2] = states.map((s) => s.weights);
          const recompute =
            bn === 'recompute' && probe.buffers.size > 0
              ? new BatchNormRecompute({
                  split: dataset.train,
                  batches: bnBatches,
                  batchSize: config.batchSize,
                  seed: bnSeed,
                  momentum: config.bnMomentum,
                })
              : undefined;
          const points = interpolationCurve(probe, w1, w2, {
            bn,
            recompute,
            evalBatchSize: config.evalBatchSize,
            masks,
            alphas,
            splits: splits.map((name) => ({ name, split: dataset[name], limit: config.evalExamples })),
          });
          const dist = l2Distances(probe, w1, w2);
          const bySplit: PairSummary['splits'] = {};
          for (const split of splits) {
            const m = measureInstability(points, split);
            // Under 'recompute' the curve's ends carry re-estimated statistics; report the networks as trained too.
            const trained = recompute
              ? [w1, w2].map((w) => {
                  loadWeights(probe, w);
                  return evaluate(probe, dataset[split], {
                    batchSize: config.evalBatchSize,
                    limit: config.evalExamples,
                  }).error;
                })
              : [m.error1, m.error2];
            bySplit[split] = { ...m, trainedError1: trained[0], trainedError2: trained[1] };
          }
          await writer.writeJson('curve.json', points);
          await writer.writeTable('curve', aq.from(points), ['csv', 'arrow']);
          const summary: PairSummary = {
            k,
            pair: spec.pair,
            initSeed: config.initSeed,
            seed1: seeds[0],
            seed2: seeds[1],
            ...dist,
            density: masks ? density(probe, masks) : null,
            splits: bySplit,
          };
          // JSON has no NaN or Infinity (a diverged network's loss): they are kept as null.
          return JSON.parse(JSON.stringify(summary)) as Json;
        } finally {
          states.forEach(disposeState);
          if (masks) disposeMasks(masks);
          probe.dispose();
        }
      },
    };
  },
};

/** A finished pair unit as a PairResult. */
export function pairResult({ unit, ref }: UnitResult): PairResult {
  return {
    unit,
    ref,
    summary: unit.summary as unknown as PairSummary,
    curve: () => unit.readJson<InterpolationPoint[]>('curve.json'),
  };
}

/** Measures (or finds) one instability pair. */
export async function instabilityPair(ctx: ExperimentContext, spec: PairSpec): Promise<PairResult> {
  return pairResult(await ctx.run(pairCall(spec)));
}
