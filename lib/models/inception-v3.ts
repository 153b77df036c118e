/**
 * Inception-v3 (Szegedy et al., 2016) in torchvision's layout, auxiliary classifier included.
 * Every conv is a BasicConv2d: conv without bias, BatchNorm (eps 1e-3), ReLU. Each block is
 * described as data (branches of steps, concatenated on channels) and one interpreter builds
 * and runs them all. 27,161,264 parameters at 1000 classes; 299x299 input by default.
 */
import { tf, type Tensor } from '../tf';
import { type Random, stream } from '../rng';
import {
  ParamBuilder,
  assembleModel,
  avgPool,
  batchNorm,
  conv2d,
  dense,
  dropout,
  globalAvgPool,
  maxPool,
  type BatchNorm,
  type Conv,
} from './layers';
import type { ForwardOptions, Model, ModelOptions } from './types';

/** One step of a branch: a BasicConv2d, or a pooling. */
export type InceptionStep =
  | { conv: string; out: number; kernel: number | [number, number]; stride?: number; pad?: number | [number, number] }
  | { pool: 'avg' | 'max'; size: number; stride: number; pad?: number };

/** A branch: steps in sequence, then optionally parallel steps whose outputs are concatenated (InceptionE). */
export interface InceptionBranch {
  readonly steps: readonly InceptionStep[];
  readonly split?: readonly InceptionStep[];
}

/** A named block: its branches run on the same input and concatenate on channels, in order. */
export interface InceptionBlock {
  readonly name: string;
  readonly branches: readonly InceptionBranch[];
}

const conv = (
  name: string,
  out: number,
  kernel: number | [number, number],
  stride = 1,
  pad: number | [number, number] = 0,
): InceptionStep => ({ conv: name, out, kernel, stride, pad });
const avg3: InceptionStep = { pool: 'avg', size: 3, stride: 1, pad: 1 };
const max3: InceptionStep = { pool: 'max', size: 3, stride: 2 };
const seq = (...steps: InceptionStep[]): InceptionBranch => ({ steps });

const blockA = (name: string, poolFeatures: number): InceptionBlock => ({
  name,
  branches: [
    seq(conv('branch1x1', 64, 1)),
    seq(conv('branch5x5_1', 48, 1), conv('branch5x5_2', 64, 5, 1, 2)),
    seq(conv('branch3x3dbl_1', 64, 1), conv('branch3x3dbl_2', 96, 3, 1, 1), conv('branch3x3dbl_3', 96, 3, 1, 1)),
    seq(avg3, conv('branch_pool', poolFeatures, 1)),
  ],
});

const blockB = (name: string): InceptionBlock => ({
  name,
  branches: [
    seq(conv('branch3x3', 384, 3, 2)),
    seq(conv('branch3x3dbl_1', 64, 1), conv('branch3x3dbl_2', 96, 3, 1, 1), conv('branch3x3dbl_3', 96, 3, 2)),
    seq(max3),
  ],
});

const blockC = (name: string, c7: number): InceptionBlock => ({
  name,
  branches: [
    seq(conv('branch1x1', 192, 1)),
    seq(
      conv('branch7x7_1', c7, 1),
      conv('branch7x7_2', c7, [1, 7], 1, [0, 3]),
      conv('branch7x7_3', 192, [7, 1], 1, [3, 0]),
    ),
    seq(
      conv('branch7x7dbl_1', c7, 1),
      conv('branch7x7dbl_2', c7, [7, 1], 1, [3, 0]),
      conv('branch7x7dbl_3', c7, [1, 7], 1, [0, 3]),
      conv('branch7x7dbl_4', c7, [7, 1], 1, [3, 0]),
      conv('branch7x7dbl_5', 192, [1, 7], 1, [0, 3]),
    ),
    seq(avg3, conv('branch_pool', 192, 1)),
  ],
});

const blockD = (name: string): InceptionBlock => ({
  name,
  branches: [
    seq(conv('branch3x3_1', 192, 1), conv('branch3x3_2', 320, 3, 2)),
    seq(
      conv('branch7x7x3_1', 192, 1),
      conv('branch7x7x3_2', 192, [1, 7], 1, [0, 3]),
      conv('branch7x7x3_3', 192, [7, 1], 1, [3, 0]),
      conv('branch7x7x3_4', 192, 3, 2),
    ),
    seq(max3),
  ],
});

const blockE = (name: string): InceptionBlock => ({
  name,
  branches: [
    seq(conv('branch1x1', 320, 1)),
    {
      steps: [conv('branch3x3_1', 384, 1)],
      split: [conv('branch3x3_2a', 384, [1, 3], 1, [0, 1]), conv('branch3x3_2b', 384, [3, 1], 1, [1, 0])],
    },
    {
      steps: [conv('branch3x3dbl_1', 448, 1), conv('branch3x3dbl_2', 384, 3, 1, 1)],
      split: [conv('branch3x3dbl_3a', 384, [1, 3], 1, [0, 1]), conv('branch3x3dbl_3b', 384, [3, 1], 1, [1, 0])],
    },
    seq(avg3, conv('branch_pool', 192, 1)),
  ],
});

/** The stem, written as a one-branch block whose convs sit at the top level of the name space. */
const STEM: InceptionBranch = seq(
  conv('Conv2d_1a_3x3', 32, 3, 2),
  conv('Conv2d_2a_3x3', 32, 3),
  conv('Conv2d_2b_3x3', 64, 3, 1, 1),
  max3,
  conv('Conv2d_3b_1x1', 80, 1),
  conv('Conv2d_4a_3x3', 192, 3),
  max3,
);

/** Blocks before the auxiliary head (which reads Mixed_6e's output). */
export const INCEPTION_V3_LOWER: readonly InceptionBlock[] = [
  blockA('Mixed_5b', 32),
  blockA('Mixed_5c', 64),
  blockA('Mixed_5d', 64),
  blockB('Mixed_6a'),
  blockC('Mixed_6b', 128),
  blockC('Mixed_6c', 160),
  blockC('Mixed_6d', 160),
  blockC('Mixed_6e', 192),
];

/** Blocks after the auxiliary head. */
export const INCEPTION_V3_UPPER: readonly InceptionBlock[] = [
  blockD('Mixed_7a'),
  blockE('Mixed_7b'),
  blockE('Mixed_7c'),
];

/** Weight of the auxiliary classifier's loss (torchvision's reference training and Google's TPU code). */
export const AUXILIARY_LOSS_WEIGHT = 0.4;

/** Smallest input side for the main network (Mixed_7a needs a 3x3 map): torchvision's 75. */
export const INCEPTION_V3_MIN_INPUT = 75;

/** Smallest input side for the auxiliary head: its 5x5 conv needs Mixed_6e's map to be at least 17x17. */
export const INCEPTION_V3_MIN_AUXILIARY_INPUT = 299;

/**
 * Spatial sides [h, w] of the stem, Mixed_6e (the auxiliary
 * head's input), the auxiliary conv output and the final map.
 */
export interface InceptionGeometry {
  stem: [number, number];
  lower: [number, number];
  auxiliary: [number, number];
  upper: [number, number];
}

/**
 * Map sizes through the network for an input of [height, width], computed from the same block
 * descriptions the model is built from; a side below 1 means that part cannot run at this size.
 */
export function inceptionGeometry(height: number, width: number): InceptionGeometry {
  const side = (s: number, k: number, stride: number, pad: number): number =>
    Math.floor((s + 2 * pad - k) / stride) + 1;
  const pair = (v: number | [number, number] | undefined): [number, number] =>
    typeof v === 'number' ? [v, v] : (v ?? [0, 0]);
  const step = ([h, w]: [number, number], st: InceptionStep): [number, number] => {
    const [kh, kw] = 'pool' in st ? [st.size, st.size] : pair(st.kernel);
    const [ph, pw] = pair(st.pad);
    const stride = st.stride ?? 1;
    return [side(h, kh, stride, ph), side(w, kw, stride, pw)];
  };
  // All branches of a block end at the same size (concat requires it), so the first one decides.
  const block = (hw: [number, number], b: InceptionBlock): [number, number] => b.branches[0].steps.reduce(step, hw);
  const stem = STEM.steps.reduce(step, [height, width]);
  const lower = INCEPTION_V3_LOWER.reduce(block, stem);
  const pooled = step(lower, { pool: 'avg', size: 5, stride: 3 });
  const auxiliary = step(pooled, conv('conv1', 768, 5));
  const upper = INCEPTION_V3_UPPER.reduce(block, lower);
  return { stem, lower, auxiliary, upper };
}

type Layer = { conv: Conv; bn: BatchNorm } | { pool: 'avg' | 'max'; size: number; stride: number; pad: number };
type BuiltBranch = { steps: Layer[]; split?: Layer[] };

function buildBranch(
  b: ParamBuilder,
  prefix: string,
  branch: InceptionBranch,
  cin: number,
): { built: BuiltBranch; out: number } {
  let channels = cin;
  const make = (step: InceptionStep, c: number): { layer: Layer; out: number } => {
    if ('pool' in step) return { layer: { ...step, pad: step.pad ?? 0 }, out: c };
    const name = prefix + step.conv;
    return {
      layer: {
        conv: b.conv(`${name}.conv`, c, step.out, {
          kernel: step.kernel,
          stride: step.stride,
          pad: step.pad,
          bias: false,
        }),
        bn: b.batchNorm(`${name}.bn`, step.out, 1e-3),
      },
      out: step.out,
    };
  };
  const steps = branch.steps.map((s) => {
    const r = make(s, channels);
    channels = r.out;
    return r.layer;
  });
  if (!branch.split) return { built: { steps }, out: channels };
  const parts = branch.split.map((s) => make(s, channels));
  return { built: { steps, split: parts.map((p) => p.layer) }, out: parts.reduce((a, p) => a + p.out, 0) };
}

function buildBlock(b: ParamBuilder, block: InceptionBlock, cin: number): { built: BuiltBranch[]; out: number } {
  const branches = block.branches.map((br) => buildBranch(b, `${block.name}.`, br, cin));
  return { built: branches.map((r) => r.built), out: branches.reduce((a, r) => a + r.out, 0) };
}

function runLayer(x: Tensor, layer: Layer, training: boolean): Tensor {
  if ('pool' in layer)
    return layer.pool === 'max'
      ? maxPool(x, layer.size, layer.stride, layer.pad)
      : avgPool(x, layer.size, layer.stride, layer.pad);
  return tf.relu(batchNorm(conv2d(x, layer.conv), layer.bn, training));
}

function runBranch(x: Tensor, branch: BuiltBranch, training: boolean): Tensor {
  const h = branch.steps.reduce((t, layer) => runLayer(t, layer, training), x);
  return branch.split
    ? tf.concat(
        branch.split.map((layer) => runLayer(h, layer, training)),
        3,
      )
    : h;
}

function runBlock(x: Tensor, block: BuiltBranch[], training: boolean): Tensor {
  return tf.concat(
    block.map((br) => runBranch(x, br, training)),
    3,
  );
}

/** Inception-v3 with its auxiliary classifier (used only by `forwardWithAuxiliary`). */
export function createInceptionV3(options: ModelOptions): Model {
  const name = 'inception_v3';
  const inputShape = options.inputShape ?? [299, 299, 3];
  const numClasses = options.numClasses ?? 1000;
  const rate = options.dropout ?? 0.5;
  if (!(rate >= 0 && rate < 1)) throw new Error(`models: inception_v3 dropout must be in [0, 1), got ${rate}`);
  const b = new ParamBuilder(name, stream('init', options.seed), options.bnMomentum);
  // Creation order follows torchvision's __init__ (stem, Mixed_5b..6e, AuxLogits, Mixed_7a..7c, fc).
  const stem = buildBranch(b, '', STEM, inputShape[2]);
  let channels = stem.out;
  const lower = INCEPTION_V3_LOWER.map((block) => {
    const r = buildBlock(b, block, channels);
    channels = r.out;
    return r.built;
  });
  const aux = {
    conv0: {
      conv: b.conv('AuxLogits.conv0.conv', channels, 128, { kernel: 1, bias: false }),
      bn: b.batchNorm('AuxLogits.conv0.bn', 128, 1e-3),
    },
    conv1: {
      conv: b.conv('AuxLogits.conv1.conv', 128, 768, { kernel: 5, bias: false }),
      bn: b.batchNorm('AuxLogits.conv1.bn', 768, 1e-3),
    },
    fc: b.dense('AuxLogits.fc', 768, numClasses),
  };
  const upper = INCEPTION_V3_UPPER.map((block) => {
    const r = buildBlock(b, block, channels);
    channels = r.out;
    return r.built;
  });
  const fc = b.dense('fc', channels, numClasses);

  const checkSize = (x: Tensor, part: 'upper' | 'auxiliary', min: number): void => {
    const [h, w] = inceptionGeometry(x.shape[1]!, x.shape[2]!)[part];
    if (h < 1 || w < 1) {
      throw new Error(
        `models: inception_v3 ${part === 'upper' ? 'needs' : 'auxiliary head needs'} input of at least ` +
          `${min}x${min}, got ${x.shape[1]}x${x.shape[2]}`,
      );
    }
  };
  const lowerPart = (x: Tensor, training: boolean): Tensor =>
    lower.reduce((h, block) => runBlock(h, block, training), runBranch(x, stem.built, training));
  const head = (h: Tensor, options: Omit<ForwardOptions, 'training'>, training: boolean): Tensor => {
    h = globalAvgPool(upper.reduce((t, block) => runBlock(t, block, training), h));
    if (training && rate > 0) {
      const rng: Random | undefined = options.dropoutRng;
      if (!rng) {
        throw new Error(
          'models: inception_v3 has dropout before its classifier; ' +
            "training needs options.dropoutRng (e.g. stream('dropout', seed, step)), or create it with dropout: 0",
        );
      }
      h = dropout(h, rate, rng);
    }
    return dense(h, fc);
  };

  return assembleModel({
    name,
    inputShape,
    numClasses,
    builder: b,
    forward(x, options) {
      checkSize(x, 'upper', INCEPTION_V3_MIN_INPUT);
      return head(lowerPart(x, options.training), options, options.training);
    },
    forwardWithAuxiliary(x, options = {}) {
      checkSize(x, 'auxiliary', INCEPTION_V3_MIN_AUXILIARY_INPUT);
      const features = lowerPart(x, true);
      let a = avgPool(features, 5, 3);
      a = runLayer(runLayer(a, aux.conv0, true), aux.conv1, true);
      const auxLogits = dense(globalAvgPool(a), aux.fc);
      return {
        logits: head(features, options, true),
        auxiliary: [{ logits: auxLogits, weight: AUXILIARY_LOSS_WEIGHT }],
      };
    },
  });
}
