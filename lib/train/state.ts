/**
 * A snapshot of training at one step: the weights (parameters and BatchNorm buffers, by name),
 * the optimizer state and the step. It is what rewinding restores (W_k) and what a checkpoint
 * holds. Snapshots own copies of their tensors, so later training never changes them.
 */
import { tf } from '../tf';
import type { Model } from '../models/types';
import { cloneOptimizerState, disposeOptimizerState, type OptimizerState } from './optimizers';

type Tensor = tf.Tensor;

/** The state of training after `step` updates. */
export interface TrainState {
  step: number;
  /** Parameters then buffers, in the model's order. */
  weights: Map<string, Tensor>;
  /** Optimizer slots and update count at `step` (null at step 0 or when not kept). */
  optimizer: OptimizerState | null;
}

/** Copies a model's parameters and buffers into a new map (the caller owns the copies). */
export function copyWeights(model: Model): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, v] of model.params) out.set(name, tf.keep(v.clone()));
  for (const [name, v] of model.buffers) out.set(name, tf.keep(v.clone()));
  return out;
}

/** Assigns `weights` to the model; every parameter and buffer must be present with its shape. */
export function loadWeights(model: Model, weights: ReadonlyMap<string, Tensor>): void {
  const targets = [...model.params, ...model.buffers];
  for (const [name, variable] of targets) {
    const w = weights.get(name);
    if (!w)
      throw new Error(
        `weights: '${name}' of ${model.name} is missing; the state was saved from a different model or is incomplete`,
      );
    if (w.shape.join('x') !== variable.shape.join('x')) {
      throw new Error(`weights: '${name}' has shape [${w.shape}] but ${model.name} expects [${variable.shape}]`);
    }
    variable.assign(w.dtype === variable.dtype ? w : tf.cast(w, variable.dtype));
  }
  for (const name of weights.keys()) {
    if (!model.params.has(name) && !model.buffers.has(name)) {
      throw new Error(
        `weights: '${name}' is not a parameter or buffer of ${model.name}; the state was saved from a different model`,
      );
    }
  }
}

/** Snapshot of a model and optimizer at `step`. */
export function snapshot(model: Model, step: number, optimizer: OptimizerState | null): TrainState {
  return { step, weights: copyWeights(model), optimizer: optimizer ? cloneOptimizerState(optimizer) : null };
}

/** Frees a snapshot's tensors. */
export function disposeState(state: TrainState): void {
  for (const t of state.weights.values()) t.dispose();
  if (state.optimizer) disposeOptimizerState(state.optimizer);
}
