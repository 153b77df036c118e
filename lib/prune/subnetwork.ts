/**
 * The two trainings IMP is made of: the trunk A^{0->k} (once per IMP run) and a subnetwork
 * (m, start) trained A^{k->T} under its mask and evaluated on the test split. IMP and both
 * baselines call the same `trainSubnetwork`, so they train exactly alike.
 */
import type { Dataset } from '../data/types';
import type { Model } from '../models/types';
import type { TrainConfig } from '../train/config';
import { trainFrom, type TrainCallback } from '../train/trainer';
import { evaluate, type Evaluation } from '../train/evaluate';
import { copyWeights, snapshot, type TrainState } from '../train/state';
import type { tf } from '../tf';

/** What `trainSubnetwork` and `trainTrunk` share: where to train and what to hook in. */
export interface TrainingContext {
  dataset: Dataset;
  /** Train this model in place (its weights are overwritten from the start state). */
  model: Model;
  signal?: AbortSignal;
  callbacks?: readonly TrainCallback[];
}

/** A trained subnetwork: its test evaluation, the update time and (on request) W_T. */
export interface SubnetworkRun {
  test: Evaluation;
  /** Seconds spent in optimizer updates. */
  seconds: number;
  /** Final weights W_T (no optimizer state), when `keepFinal` was set; the caller owns them. */
  final: TrainState | null;
}

/**
 * Trains `start` (a state at step k; its step, weights and, under optimizerStateAtK 'restore',
 * its optimizer state) from k to T under `masks`, then evaluates on the test split. The data
 * order is config.dataOrderSeed: every subnetwork sees the same SGD noise from k on.
 */
export async function trainSubnetwork(
  config: TrainConfig,
  start: TrainState,
  masks: ReadonlyMap<string, tf.Tensor>,
  context: TrainingContext & {
    /** Return a copy of W_T (default false). */
    keepFinal?: boolean;
    /** Sees the trained model before evaluation: where IMP prunes W_T. */
    afterTraining?: (model: Model) => void;
  },
): Promise<SubnetworkRun> {
  const { model, dataset } = context;
  const result = await trainFrom(config, { from: start, masks, model, dataset, signal: context.signal, callbacks: context.callbacks });
  try {
    // Pruning reads the trained weights here, before evaluation or anything else touches the model.
    context.afterTraining?.(model);
    const test = evaluate(model, dataset.test, { batchSize: config.evalBatchSize, limit: config.evalExamples });
    const final = context.keepFinal ? snapshot(model, result.step, null) : null;
    return { test, seconds: result.seconds, final };
  } finally {
    result.dispose();
  }
}

/**
 * W_k: trains `context.model`, which must hold W_0 (fresh from buildModel), densely from 0 to k
 * (Algorithm 2, line 2). At k = 0 that is W_0 itself, with no optimizer state. Returns a copy of
 * the state at k, weights and optimizer state both (the caller owns it); the model holds W_k.
 */
export async function trainTrunk(config: TrainConfig, k: number, context: TrainingContext): Promise<TrainState> {
  const { model } = context;
  if (k === 0) return { step: 0, weights: copyWeights(model), optimizer: null };
  const result = await trainFrom(config, { to: k, model, dataset: context.dataset, signal: context.signal, callbacks: context.callbacks });
  try {
    return snapshot(model, k, result.optimizer.state);
  } finally {
    result.dispose();
  }
}
