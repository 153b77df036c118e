/**
 * Instability throughout training (Figure 4): the pairs of copies of one initialization train
 * from W_k in lockstep and are interpolated whenever they meet (every epoch or every N steps),
 * then at T as Algorithm 1 does; the L2 distance between the copies is measured at every meeting
 * and at T (Appendix D). A pure algorithm: W_k comes in, rows come out; nothing is stored.
 */
import { tf } from '../tf';
import type { Model } from '../models/types';
import type { Dataset } from '../data/types';
import { resolveConfig, type TrainConfig } from '../train/config';
import type { TrainState } from '../train/state';
import { buildModel, type TrainCallback } from '../train/trainer';
import { evaluate } from '../train/evaluate';
import { resolveAlphas } from './alphas';
import { BatchNormRecompute, type BatchNormPolicy } from './batchnorm';
import { interpolationCurve, liveWeights } from './interpolate';
import { l2Distances } from './distance';
import { measureInstability } from './measure';
import { copySeed } from './seeds';
import type { ExperimentRows, PairKey, PairRow } from './tables';
import { trainTwins, type Checkpoints } from './twins';
import type { SplitName, ThroughoutOptions } from './instability';

type Tensor = tf.Tensor;

/** One initialization's pairs, measured throughout training from W_k. */
export interface ThroughoutRun {
  /** The initialization's config: initSeed is W_0's seed, dataOrderSeed the base the copies' seeds are hashed from. */
  config: TrainConfig;
  dataset: Dataset;
  /** W_k, with the optimizer state at k; its step is k. The caller keeps it. */
  from: TrainState;
  /** The initialization's index in result rows. */
  init: number;
  pairs: number;
  alphas: number[];
  bn: BatchNormPolicy;
  bnBatches: number;
  bnSeed?: number;
  /** Splits measured at T. */
  splits: readonly SplitName[];
  throughout: ThroughoutOptions;
  signal?: AbortSignal;
  callbacks?: readonly TrainCallback[];
}

/** Trains and measures every pair of `run`; resolves to the rows of the meetings and of T. */
export async function measureThroughout(run: ThroughoutRun): Promise<ExperimentRows> {
  const during = resolveThroughout(run.throughout, run.alphas);
  const rows: ExperimentRows = { curves: [], pairs: [], distances: [], throughoutCurves: [], throughoutPairs: [] };
  // Three models for every pair: two copies trained in place and one to interpolate into.
  const built: Model[] = [];
  try {
    for (let i = 0; i < 3; i++) built.push(buildModel(run.config, run.dataset).model);
    const [copy1, copy2, probe] = built;
    const recompute =
      run.bn === 'recompute' && probe.buffers.size > 0
        ? new BatchNormRecompute({
            split: run.dataset.train,
            batches: run.bnBatches,
            batchSize: run.config.batchSize,
            seed: run.bnSeed ?? 0,
            momentum: run.config.bnMomentum,
          })
        : undefined;
    for (let pair = 0; pair < run.pairs; pair++) {
      const where: PairKey = {
        k: run.from.step,
        init: run.init,
        initSeed: run.config.initSeed,
        pair,
        run: `${run.init}.${pair}`,
      };
      await measurePair({ run, copies: [copy1, copy2], probe, recompute, during, rows }, where);
    }
  } finally {
    for (const m of built) m.dispose();
  }
  return rows;
}

/** What every pair of a run shares. */
interface PairContext {
  run: ThroughoutRun;
  copies: [Model, Model];
  /** The model every interpolated network is loaded into. */
  probe: Model;
  recompute?: BatchNormRecompute;
  during: { checkpoints: Checkpoints; alphas: number[]; splits: SplitName[] };
  rows: ExperimentRows;
}

/** Trains one pair from W_k (meeting at the checkpoints), then interpolates and measures it at T. */
async function measurePair(ex: PairContext, where: PairKey): Promise<void> {
  const { run, probe, rows } = ex;
  const { config, dataset } = run;
  const { totalIterations: end, itersPerEpoch } = resolveConfig(config, dataset.train.size);
  const seeds: [number, number] = [
    copySeed(config.dataOrderSeed, where.initSeed, where.pair, 1),
    copySeed(config.dataOrderSeed, where.initSeed, where.pair, 2),
  ];
  const curveOf = (
    w1: ReadonlyMap<string, Tensor>,
    w2: ReadonlyMap<string, Tensor>,
    alphas: number[],
    splits: readonly SplitName[],
  ) =>
    interpolationCurve(probe, w1, w2, {
      bn: run.bn,
      recompute: ex.recompute,
      evalBatchSize: config.evalBatchSize,
      alphas,
      splits: splits.map((name) => ({ name, split: dataset[name], limit: config.evalExamples })),
    });
  const results = await trainTwins(config, {
    from: run.from,
    seeds,
    models: ex.copies,
    dataset,
    callbacks: run.callbacks,
    signal: run.signal,
    checkpoints: ex.during.checkpoints,
    onMeet: (step, epoch, [m1, m2]) => {
      const w1 = liveWeights(m1);
      const w2 = liveWeights(m2);
      rows.distances.push({ ...where, step, epoch, ...l2Distances(probe, w1, w2) });
      if (ex.during.splits.length === 0) return;
      const points = curveOf(w1, w2, ex.during.alphas, ex.during.splits);
      for (const p of points)
        rows.throughoutCurves.push({
          ...where,
          step,
          epoch,
          alpha: p.alpha,
          split: p.split,
          error: p.error,
          loss: p.loss,
        });
      for (const split of ex.during.splits)
        rows.throughoutPairs.push({ ...where, step, epoch, ...measureInstability(points, split) });
    },
  });
  try {
    const [m1, m2] = [results[0].model, results[1].model];
    const w1 = liveWeights(m1);
    const w2 = liveWeights(m2);
    const dist = l2Distances(probe, w1, w2);
    // A checkpoint at T has already recorded the distance at the end.
    if (!rows.distances.some((d) => d.pair === where.pair && d.step === end))
      rows.distances.push({ ...where, step: end, epoch: end / itersPerEpoch, ...dist });
    const points = curveOf(w1, w2, run.alphas, run.splits);
    for (const p of points)
      rows.curves.push({ ...where, alpha: p.alpha, split: p.split, error: p.error, loss: p.loss });
    const added: PairRow[] = run.splits.map((split) => {
      const m = measureInstability(points, split);
      // Under 'recompute' the curve's ends carry re-estimated statistics; report the networks as trained too.
      const asTrained = ex.recompute
        ? [m1, m2].map(
            (net) =>
              evaluate(net, dataset[split], { batchSize: config.evalBatchSize, limit: config.evalExamples }).error,
          )
        : [m.error1, m.error2];
      return {
        ...where,
        seed1: seeds[0],
        seed2: seeds[1],
        ...m,
        trainedError1: asTrained[0],
        trainedError2: asTrained[1],
        ...dist,
        density: null,
      };
    });
    rows.pairs.push(...added);
  } finally {
    results[0].dispose();
    results[1].dispose();
  }
}

/** Checkpoints, alphas and splits of `throughout`, checked before any training starts. */
export function resolveThroughout(throughout: ThroughoutOptions, alphas: number[]): PairContext['during'] {
  const { everyEpoch, everySteps } = throughout;
  if (everySteps !== undefined && !(Number.isSafeInteger(everySteps) && everySteps >= 1)) {
    throw new Error(`throughout.everySteps = ${everySteps}; give a whole number of steps >= 1`);
  }
  if (!everyEpoch && everySteps === undefined) throw new Error('throughout needs everyEpoch: true or everySteps: N');
  const during = {
    checkpoints: { everyEpoch, everySteps },
    alphas: resolveAlphas(throughout.alphas ?? alphas),
    splits: [...(throughout.splits ?? ['test'])] as SplitName[],
  };
  if (during.splits.some((s) => s !== 'train' && s !== 'test'))
    throw new Error(`throughout.splits [${during.splits.join(', ')}]; use 'train' and/or 'test'`);
  if (during.splits.length > 0 && (!during.alphas.includes(0) || !during.alphas.includes(1))) {
    throw new Error(`throughout.alphas [${during.alphas.join(', ')}] must include 0 and 1, the two copies`);
  }
  return during;
}
