/**
 * Linear interpolation between two networks: W(alpha) = alpha W1 + (1 - alpha) W2 over every
 * parameter and buffer, with the masks of a subnetwork shared by both ends. One model instance
 * is reused for every alpha (its variables are reassigned, never rebuilt), and each evaluation
 * runs in large batches.
 *
 * At alpha = 1 and alpha = 0 the model is given W1 and W2 themselves rather than 1 * W1 + 0 * W2:
 * the arithmetic is exact for finite weights too (up to the sign of zero), but loading the
 * endpoints makes the curve's ends the endpoint networks by construction, whatever they hold.
 */
import { tf } from '../tf';
import type { Model } from '../models/types';
import type { Split } from '../data/types';
import { loadWeights } from '../train/state';
import { evaluate } from '../train/evaluate';
import { resolveAlphas } from './alphas';
import { BatchNormRecompute, checkBatchNormPolicy, type BatchNormPolicy } from './batchnorm';

type Tensor = tf.Tensor;

/** A split to evaluate along the curve, under the name it has in result tables. */
export interface NamedSplit {
  /** 'train' or 'test' in instability results; any label works. */
  name: string;
  split: Split;
  /** Evaluate the first `limit` examples only (0 or absent: all). */
  limit?: number;
}

/** Error and loss of W(alpha) on one split. */
export interface InterpolationPoint {
  alpha: number;
  split: string;
  /** Fraction misclassified. */
  error: number;
  /** Mean cross-entropy. */
  loss: number;
  examples: number;
}

/** Options of `interpolationCurve`. */
export interface CurveOptions {
  /** Splits to evaluate at every alpha. */
  splits: readonly NamedSplit[];
  /** A count (evenly spaced, ends included) or a list; default 30 as in the paper. */
  alphas?: number | readonly number[];
  /** BatchNorm running statistics: interpolated (default) or re-estimated at each alpha. */
  bn?: BatchNormPolicy;
  /** Required for bn 'recompute' on a model with BatchNorm: where statistics are re-estimated. */
  recompute?: BatchNormRecompute;
  /** Masks shared by both networks (1 keep, 0 pruned), by parameter name. */
  masks?: ReadonlyMap<string, Tensor>;
  /** Examples per forward pass (default 1000). */
  evalBatchSize?: number;
}

/** The parameters and buffers of a model as one map, without copying (for interpolating live models). */
export function liveWeights(model: Model): Map<string, Tensor> {
  return new Map<string, Tensor>([...model.params, ...model.buffers]);
}

/**
 * Sets `model` to W(alpha) = alpha w1 + (1 - alpha) w2 (times the masks, where given). At 0 and
 * 1 it loads w2 or w1 itself. `w1` and `w2` must each hold every parameter and buffer of the model.
 */
export function interpolateInto(
  model: Model,
  w1: ReadonlyMap<string, Tensor>,
  w2: ReadonlyMap<string, Tensor>,
  alpha: number,
  masks?: ReadonlyMap<string, Tensor>,
): void {
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`interpolate: alpha ${alpha} is outside [0, 1]`);
  if (alpha === 1 || alpha === 0) {
    loadWeights(model, alpha === 1 ? w1 : w2);
  } else {
    checkSameNames(model, w1, 'w1');
    checkSameNames(model, w2, 'w2');
    const targets = [...model.params, ...model.buffers];
    for (const [name, variable] of targets) {
      const a = w1.get(name)!;
      const b = w2.get(name)!;
      if (a.shape.join('x') !== variable.shape.join('x') || b.shape.join('x') !== variable.shape.join('x')) {
        throw new Error(`interpolate: '${name}' has shapes [${a.shape}] and [${b.shape}] but ${model.name} expects [${variable.shape}]; both networks must have the model's architecture`);
      }
      // assign inside tidy: the new value's tensor object is freed, its data stays with the variable.
      tf.tidy(() => variable.assign(tf.add(tf.mul(a, alpha), tf.mul(b, 1 - alpha))));
    }
  }
  if (masks) applyMasks(model, masks);
}

/**
 * Error and loss of W(alpha) for every alpha and split: rows ordered by alpha, then split.
 * Under bn 'recompute' the statistics of every W(alpha), the ends included, are re-estimated,
 * so the curve's ends are the endpoint networks under the same policy.
 */
export function interpolationCurve(
  model: Model,
  w1: ReadonlyMap<string, Tensor>,
  w2: ReadonlyMap<string, Tensor>,
  options: CurveOptions,
): InterpolationPoint[] {
  const alphas = resolveAlphas(options.alphas);
  const policy = checkBatchNormPolicy(options.bn ?? 'interpolate');
  if (policy === 'recompute' && model.buffers.size > 0 && !options.recompute) {
    throw new Error(`interpolate: bn 'recompute' on ${model.name} needs options.recompute (a BatchNormRecompute over training batches)`);
  }
  const points: InterpolationPoint[] = [];
  for (const alpha of alphas) {
    interpolateInto(model, w1, w2, alpha, options.masks);
    if (policy === 'recompute') options.recompute?.apply(model);
    for (const { name, split, limit } of options.splits) {
      const e = evaluate(model, split, { batchSize: options.evalBatchSize ?? 1000, limit });
      points.push({ alpha, split: name, error: e.error, loss: e.loss, examples: e.examples });
    }
  }
  return points;
}

function applyMasks(model: Model, masks: ReadonlyMap<string, Tensor>): void {
  for (const [name, mask] of masks) {
    const v = model.params.get(name);
    if (!v) throw new Error(`interpolate: mask for '${name}', which is not a parameter of ${model.name}`);
    // Multiplying by 1 and 0 is exact, so masked endpoints load bit-identical.
    tf.tidy(() => v.assign(tf.mul(v, mask)));
  }
}

function checkSameNames(model: Model, weights: ReadonlyMap<string, Tensor>, label: string): void {
  for (const name of [...model.params.keys(), ...model.buffers.keys()]) {
    if (!weights.has(name)) throw new Error(`interpolate: ${label} lacks '${name}' of ${model.name}; give every parameter and buffer (copyWeights or liveWeights)`);
  }
  for (const name of weights.keys()) {
    if (!model.params.has(name) && !model.buffers.has(name)) throw new Error(`interpolate: ${label} has '${name}', which ${model.name} does not; both networks must have the model's architecture`);
  }
}
