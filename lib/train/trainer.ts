/**
 * The one training primitive: A^{k->T}. Starting from a state at step k (weights, optionally
 * optimizer state), train to step T under a data-order seed, with the learning-rate schedule
 * and the data position at k. Training 0 -> T equals 0 -> k followed by k -> T (bit-identical
 * on a deterministic backend when the optimizer state is restored).
 *
 * The loop stays short; checkpoints, progress and evaluation hook in as callbacks.
 */
import { tf } from '../tf';
import { residentSplit } from './resident';
import type { Model } from '../models/types';
import type { Dataset } from '../data/types';
import { loadDataset } from '../data/registry';
import { batchIndices, augmentationStream } from '../data/order';
import { stream, type Random } from '../rng';
import { createModel } from '../models/registry';
import { resolveConfig, validateConfig, type TrainConfig, type ResolvedSchedule } from './config';
import { learningRateAt } from './schedule';
import { createOptimizer, type Optimizer } from './optimizers';
import { loadWeights, snapshot, type TrainState } from './state';

type Tensor = tf.Tensor;

/** What a callback sees after an update. */
export interface StepContext {
  /** Updates applied so far (the step just reached). */
  step: number;
  /** Epoch of the step just reached: step / itersPerEpoch (fractional). */
  epoch: number;
  itersPerEpoch: number;
  /** The step training started from (k). */
  startStep: number;
  /** The step training stops at. */
  endStep: number;
  /** Learning rate of the update just applied. */
  lr: number;
  /** Loss of the batch of the update just applied (reads the device: call only when needed). */
  loss(): number;
  model: Model;
  optimizer: Optimizer;
  config: TrainConfig;
  dataset: Dataset;
  /** A copy of the current state (the caller owns it). */
  snapshot(): TrainState;
}

/** Hooks into training. Each fires after the update that reaches the step. */
export interface TrainCallback {
  /** Fire at these steps. */
  atSteps?: readonly number[];
  /** Fire every n steps. */
  everySteps?: number;
  /** Fire at every epoch boundary. */
  everyEpoch?: boolean;
  /** Fire at the last step. */
  atEnd?: boolean;
  onStep?(context: StepContext): void | Promise<void>;
  /** Called once before the first update (with the state at k). */
  onStart?(context: Omit<StepContext, 'lr' | 'loss'>): void | Promise<void>;
}

/** Whether `cb.onStep` fires after the update that reaches step `reached`. */
export function callbackFires(cb: TrainCallback, reached: number, itersPerEpoch: number, endStep: number): boolean {
  return (
    (cb.atSteps?.includes(reached) ?? false) ||
    (cb.everySteps !== undefined && cb.everySteps > 0 && reached % cb.everySteps === 0) ||
    (cb.everyEpoch === true && reached % itersPerEpoch === 0) ||
    (cb.atEnd === true && reached === endStep)
  );
}

/** Options of `trainFrom`. */
export interface TrainOptions {
  /** Start here (W_k and optionally the optimizer state at k). Default: fresh W_0 from initSeed, step 0. */
  from?: TrainState;
  /** Stop after this many updates in total (iterations). Default: the config's T. */
  to?: number;
  /** SGD-noise seed for this run (default config.dataOrderSeed). */
  dataOrderSeed?: number;
  /** Pruning masks by parameter name (1 keep, 0 pruned). */
  masks?: ReadonlyMap<string, Tensor>;
  /** Cancels cooperatively: checked before every update. */
  signal?: AbortSignal;
  callbacks?: readonly TrainCallback[];
  /** Dataset to use (default: loadDataset(config.dataset)). */
  dataset?: Dataset;
  /** Train this model in place (default: a new model from the registry). */
  model?: Model;
}

/** The outcome of `trainFrom`. The caller owns `model` and `optimizer` and disposes them. */
export interface TrainResult {
  model: Model;
  optimizer: Optimizer;
  /** Final step reached. */
  step: number;
  startStep: number;
  /** Wall time of the updates (seconds). */
  seconds: number;
  /** Mean training loss of the last update's batch. */
  finalLoss: number;
  dataset: Dataset;
  resolved: ResolvedSchedule;
  /** Frees model (when the trainer created it) and optimizer. */
  dispose(): void;
}

/** Raised when the AbortSignal stops training; says at which step. */
export class TrainingCancelled extends Error {
  constructor(
    readonly step: number,
    readonly endStep: number,
  ) {
    super(`training cancelled at step ${step} of ${endStep}`);
    this.name = 'TrainingCancelled';
  }
}

let interrupt: AbortSignal | undefined;

/**
 * Sets an AbortSignal that every `trainFrom` obeys in addition to its own `options.signal`:
 * the process-wide interrupt. The Jupyter kernel sets a fresh one per cell and aborts it on
 * SIGINT, so that code which composes training (and passes signals of its own) still stops.
 */
export function setInterruptSignal(signal: AbortSignal | undefined): void {
  interrupt = signal;
}

/** The signal set by `setInterruptSignal`, for loops of your own that should stop on interrupt. */
export function interruptSignal(): AbortSignal | undefined {
  return interrupt;
}

/** The dataset a config names (imageSize applies to ImageNet only; the others have a fixed size). */
export function datasetFor(config: TrainConfig): Dataset {
  return loadDataset(config.dataset, config.dataset === 'imagenet' ? { imageSize: config.imageSize } : {});
}

/** Creates the model and dataset a config names (weights from stream('init', initSeed)). */
export function buildModel(config: TrainConfig, dataset?: Dataset): { model: Model; dataset: Dataset } {
  const data = dataset ?? datasetFor(config);
  const model = createModel(config.model, {
    seed: config.initSeed,
    numClasses: data.numClasses,
    inputShape: data.imageShape,
    bnMomentum: config.bnMomentum,
  });
  return { model, dataset: data };
}

/**
 * One optimizer update as a function of a batch: forward, cross-entropy (plus weighted auxiliary
 * heads), gradients of every parameter, masked update. Returns the batch loss (a scalar the
 * caller disposes). The trainer and the benchmark both use it, so the benchmark times real code.
 */
export function createUpdate(
  model: Model,
  optimizer: Optimizer,
  masks?: ReadonlyMap<string, Tensor>,
): (x: Tensor, y: Tensor, lr: number, dropoutRng?: Random) => tf.Scalar {
  const varNameToParam = new Map<string, string>();
  for (const [name, v] of model.params) varNameToParam.set(v.name, name);
  const trainable = [...model.params.values()];
  const lossOf = (x: Tensor, y: Tensor, dropoutRng?: Random): tf.Scalar => {
    const labels = tf.oneHot(y as tf.Tensor1D, model.numClasses);
    if (model.forwardWithAuxiliary) {
      const out = model.forwardWithAuxiliary(x, { dropoutRng });
      let loss = tf.losses.softmaxCrossEntropy(labels, out.logits) as tf.Scalar;
      for (const aux of out.auxiliary)
        loss = tf.add(loss, tf.mul(tf.losses.softmaxCrossEntropy(labels, aux.logits), aux.weight));
      return loss;
    }
    return tf.losses.softmaxCrossEntropy(labels, model.forward(x, { training: true, dropoutRng })) as tf.Scalar;
  };
  return (x, y, lr, dropoutRng) =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => lossOf(x, y, dropoutRng), trainable);
      const byParam = new Map<string, Tensor>();
      for (const [varName, g] of Object.entries(grads)) byParam.set(varNameToParam.get(varName)!, g);
      optimizer.apply(model.params, byParam, lr, masks);
      return value;
    });
}

/** Trains from `options.from` (or W_0) to `options.to` (or T): A^{k->T}. */
export async function trainFrom(configInput: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const config = validateConfig({ ...configInput });
  const ownsModel = !options.model;
  const { model, dataset } = options.model
    ? { model: options.model, dataset: options.dataset ?? datasetFor(config) }
    : buildModel(config, options.dataset);
  const resolved = resolveConfig(config, dataset.train.size);
  const startStep = options.from?.step ?? 0;
  const endStep = options.to ?? resolved.totalIterations;
  const seed = options.dataOrderSeed ?? config.dataOrderSeed;
  if (!Number.isSafeInteger(endStep) || endStep < startStep) {
    throw new Error(
      `train: cannot train from step ${startStep} to step ${endStep}; the end must be a whole number >= the start`,
    );
  }
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw new Error(`train: dataOrderSeed ${seed} must be a whole number >= 0`);
  // Captured now: a later cell's interrupt signal must not govern this run.
  const signals = [options.signal, interrupt].filter((s): s is AbortSignal => s !== undefined);
  const masks = options.masks;
  if (masks) {
    for (const name of masks.keys()) {
      if (!model.params.has(name))
        throw new Error(`train: mask for '${name}', which is not a parameter of ${model.name}`);
    }
  }

  // The optimizer state at k: restored only when the policy says so (and a state exists).
  const restore = startStep > 0 && config.optimizerStateAtK === 'restore' && options.from?.optimizer;
  const optimizer = createOptimizer(resolved.optimizer, restore ? options.from!.optimizer! : undefined);
  let lastLoss: Tensor | null = null;
  const cleanup = () => {
    lastLoss?.dispose();
    lastLoss = null;
  };
  try {
    if (options.from) loadWeights(model, options.from.weights);
    if (masks) {
      tf.tidy(() => {
        for (const [name, mask] of masks) model.params.get(name)!.assign(tf.mul(model.params.get(name)!, mask));
      });
    }
    const update = createUpdate(model, optimizer, masks);

    const base = {
      itersPerEpoch: resolved.itersPerEpoch,
      startStep,
      endStep,
      model,
      optimizer,
      config,
      dataset,
    };
    const contextAt = (step: number, lr: number): StepContext => ({
      ...base,
      step,
      epoch: step / resolved.itersPerEpoch,
      lr,
      loss: () => (lastLoss ? (lastLoss.dataSync() as Float32Array)[0] : NaN),
      snapshot: () => snapshot(model, step, optimizer.state),
    });
    const callbacks = options.callbacks ?? [];
    for (const cb of callbacks) {
      await cb.onStart?.({
        ...base,
        step: startStep,
        epoch: startStep / resolved.itersPerEpoch,
        snapshot: () => snapshot(model, startStep, optimizer.state),
      });
    }

    // On the native backends the training split lives on the device (resident.ts); batches are gathered there.
    const resident = residentSplit(dataset.train, config.augment);
    const started = performance.now();
    for (let step = startStep; step < endStep; step++) {
      // Yield to the event loop so that an interrupt (AbortSignal) can arrive between updates.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signals.some((s) => s.aborted)) throw new TrainingCancelled(step, endStep);
      const lr = learningRateAt(resolved.schedule, step);
      const indices = batchIndices(dataset.train.size, config.batchSize, seed, step);
      // Dropout masks (Inception-v3) are SGD noise too: keyed by the data-order seed and the step.
      const dropoutRng = stream('dropout', seed, step);
      const loss = tf.tidy(() => {
        if (resident) {
          const { x, y } = resident.read(indices);
          return update(x, y, lr, dropoutRng);
        }
        const batch = dataset.train.read(indices, {
          augment: config.augment,
          rng: config.augment ? augmentationStream(seed, step) : undefined,
        });
        return update(tf.tensor4d(batch.x, batch.shape), tf.tensor1d(batch.y, 'int32'), lr, dropoutRng);
      });
      lastLoss?.dispose();
      lastLoss = loss;
      const reached = step + 1;
      for (const cb of callbacks) {
        if (!cb.onStep) continue;
        if (callbackFires(cb, reached, resolved.itersPerEpoch, endStep)) await cb.onStep(contextAt(reached, lr));
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const finalLoss = lastLoss ? ((lastLoss as Tensor).dataSync() as Float32Array)[0] : NaN;
    cleanup();
    return {
      model,
      optimizer,
      step: endStep,
      startStep,
      seconds,
      finalLoss,
      dataset,
      resolved,
      dispose: () => {
        optimizer.dispose();
        if (ownsModel) model.dispose();
      },
    };
  } catch (err) {
    cleanup();
    optimizer.dispose();
    if (ownsModel) model.dispose();
    throw err;
  }
}
