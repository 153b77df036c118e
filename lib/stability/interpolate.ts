/**
 * Linear interpolation between two networks: W(alpha) = alpha W1 + (1 - alpha) W2 over every
 * parameter and buffer, with the masks of a subnetwork shared by both ends. One model instance
 * is reused for every alpha (its variables are reassigned, never rebuilt), and each evaluation
 * runs in large batches.
 *
 * At alpha = 1 and alpha = 0 the model is given W1 and W2 themselves rather than 1 * W1 + 0 * W2:
 * the arithmetic is exact for finite weights too (up to the sign of zero), but loading the
 * endpoints makes the curve's ends the endpoint networks by construction, whatever they hold.
 *
 * Where the model describes a linear input layer, the curve computes that layer's output once per
 * batch for each network and mixes the two at every alpha (input-split.ts): the same ends, bit for
 * bit, and interior points within float32 rounding of the forward of W(alpha).
 */
import { tf } from '../tf';
import type { InputLayer, Model } from '../models/types';
import { loadWeights } from '../train/state';
import { evaluate } from '../train/evaluate';
import { resolveAlphas } from './alphas';
import { BatchNormRecompute, checkBatchNormPolicy, type BatchNormPolicy } from './batchnorm';
import { inputSplitCurve, type LayerWeights, type NamedSplit } from './input-split';

export type { NamedSplit } from './input-split';

type Tensor = tf.Tensor;

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
  /**
   * Where the model describes a linear input layer (Model.inputLayer), compute its output once
   * per batch for each network and mix the two at every alpha (default true; see input-split.ts).
   * The ends are the endpoint networks' own logits either way; interior points differ from the
   * plain forward of W(alpha) (false) by float32 rounding.
   */
  splitInputLayer?: boolean;
  /**
   * Memory for both networks' input-layer outputs (default 256 MiB): examples go through in chunks
   * that fit, and where one evaluation batch does not fit, every alpha runs the plain forward.
   */
  inputLayerBytes?: number;
}

/**
 * The evaluation arithmetic of `interpolationCurve`, for the identity of stored curves: 1 ran the
 * plain forward of W(alpha) at every alpha; 2 mixes the outputs of a linear input layer, which
 * rounds interior alphas differently.
 */
export const CURVE_ARITHMETIC = 2;

/** Default of CurveOptions.inputLayerBytes. */
export const DEFAULT_INPUT_LAYER_BYTES = 256 * 2 ** 20;

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
        throw new Error(
          `interpolate: '${name}' has shapes [${a.shape}] and [${b.shape}] but ${model.name} expects ` +
            `[${variable.shape}]; both networks must have the model's architecture`,
        );
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
    throw new Error(
      `interpolate: bn 'recompute' on ${model.name} needs options.recompute ` +
        `(a BatchNormRecompute over training batches)`,
    );
  }
  const batchSize = options.evalBatchSize ?? 1000;
  const layer = options.splitInputLayer === false ? undefined : model.inputLayer;
  const throughInput = layer ? splitThroughInputLayer(model, layer, w1, w2, alphas, policy, batchSize, options) : null;
  if (throughInput) return throughInput;
  const points: InterpolationPoint[] = [];
  for (const alpha of alphas) {
    interpolateInto(model, w1, w2, alpha, options.masks);
    if (policy === 'recompute') options.recompute?.apply(model);
    for (const { name, split, limit } of options.splits) {
      const e = evaluate(model, split, { batchSize, limit });
      points.push({ alpha, split: name, error: e.error, loss: e.loss, examples: e.examples });
    }
  }
  return points;
}

/** The curve through the model's linear input layer, or null where one batch exceeds the memory budget. */
function splitThroughInputLayer(
  model: Model,
  layer: InputLayer,
  w1: ReadonlyMap<string, Tensor>,
  w2: ReadonlyMap<string, Tensor>,
  alphas: readonly number[],
  policy: BatchNormPolicy,
  batchSize: number,
  options: CurveOptions,
): InterpolationPoint[] | null {
  // The ends' layer parameters exactly as the model holds them when it is W1 or W2 (masks applied).
  const at = (alpha: number): LayerWeights => {
    interpolateInto(model, w1, w2, alpha, options.masks);
    return {
      kernel: tf.clone(model.params.get(layer.kernel)!),
      bias: layer.bias === undefined ? undefined : tf.clone(model.params.get(layer.bias)!),
    };
  };
  const ends: [LayerWeights, LayerWeights] = [at(1), at(0)];
  // Every chunk of examples visits every alpha: re-estimate each W(alpha)'s statistics once.
  const statistics = new Map<number, Tensor[]>();
  const prepare = (alpha: number): void => {
    interpolateInto(model, w1, w2, alpha, options.masks);
    if (policy !== 'recompute' || !options.recompute || model.buffers.size === 0) return;
    const stored = statistics.get(alpha);
    if (stored) {
      [...model.buffers.values()].forEach((v, i) => v.assign(stored[i]));
      return;
    }
    options.recompute.apply(model);
    statistics.set(
      alpha,
      [...model.buffers.values()].map((v) => tf.clone(v)),
    );
  };
  try {
    const results = inputSplitCurve(model, layer, {
      ends,
      alphas,
      splits: options.splits,
      batchSize,
      budgetBytes: options.inputLayerBytes ?? DEFAULT_INPUT_LAYER_BYTES,
      prepare,
    });
    return (
      results &&
      alphas.flatMap((alpha, a) =>
        options.splits.map(({ name }, s) => {
          const e = results[a][s];
          return { alpha, split: name, error: e.error, loss: e.loss, examples: e.examples };
        }),
      )
    );
  } finally {
    for (const w of ends) tf.dispose([w.kernel, ...(w.bias ? [w.bias] : [])]);
    for (const t of statistics.values()) tf.dispose(t);
  }
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
    if (!weights.has(name))
      throw new Error(
        `interpolate: ${label} lacks '${name}' of ${model.name}; ` +
          `give every parameter and buffer (copyWeights or liveWeights)`,
      );
  }
  for (const name of weights.keys()) {
    if (!model.params.has(name) && !model.buffers.has(name))
      throw new Error(
        `interpolate: ${label} has '${name}', which ${model.name} does not; ` +
          `both networks must have the model's architecture`,
      );
  }
}
