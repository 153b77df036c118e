/**
 * Building blocks shared by every architecture: a parameter builder that draws all initial
 * weights from one JS random stream in architecture order (so a seed gives bit-identical
 * weights on every backend), and the forward helpers (conv, dense, BatchNorm, pooling) written
 * directly with tfjs-core ops on those variables.
 */
import { tf, type Tensor, type Variable } from '../tf';
import { normals, type Random } from '../rng';
import type { ForwardOptions, InputLayer, InputLayerOp, Model, Padding, ParamInfo, ParamRole } from './types';
import { normalizeWithBatchStatistics } from './batch-norm';
import { addBias, channelAffine } from './channel-ops';

/** A convolution's variables and geometry. */
export interface Conv {
  readonly kernel: Variable;
  readonly bias?: Variable;
  readonly strides: [number, number];
  readonly pad: Padding;
}

/** A fully connected layer's variables. */
export interface Dense {
  readonly kernel: Variable;
  readonly bias: Variable;
}

/** A BatchNorm layer: trainable scale/shift plus running statistics (buffers). */
export interface BatchNorm {
  readonly gamma: Variable;
  readonly beta: Variable;
  readonly runningMean: Variable;
  readonly runningVariance: Variable;
  readonly epsilon: number;
  readonly momentum: number;
}

/** Geometry of a convolution for `ParamBuilder.conv`. */
export interface ConvSpec {
  /** Kernel size: one number for square kernels, or [height, width] (Inception's 1x7 / 7x1). */
  kernel: number | [number, number];
  stride?: number;
  /** PyTorch-style symmetric padding: one number, or [vertical, horizontal] (default 0). */
  pad?: number | [number, number];
  bias: boolean;
}

let modelInstances = 0;

/**
 * Creates a model's variables in a fixed order from one random stream. Kernels are Kaiming
 * normal (fan_in, gain sqrt(2)) as open_lth initializes them; biases start at zero; BatchNorm
 * at gamma 1, beta 0, running mean 0, running variance 1. Only kernels consume random numbers,
 * so the draw order is exactly the order of kernels in the architecture.
 */
export class ParamBuilder {
  /** Trainable variables by hierarchical name, in creation order. */
  readonly params = new Map<string, Variable>();
  /** Metadata for each trainable variable. */
  readonly info = new Map<string, ParamInfo>();
  /** Non-trainable BatchNorm statistics by hierarchical name. */
  readonly buffers = new Map<string, Variable>();
  // Engine variable names are global: a per-instance prefix lets many models coexist and keeps
  // the hierarchical name readable in tfjs errors and in variableGrads' result keys.
  private readonly prefix: string;

  constructor(
    modelName: string,
    private readonly rng: Random,
    private readonly bnMomentum = 0.1,
  ) {
    this.prefix = `${modelName}#${++modelInstances}/`;
  }

  /** A convolution kernel [kh, kw, cin, cout] (and optional zero bias), with PyTorch padding. */
  conv(name: string, cin: number, cout: number, spec: ConvSpec): Conv {
    const [kh, kw] = typeof spec.kernel === 'number' ? [spec.kernel, spec.kernel] : spec.kernel;
    const kernel = this.normal(`${name}.kernel`, [kh, kw, cin, cout], Math.sqrt(2 / (kh * kw * cin)), 'conv-kernel');
    const bias = spec.bias ? this.constant(`${name}.bias`, [cout], 0, 'bias') : undefined;
    const stride = spec.stride ?? 1;
    return { kernel, bias, strides: [stride, stride], pad: torchPadding(spec.pad ?? 0) };
  }

  /** A dense kernel [in, out] and zero bias [out]. */
  dense(name: string, inputs: number, outputs: number): Dense {
    const kernel = this.normal(`${name}.kernel`, [inputs, outputs], Math.sqrt(2 / inputs), 'dense-kernel');
    return { kernel, bias: this.constant(`${name}.bias`, [outputs], 0, 'bias') };
  }

  /** BatchNorm over `channels` channels (momentum from the builder, PyTorch convention). */
  batchNorm(name: string, channels: number, epsilon = 1e-5): BatchNorm {
    return {
      gamma: this.constant(`${name}.gamma`, [channels], 1, 'bn-gamma'),
      beta: this.constant(`${name}.beta`, [channels], 0, 'bn-beta'),
      runningMean: this.buffer(`${name}.runningMean`, [channels], 0),
      runningVariance: this.buffer(`${name}.runningVariance`, [channels], 1),
      epsilon,
      momentum: this.bnMomentum,
    };
  }

  private normal(name: string, shape: number[], std: number, role: ParamRole): Variable {
    return this.add(name, shape, normals(sizeOf(shape), std, this.rng), role);
  }

  private constant(name: string, shape: number[], value: number, role: ParamRole): Variable {
    return this.add(name, shape, new Float32Array(sizeOf(shape)).fill(value), role);
  }

  private add(name: string, shape: number[], values: Float32Array, role: ParamRole): Variable {
    if (this.params.has(name))
      throw new Error(`models: parameter '${name}' defined twice; names must be unique within a model`);
    const v = makeVariable(values, shape, true, this.prefix + name);
    this.params.set(name, v);
    this.info.set(name, { name, shape, role, prunable: role === 'conv-kernel' || role === 'dense-kernel' });
    return v;
  }

  private buffer(name: string, shape: number[], value: number): Variable {
    if (this.buffers.has(name))
      throw new Error(`models: buffer '${name}' defined twice; names must be unique within a model`);
    const v = makeVariable(new Float32Array(sizeOf(shape)).fill(value), shape, false, this.prefix + name);
    this.buffers.set(name, v);
    return v;
  }
}

function makeVariable(values: Float32Array, shape: number[], trainable: boolean, name: string): Variable {
  const initial = tf.tensor(values, shape, 'float32');
  const v = tf.variable(initial, trainable, name);
  initial.dispose(); // the variable holds its own reference to the data
  return v;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// PyTorch pads symmetrically; tfjs 'same' pads the extra row at the bottom for strided convs,
// which would shift every strided layer by a pixel relative to the reference architectures.
function torchPadding(pad: number | [number, number]): Padding {
  const [ph, pw] = typeof pad === 'number' ? [pad, pad] : pad;
  if (ph === pw) return ph === 0 ? 'valid' : ph;
  return [
    [0, 0],
    [ph, ph],
    [pw, pw],
    [0, 0],
  ];
}

/** Applies a convolution (NHWC input, [kh, kw, cin, cout] kernel) plus its bias if any. */
export function conv2d(x: Tensor, layer: Conv): Tensor {
  const y = tf.conv2d(x as tf.Tensor4D, layer.kernel as tf.Tensor4D, layer.strides, layer.pad);
  return layer.bias ? addBias(y, layer.bias) : y;
}

/**
 * An input layer's x W without the bias: a matmul on x flattened
 * to [n, features], or a convolution. Linear in `kernel`.
 */
export function inputLinear(x: Tensor, op: InputLayerOp, kernel: Tensor): Tensor {
  return op.kind === 'dense'
    ? tf.matMul(tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D, kernel as tf.Tensor2D)
    : tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, op.strides, op.pad);
}

/** An input layer's output from its linear part: plus the bias, added as `dense` and `conv2d` add it. */
export function inputOutput(z: Tensor, op: InputLayerOp, bias?: Tensor): Tensor {
  if (!bias) return z;
  return op.kind === 'dense' ? tf.add(z, bias) : addBias(z, bias);
}

/** Applies a dense layer to a [n, in] batch. */
export function dense(x: Tensor, layer: Dense): Tensor {
  return tf.add(tf.matMul(x as tf.Tensor2D, layer.kernel as tf.Tensor2D), layer.bias);
}

/**
 * BatchNorm over N, H, W (or N for rank-2 input). Training mode normalizes with the batch mean
 * and biased variance and, as PyTorch does, moves the running statistics toward the batch mean
 * and the unbiased batch variance. The update is a side effect on non-trainable variables: it
 * is not on the path to the loss, so it contributes nothing to gradients taken with variableGrads.
 * Training mode's gradient is the closed form in batch-norm.ts rather than autodiff's.
 */
export function batchNorm(x: Tensor, bn: BatchNorm, training: boolean): Tensor {
  if (training) {
    const count = x.size / x.shape[x.rank - 1];
    if (count < 2) {
      throw new Error(
        `models: BatchNorm in training mode needs more than one value per channel (input shape [${x.shape}]); ` +
          `use a larger batch or spatial size`,
      );
    }
    const m = bn.momentum;
    return normalizeWithBatchStatistics(x, bn.gamma, bn.beta, bn.epsilon, (mean, variance) => {
      bn.runningMean.assign(tf.tidy(() => tf.add(tf.mul(bn.runningMean, 1 - m), tf.mul(mean, m))));
      bn.runningVariance.assign(
        tf.tidy(() => tf.add(tf.mul(bn.runningVariance, 1 - m), tf.mul(variance, (m * count) / (count - 1)))),
      );
    });
  }
  // Folding into one scale and one shift per channel keeps the full-size work to one affine map.
  const scale = tf.mul(bn.gamma, tf.rsqrt(tf.add(bn.runningVariance, bn.epsilon)));
  const shift = tf.sub(bn.beta, tf.mul(bn.runningMean, scale));
  return channelAffine(x, scale, shift);
}

/** Max pooling with PyTorch-style symmetric padding (padding never wins the max). */
export function maxPool(x: Tensor, size: number, stride: number, pad = 0): Tensor {
  return tf.maxPool(x as tf.Tensor4D, size, stride, pad === 0 ? 'valid' : pad);
}

/**
 * Average pooling with PyTorch's default count_include_pad=True: the zero padding counts in the
 * denominator (tfjs would average over valid pixels only), so pad explicitly with zeros first.
 */
export function avgPool(x: Tensor, size: number, stride: number, pad = 0): Tensor {
  const padded =
    pad === 0
      ? x
      : tf.pad(x, [
          [0, 0],
          [pad, pad],
          [pad, pad],
          [0, 0],
        ]);
  return tf.avgPool(padded as tf.Tensor4D, size, stride, 'valid');
}

/** Global average pool: [n, h, w, c] -> [n, c]. */
export function globalAvgPool(x: Tensor): Tensor {
  return tf.mean(x, [1, 2]);
}

/**
 * Inverted dropout with a mask drawn from a JS stream, so that the same stream gives the same
 * mask on every backend. Only used in training mode.
 */
export function dropout(x: Tensor, rate: number, rng: Random): Tensor {
  const keep = new Float32Array(x.size);
  const scale = 1 / (1 - rate);
  for (let i = 0; i < keep.length; i++) keep[i] = rng.uniform() < rate ? 0 : scale;
  return tf.mul(x, tf.tensor(keep, x.shape, 'float32'));
}

/** What every architecture module hands to `assembleModel`. */
interface CommonParts {
  name: string;
  inputShape: readonly [number, number, number];
  numClasses: number;
  builder: ParamBuilder;
  /** Training-mode forward returning auxiliary heads, called inside tf.tidy. */
  forwardWithAuxiliary?: Model['forwardWithAuxiliary'];
}

/** A first layer that is linear in its weights and meets the raw input, and the network after it. */
export interface InputParts {
  /** The layer (a dense layer applies to the flattened input). */
  layer: Dense | Conv;
  /** Logits from the layer's output; called inside tf.tidy. */
  forwardFrom(z: Tensor, options: ForwardOptions): Tensor;
}

/**
 * What an architecture module hands to `assembleModel`: the forward pass (called inside tf.tidy,
 * so it may create intermediates freely), or, where the first layer is a linear map of the input,
 * that layer and the rest, from which the forward pass is composed (see `InputLayer`).
 */
export type ModelParts = CommonParts &
  (
    | { forward(x: Tensor, options: ForwardOptions): Tensor; input?: undefined }
    | { input: InputParts; forward?: undefined }
  );

/** Wraps an architecture's variables and forward functions into a `Model` that never leaks intermediates. */
export function assembleModel(parts: ModelParts): Model {
  const { builder } = parts;
  const checkInput = (x: Tensor): void => {
    const [h, w, c] = parts.inputShape;
    if (x.rank !== 4 || x.shape[3] !== c) {
      throw new Error(
        `models: ${parts.name} expects input [n, height, width, ${c}] (default [n, ${h}, ${w}, ${c}]), ` +
          `got [${x.shape}]`,
      );
    }
  };
  const auxiliary = parts.forwardWithAuxiliary;
  const inputLayer = parts.input ? describeInput(builder, parts.input) : undefined;
  const forward = inputLayer
    ? (x: Tensor, options: ForwardOptions): Tensor => {
        const { op, kernel, bias } = inputLayer;
        const z = inputLinear(x, op, builder.params.get(kernel)!);
        return inputLayer.forwardFrom(
          inputOutput(z, op, bias === undefined ? undefined : builder.params.get(bias)),
          options,
        );
      }
    : parts.forward!;
  return {
    name: parts.name,
    inputShape: parts.inputShape,
    numClasses: parts.numClasses,
    params: builder.params,
    info: builder.info,
    buffers: builder.buffers,
    forward(x, options) {
      checkInput(x);
      return tf.tidy(() => forward(x, options));
    },
    inputLayer,
    forwardWithAuxiliary: auxiliary
      ? (x, options) => {
          checkInput(x);
          let weights: number[] = [];
          const [logits, ...heads] = tf.tidy(() => {
            const r = auxiliary(x, options);
            weights = r.auxiliary.map((a) => a.weight);
            return [r.logits, ...r.auxiliary.map((a) => a.logits)];
          });
          return { logits, auxiliary: heads.map((h, i) => ({ logits: h, weight: weights[i] })) };
        }
      : undefined,
    dispose() {
      for (const v of builder.params.values()) v.dispose();
      for (const v of builder.buffers.values()) v.dispose();
    },
  };
}

// The variables are found by identity in the builder: the architecture hands over the layer it
// built, never a name to match.
function describeInput(builder: ParamBuilder, input: InputParts): InputLayer {
  const nameOf = (v: Variable): string => {
    for (const [name, p] of builder.params) if (p === v) return name;
    throw new Error("models: the input layer's variables were not made by this model's ParamBuilder");
  };
  const { layer } = input;
  const op: InputLayerOp =
    'strides' in layer ? { kind: 'conv2d', strides: layer.strides, pad: layer.pad } : { kind: 'dense' };
  return {
    op,
    kernel: nameOf(layer.kernel),
    bias: layer.bias ? nameOf(layer.bias) : undefined,
    forwardFrom: (z, options) => tf.tidy(() => input.forwardFrom(z, options)),
  };
}
