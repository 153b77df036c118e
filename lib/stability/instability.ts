/**
 * Instability analysis (Algorithm 1): train W_0 to W_k once per initialization, spawn pairs of
 * copies that train W_k to T under different data orders, interpolate each pair and measure
 * instability = max error along the path - mean endpoint error, on train and test data.
 *
 * A list of k is a sweep (Figures 3 and 7): one trunk run per initialization trains to the
 * largest k and snapshots every k on the way, so nothing before the largest k is trained twice.
 * With `throughout`, the two copies of each pair meet at every epoch (or every N steps) and are
 * interpolated there (Figure 4). L2 distances between the copies are measured at the end and at
 * every meeting (Appendices D and E).
 */
import type { ColumnTable } from 'arquero';
import { tf } from '../tf';
import type { Model } from '../models/types';
import type { Dataset } from '../data/types';
import { validateConfig, resolveConfig, type TrainConfig } from '../train/config';
import { toIterations } from '../train/step';
import { disposeState, type TrainState } from '../train/state';
import { buildModel, datasetFor, trainFrom, type TrainCallback } from '../train/trainer';
import { evaluate } from '../train/evaluate';
import { resolveAlphas } from './alphas';
import { BatchNormRecompute, checkBatchNormPolicy, type BatchNormPolicy } from './batchnorm';
import { interpolationCurve, liveWeights } from './interpolate';
import { l2Distances } from './distance';
import { measureInstability } from './measure';
import { copySeed, initSeedsFor, type InitSeeds } from './seeds';
import { density, summarize, tablesOf, type ExperimentRows, type InstabilitySummary, type PairKey, type PairRow } from './tables';
import { trainTwins, type Checkpoints } from './twins';

type Tensor = tf.Tensor;

/** The splits instability is measured on. */
export type SplitName = 'train' | 'test';

/** A sparse subnetwork to train from step k: masks, and optionally its own state at k. */
export interface Subnetwork {
  /** 1 keep, 0 pruned, by parameter name (what lib/prune produces). */
  masks: ReadonlyMap<string, Tensor>;
  /**
   * The state to train the copies from instead of the dense trunk's W_k: IMP's own rewinding
   * point, or fresh weights for random reinitialization. Its step must be k (schedule and data
   * position); every parameter and buffer must be present. The trainer applies the masks.
   */
  start?: TrainState;
  /** Frees what the factory made; called once the subnetwork's pairs are done. */
  dispose?(): void;
}

/** Where a subnetwork is made: for each initialization and k, from the trunk's state at k. */
export interface SubnetworkContext {
  init: number;
  initSeed: number;
  k: number;
  /** The config of this initialization (initSeed set). */
  config: TrainConfig;
  /** The dense trunk's state at k (do not dispose); null when `trunk` is false. */
  trunk: TrainState | null;
  dataset: Dataset;
}

/** When and what to measure during the copies' training (Figure 4). */
export interface ThroughoutOptions extends Checkpoints {
  /** Alphas at each checkpoint (default: the experiment's alphas). */
  alphas?: number | readonly number[];
  /** Splits at each checkpoint (default ['test'], as Figure 4); [] measures L2 distances only. */
  splits?: readonly SplitName[];
}

/** A training run the experiment starts (for progress and for counting). */
export interface RunEvent {
  role: 'trunk' | 'copy';
  init: number;
  initSeed: number;
  /** The copies' starting step (undefined for the trunk). */
  k?: number;
  pair?: number;
  copy?: 1 | 2;
  from: number;
  to: number;
  dataOrderSeed: number;
}

/** Options of `instability`. */
export interface InstabilityOptions {
  /** Step(s) k to spawn the copies from: iterations, "500it" or "2ep"; a list runs a sweep. Default 0. */
  k?: number | string | readonly (number | string)[];
  /** Number of initializations (default 3, as the paper); seeds are hashed from config.initSeed. */
  inits?: number;
  /** Explicit W_0 seeds, one per initialization (overrides `inits`). */
  initSeeds?: readonly number[];
  /** Pairs of copies per initialization (default 3, as the paper). */
  pairs?: number;
  /** A count (evenly spaced, ends included) or a list; default 30. */
  alphas?: number | readonly number[];
  /** BatchNorm running statistics along the path (default 'interpolate'). */
  bn?: BatchNormPolicy;
  /** Training batches that re-estimate BatchNorm statistics under 'recompute' (default 32). */
  bnBatches?: number;
  /** Seed of the re-estimation batches, stream('bn-batches', bnSeed) (default 0). */
  bnSeed?: number;
  /** Splits to evaluate (default both). */
  splits?: readonly SplitName[];
  /** One mask for every initialization and k (dense trunk, masked copies). */
  masks?: ReadonlyMap<string, Tensor>;
  /** A subnetwork per initialization and k (IMP masks, random pruning, reinitialization). */
  subnetwork?(at: SubnetworkContext): Subnetwork | Promise<Subnetwork>;
  /**
   * Train the dense trunk 0 -> k (default true). Set false when `subnetwork` brings its own state
   * at every k (IMP trains its own trunk), so that nothing before k is trained twice.
   */
  trunk?: boolean;
  /** Interpolate the copies during training too. */
  throughout?: ThroughoutOptions;
  /** Dataset (default: the config's). */
  dataset?: Dataset;
  signal?: AbortSignal;
  /** Callbacks for every training run, trunk and copies. */
  callbacks?: readonly TrainCallback[];
  /** Called before every training run. */
  onRun?(run: RunEvent): void;
  /** Called with a pair's rows once it is measured. */
  onPair?(rows: readonly PairRow[]): void;
}

/** What `instability` returns: tidy tables plus a summary per k. */
export interface InstabilityResult {
  /** Interpolation curves: one row per k, init, pair, alpha, split (error, loss). */
  table: ColumnTable;
  /** Instability per k, init, pair, split, with endpoint errors and the pair's L2 distances. */
  pairs: ColumnTable;
  /** L2 distances per k, init, pair, step: at T and at every throughout checkpoint. */
  distances: ColumnTable;
  /** With `throughout`: curves and instability at each checkpoint step. */
  throughout?: { table: ColumnTable; pairs: ColumnTable };
  /** Mean and std over initializations x pairs, one entry per k in ascending order. */
  summary: InstabilitySummary[];
  /** What ran: resolved ks (iterations), alphas, seeds, policy. */
  setup: InstabilitySetup;
}

/** The resolved settings of an experiment (reported with its results). */
export interface InstabilitySetup {
  ks: number[];
  totalIterations: number;
  itersPerEpoch: number;
  alphas: number[];
  bn: BatchNormPolicy;
  bnBatches: number;
  splits: SplitName[];
  inits: InitSeeds[];
  pairs: number;
  evalExamples: number;
}

/** Runs Algorithm 1 for every k, initialization and pair; see the module comment. */
export async function instability(configInput: TrainConfig, options: InstabilityOptions = {}): Promise<InstabilityResult> {
  const config = validateConfig({ ...configInput });
  const dataset = options.dataset ?? datasetFor(config);
  const resolved = resolveConfig(config, dataset.train.size);
  const setup = resolveSetup(config, options, resolved.totalIterations, resolved.itersPerEpoch);
  if (options.masks && options.subnetwork) throw new Error('instability: give masks or subnetwork, not both');
  const withTrunk = options.trunk ?? true;
  if (!withTrunk && !options.subnetwork) throw new Error('instability: trunk false needs a subnetwork that brings its own state at k');
  const during = resolveThroughout(options.throughout, setup.alphas);

  const rows: ExperimentRows = { curves: [], pairs: [], distances: [], throughoutCurves: [], throughoutPairs: [] };
  const densities = new Map<number, number[]>();
  // Three models for the whole experiment: two copies trained in place and one to interpolate into.
  const built: Model[] = [];
  try {
    for (let i = 0; i < 3; i++) built.push(buildModel(config, dataset).model);
    const [copy1, copy2, probe] = built;
    const recompute = setup.bn === 'recompute' && probe.buffers.size > 0
      ? new BatchNormRecompute({ split: dataset.train, batches: setup.bnBatches, batchSize: config.batchSize, seed: options.bnSeed ?? 0, momentum: config.bnMomentum })
      : undefined;
    const experiment: PairExperiment = { config, dataset, setup, options, copies: [copy1, copy2], probe, recompute, during, rows };
    for (const seeds of setup.inits) {
      const initConfig = { ...config, initSeed: seeds.initSeed };
      const trunk = withTrunk ? await trainTrunk(initConfig, seeds, setup.ks, dataset, options) : new Map<number, TrainState>();
      try {
        for (const k of setup.ks) {
          const state = trunk.get(k) ?? null;
          const sub: Subnetwork | undefined = options.subnetwork
            ? await options.subnetwork({ init: seeds.init, initSeed: seeds.initSeed, k, config: initConfig, trunk: state, dataset })
            : options.masks ? { masks: options.masks } : undefined;
          try {
            const from = sub?.start ?? state;
            if (!from) throw new Error(`instability: the subnetwork at k = ${k} brought no start state and the trunk was not trained; return start or leave trunk on`);
            if (from.step !== k) throw new Error(`instability: the subnetwork's start state is at step ${from.step}, not k = ${k}; the copies must start where the schedule and data position are k`);
            const subDensity = sub ? density(probe, sub.masks) : null;
            if (subDensity !== null) densities.set(k, [...(densities.get(k) ?? []), subDensity]);
            for (let pair = 0; pair < setup.pairs; pair++) {
              const where = { k, init: seeds.init, initSeed: seeds.initSeed, pair, run: `${seeds.init}.${pair}` };
              await measurePair(experiment, initConfig, where, from, sub?.masks, subDensity);
            }
          } finally {
            sub?.dispose?.();
          }
        }
      } finally {
        for (const s of trunk.values()) disposeState(s);
      }
    }
  } finally {
    for (const m of built) m.dispose();
  }
  const withThroughout = options.throughout !== undefined;
  return { ...tablesOf(rows, withThroughout), summary: summarize(rows, setup, densities, withThroughout), setup };
}

/** What every pair of an experiment shares. */
interface PairExperiment {
  config: TrainConfig;
  dataset: Dataset;
  setup: InstabilitySetup;
  options: InstabilityOptions;
  copies: [Model, Model];
  /** The model every interpolated network is loaded into. */
  probe: Model;
  recompute?: BatchNormRecompute;
  during: { checkpoints?: Checkpoints; alphas: number[]; splits: SplitName[] };
  rows: ExperimentRows;
}

/** Trains one pair from `from` (meeting at the checkpoints), then interpolates and measures it at T. */
async function measurePair(
  ex: PairExperiment, config: TrainConfig, where: PairKey, from: TrainState, masks: ReadonlyMap<string, Tensor> | undefined, subDensity: number | null,
): Promise<void> {
  const { dataset, setup, options, probe, rows } = ex;
  const seeds: [number, number] = [copySeed(ex.config.dataOrderSeed, where.initSeed, where.pair, 1), copySeed(ex.config.dataOrderSeed, where.initSeed, where.pair, 2)];
  const curveOf = (w1: ReadonlyMap<string, Tensor>, w2: ReadonlyMap<string, Tensor>, alphas: number[], splits: readonly SplitName[]) =>
    interpolationCurve(probe, w1, w2, {
      bn: setup.bn, recompute: ex.recompute, evalBatchSize: config.evalBatchSize, masks, alphas,
      splits: splits.map((name) => ({ name, split: dataset[name], limit: config.evalExamples })),
    });
  const epochOf = (step: number) => step / setup.itersPerEpoch;
  const results = await trainTwins(config, {
    from, seeds, models: ex.copies, dataset, masks,
    callbacks: options.callbacks, signal: options.signal,
    checkpoints: ex.during.checkpoints,
    onStart: (copy) => options.onRun?.({ role: 'copy', init: where.init, initSeed: where.initSeed, k: where.k, pair: where.pair, copy, from: where.k, to: setup.totalIterations, dataOrderSeed: seeds[copy - 1] }),
    onMeet: (step, epoch, [m1, m2]) => {
      const w1 = liveWeights(m1);
      const w2 = liveWeights(m2);
      rows.distances.push({ ...where, step, epoch, ...l2Distances(probe, w1, w2) });
      if (ex.during.splits.length === 0) return;
      const points = curveOf(w1, w2, ex.during.alphas, ex.during.splits);
      for (const p of points) rows.throughoutCurves.push({ ...where, step, epoch, alpha: p.alpha, split: p.split, error: p.error, loss: p.loss });
      for (const split of ex.during.splits) rows.throughoutPairs.push({ ...where, step, epoch, ...measureInstability(points, split) });
    },
  });
  try {
    const [m1, m2] = [results[0].model, results[1].model];
    const w1 = liveWeights(m1);
    const w2 = liveWeights(m2);
    const end = setup.totalIterations;
    const dist = l2Distances(probe, w1, w2);
    // A checkpoint at T has already recorded the distance at the end.
    if (!rows.distances.some((d) => d.k === where.k && d.init === where.init && d.pair === where.pair && d.step === end)) {
      rows.distances.push({ ...where, step: end, epoch: epochOf(end), ...dist });
    }
    const points = curveOf(w1, w2, setup.alphas, setup.splits);
    for (const p of points) rows.curves.push({ ...where, alpha: p.alpha, split: p.split, error: p.error, loss: p.loss });
    const added: PairRow[] = setup.splits.map((split) => {
      const m = measureInstability(points, split);
      // Under 'recompute' the curve's ends carry re-estimated statistics; report the networks as trained too.
      const asTrained = ex.recompute
        ? [m1, m2].map((net) => evaluate(net, dataset[split], { batchSize: config.evalBatchSize, limit: config.evalExamples }).error)
        : [m.error1, m.error2];
      return { ...where, seed1: seeds[0], seed2: seeds[1], ...m, trainedError1: asTrained[0], trainedError2: asTrained[1], ...dist, density: subDensity };
    });
    rows.pairs.push(...added);
    options.onPair?.(added);
  } finally {
    results[0].dispose();
    results[1].dispose();
  }
}

/** Checkpoints, alphas and splits of `throughout`, checked before any training starts. */
function resolveThroughout(throughout: ThroughoutOptions | undefined, alphas: number[]): PairExperiment['during'] {
  if (!throughout) return { alphas: [], splits: [] };
  const { everyEpoch, everySteps } = throughout;
  if (everySteps !== undefined && !(Number.isSafeInteger(everySteps) && everySteps >= 1)) {
    throw new Error(`instability: throughout.everySteps = ${everySteps}; give a whole number of steps >= 1`);
  }
  if (!everyEpoch && everySteps === undefined) throw new Error('instability: throughout needs everyEpoch: true or everySteps: N');
  const during = { checkpoints: { everyEpoch, everySteps }, alphas: resolveAlphas(throughout.alphas ?? alphas), splits: [...(throughout.splits ?? ['test'])] as SplitName[] };
  if (during.splits.some((s) => s !== 'train' && s !== 'test')) throw new Error(`instability: throughout.splits [${during.splits.join(', ')}]; use 'train' and/or 'test'`);
  if (during.splits.length > 0 && (!during.alphas.includes(0) || !during.alphas.includes(1))) {
    throw new Error(`instability: throughout.alphas [${during.alphas.join(', ')}] must include 0 and 1, the two copies`);
  }
  return during;
}

/** Trains one initialization's trunk to the largest k, once, keeping a snapshot at every k. */
async function trainTrunk(config: TrainConfig, seeds: InitSeeds, ks: readonly number[], dataset: Dataset, options: InstabilityOptions): Promise<Map<number, TrainState>> {
  const states = new Map<number, TrainState>();
  const kmax = ks[ks.length - 1];
  options.onRun?.({ role: 'trunk', init: seeds.init, initSeed: seeds.initSeed, from: 0, to: kmax, dataOrderSeed: seeds.trunkSeed });
  const snapshotter: TrainCallback = {
    atSteps: ks.filter((k) => k > 0),
    onStart: (ctx) => {
      if (ks[0] === 0) states.set(0, ctx.snapshot());
    },
    onStep: (ctx) => {
      states.set(ctx.step, ctx.snapshot());
    },
  };
  try {
    const result = await trainFrom(config, {
      to: kmax, dataOrderSeed: seeds.trunkSeed, dataset, signal: options.signal,
      callbacks: [...(options.callbacks ?? []), snapshotter],
    });
    result.dispose();
  } catch (err) {
    for (const s of states.values()) disposeState(s);
    throw err;
  }
  return states;
}

function resolveSetup(config: TrainConfig, options: InstabilityOptions, totalIterations: number, itersPerEpoch: number): InstabilitySetup {
  const kList = options.k === undefined ? [0] : Array.isArray(options.k) ? options.k : [options.k as number | string];
  if (kList.length === 0) throw new Error('instability: k is an empty list; give at least one step, e.g. 0 or "500it"');
  const ks = [...new Set(kList.map((k, i) => {
    const it = toIterations(typeof k === 'number' ? k : String(k), itersPerEpoch);
    if (!(it >= 0 && it <= totalIterations)) throw new Error(`instability: k[${i}] = ${k} is ${it} iterations, outside 0..${totalIterations} (T of ${config.model}); k must lie within training`);
    return it;
  }))].sort((a, b) => a - b);
  const pairs = options.pairs ?? 3;
  if (!Number.isSafeInteger(pairs) || pairs < 1) throw new Error(`instability: pairs = ${pairs}; give a whole number of pairs >= 1`);
  const splits = [...(options.splits ?? ['train', 'test'])] as SplitName[];
  if (splits.length === 0 || splits.some((s) => s !== 'train' && s !== 'test')) throw new Error(`instability: splits [${splits.join(', ')}]; use 'train' and/or 'test'`);
  const alphas = resolveAlphas(options.alphas);
  if (!alphas.includes(0) || !alphas.includes(1)) throw new Error(`instability: alphas [${alphas.join(', ')}] must include 0 and 1, the two trained networks`);
  return {
    ks,
    totalIterations,
    itersPerEpoch,
    alphas,
    bn: checkBatchNormPolicy(options.bn ?? 'interpolate'),
    bnBatches: options.bnBatches ?? 32,
    splits,
    inits: initSeedsFor(config.initSeed, config.dataOrderSeed, options.inits ?? 3, options.initSeeds),
    pairs,
    evalExamples: config.evalExamples,
  };
}
