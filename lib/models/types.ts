/**
 * A model is data plus a forward function: an ordered map of named parameters (each marked
 * prunable or not), an ordered map of named non-trainable buffers (BatchNorm running
 * statistics), and `forward`. Pruning, interpolation, L2 distances and checkpoints all work on
 * these maps by name, never by inspecting layer classes.
 */
import type { tf } from '../tf';
import type { Random } from '../rng';
/** Padding as tfjs-core accepts it: a symmetric count, or explicit [[0,0],[top,bottom],[left,right],[0,0]]. */
export type Padding =
  'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];

type Tensor = import('@tensorflow/tfjs').Tensor;
type Variable = import('@tensorflow/tfjs').Variable;

/** What a parameter does; decides whether magnitude pruning may touch it. */
export type ParamRole = 'conv-kernel' | 'dense-kernel' | 'bias' | 'bn-gamma' | 'bn-beta';

/** Describes one trainable tensor. */
export interface ParamInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: ParamRole;
  /** True for conv and dense kernels; biases and BatchNorm parameters are never pruned. */
  readonly prunable: boolean;
}

/** Options for one forward pass. */
export interface ForwardOptions {
  /**
   * Training mode: BatchNorm normalizes with batch statistics and updates its running
   * statistics in place (momentum `bnMomentum`, PyTorch convention: running = (1-m) running + m batch,
   * with the unbiased batch variance). Evaluation mode uses the running statistics.
   */
  training: boolean;
  /**
   * Source of dropout masks in training mode, drawn in JS so masks are identical on every
   * backend (e.g. stream('dropout', seed, step)). Required when training a model that has
   * dropout (Inception-v3 before its classifier); ignored otherwise and in evaluation mode.
   */
  dropoutRng?: Random;
}

/** How an input layer applies its kernel: a matmul on the input flattened to [n, features], or a convolution. */
export type InputLayerOp =
  { readonly kind: 'dense' } | { readonly kind: 'conv2d'; readonly strides: [number, number]; readonly pad: Padding };

/**
 * A model's first layer, described where it is linear in its weights and meets the raw input
 * (a dense layer or a convolution, before any nonlinearity or BatchNorm). Its output
 * inputOutput(inputLinear(x, op, kernel), op, bias) (lib/models/layers) is affine in the kernel and
 * bias, so at W(alpha) = alpha W1 + (1 - alpha) W2 it is alpha (its output at W1) + (1 - alpha)
 * (its output at W2): interpolation computes the layer once per network, not once per alpha.
 * The model's `forward` is by construction forwardFrom of that output.
 */
export interface InputLayer {
  readonly op: InputLayerOp;
  /** Name in `params` of the layer's kernel. */
  readonly kernel: string;
  /** Name in `params` of the layer's bias; absent for a layer without one. */
  readonly bias?: string;
  /** Logits from the layer's output (bias added), with the model's own variables for every later layer. */
  forwardFrom(z: Tensor, options: ForwardOptions): Tensor;
}

/** A network ready to train. Created by `createModel(name, ...)` from the registry. */
export interface Model {
  /** Registry name, e.g. 'lenet_300_100'. */
  readonly name: string;
  /** Shape of one input example: [height, width, channels]. */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /** Trainable parameters, in a fixed order (the order of the architecture). */
  readonly params: ReadonlyMap<string, Variable>;
  /** Metadata for each parameter, same keys and order as `params`. */
  readonly info: ReadonlyMap<string, ParamInfo>;
  /** Non-trainable state (BatchNorm running mean / variance), in a fixed order. */
  readonly buffers: ReadonlyMap<string, Variable>;
  /** Logits [n, numClasses] for a batch x [n, h, w, c]. */
  forward(x: Tensor, options: ForwardOptions): Tensor;
  /** The first layer, where it is a linear map of the input; absent where the model cannot express it. */
  readonly inputLayer?: InputLayer;
  /**
   * Training-mode forward that also returns auxiliary heads (Inception-v3's aux classifier),
   * each added to the loss with its weight. Absent for models without auxiliary heads.
   */
  forwardWithAuxiliary?(
    x: Tensor,
    options?: Omit<ForwardOptions, 'training'>,
  ): { logits: Tensor; auxiliary: { logits: Tensor; weight: number }[] };
  /** Frees every variable. */
  dispose(): void;
}

/** Creates a model with weights drawn from the given random stream. */
export type ModelFactory = (options: ModelOptions) => Model;

/** Options every model factory accepts. */
export interface ModelOptions {
  /** The initialization seed: weights come from stream('init', seed). */
  seed: number;
  /** Number of output classes (default: the architecture's, e.g. 10 or 1000). */
  numClasses?: number;
  /** Input [height, width, channels] (default: the architecture's). */
  inputShape?: readonly [number, number, number];
  /** BatchNorm momentum in PyTorch's convention (default 0.1). */
  bnMomentum?: number;
  /**
   * Dropout rate before the classifier, for architectures that
   * have one (Inception-v3: default 0.5, as torchvision).
   */
  dropout?: number;
}

export type { tf };
