/**
 * What an instability experiment (Algorithm 1) asks for and answers: train W_0 to W_k once per
 * initialization, spawn pairs of copies that train W_k to T under different data orders,
 * interpolate each pair and measure instability = max error along the path - mean endpoint
 * error, on train and test data. A list of k is a sweep (Figures 3 and 7); with `throughout` the
 * copies also meet during training (Figure 4). The experiments layer runs them as store units
 * (instabilitySweep, throughoutSweep); this module holds their shapes.
 */
import type { ColumnTable } from 'arquero';
import type { BatchNormPolicy } from './batchnorm';
import type { InitSeeds } from './seeds';
import type { InstabilitySummary, PairRow } from './tables';
import type { Checkpoints } from './twins';

/** The splits instability is measured on. */
export type SplitName = 'train' | 'test';

/** When and what to measure during the copies' training (Figure 4). */
export interface ThroughoutOptions extends Checkpoints {
  /** Alphas at each checkpoint (default: the experiment's alphas). */
  alphas?: number | readonly number[];
  /** Splits at each checkpoint (default ['test'], as Figure 4); [] measures L2 distances only. */
  splits?: readonly SplitName[];
}

/** What an instability experiment asks for (the options of instabilitySweep and throughoutSweep). */
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
  /** Called with a pair's rows once it is measured. */
  onPair?(rows: readonly PairRow[]): void;
}

/** What an instability experiment answers: tidy tables plus a summary per k. */
export interface InstabilityResult {
  /** Interpolation curves: one row per k, init, pair, alpha, split (error, loss). */
  table: ColumnTable;
  /** Instability per k, init, pair, split, with endpoint errors and the pair's L2 distances. */
  pairs: ColumnTable;
  /** L2 distances per k, init, pair at T. */
  distances: ColumnTable;
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
