/**
 * The CIFAR ResNets of He et al. (2016), section 4.2, as open_lth builds them: a 3x3 stem, three
 * stages of n basic blocks (two 3x3 convs without bias, each followed by BatchNorm) at widths w,
 * 2w, 4w, a 1x1 conv + BatchNorm projection shortcut where the shape changes, global average
 * pooling and one dense layer. Depth is 6n + 2; ResNet-20 is n = 3, w = 16.
 */
import { tf, type Tensor } from '../tf';
import { stream } from '../rng';
import {
  ParamBuilder,
  assembleModel,
  batchNorm,
  conv2d,
  dense,
  globalAvgPool,
  type BatchNorm,
  type Conv,
} from './layers';
import type { Model, ModelOptions } from './types';

/** One stage of a ResNet: how many blocks, their output width, and the first block's stride. */
export interface StageSpec {
  readonly blocks: number;
  readonly width: number;
  readonly stride: number;
}

/** The three stages of a CIFAR ResNet of the given depth (6n + 2) and base width. */
export function cifarResnetStages(depth: number, width: number): StageSpec[] {
  if ((depth - 2) % 6 !== 0 || depth < 8) {
    throw new Error(`models: CIFAR ResNet depth must be 6n + 2 with n >= 1 (e.g. 20, 32, 56), got ${depth}`);
  }
  const n = (depth - 2) / 6;
  return [1, 2, 4].map((m, i) => ({ blocks: n, width: width * m, stride: i === 0 ? 1 : 2 }));
}

interface BasicBlock {
  conv1: Conv;
  bn1: BatchNorm;
  conv2: Conv;
  bn2: BatchNorm;
  shortcut?: { conv: Conv; bn: BatchNorm };
}

/** A CIFAR ResNet of depth 6n + 2 whose first stage has `width` channels. */
export function createCifarResnet(name: string, depth: number, width: number, options: ModelOptions): Model {
  const inputShape = options.inputShape ?? [32, 32, 3];
  const numClasses = options.numClasses ?? 10;
  const b = new ParamBuilder(name, stream('init', options.seed), options.bnMomentum);
  const stem = {
    conv: b.conv('conv1', inputShape[2], width, { kernel: 3, pad: 1, bias: false }),
    bn: b.batchNorm('bn1', width),
  };
  const blocks: BasicBlock[] = [];
  let channels = width;
  cifarResnetStages(depth, width).forEach((stage, s) => {
    for (let i = 0; i < stage.blocks; i++) {
      const p = `layer${s + 1}.${i}`;
      const stride = i === 0 ? stage.stride : 1;
      const block: BasicBlock = {
        conv1: b.conv(`${p}.conv1`, channels, stage.width, { kernel: 3, stride, pad: 1, bias: false }),
        bn1: b.batchNorm(`${p}.bn1`, stage.width),
        conv2: b.conv(`${p}.conv2`, stage.width, stage.width, { kernel: 3, pad: 1, bias: false }),
        bn2: b.batchNorm(`${p}.bn2`, stage.width),
      };
      if (stride !== 1 || channels !== stage.width) {
        block.shortcut = {
          conv: b.conv(`${p}.shortcut.conv`, channels, stage.width, { kernel: 1, stride, bias: false }),
          bn: b.batchNorm(`${p}.shortcut.bn`, stage.width),
        };
      }
      blocks.push(block);
      channels = stage.width;
    }
  });
  const fc = b.dense('fc', channels, numClasses);

  return assembleModel({
    name,
    inputShape,
    numClasses,
    builder: b,
    // The stem convolution comes before any nonlinearity or BatchNorm: linear in its weights (see InputLayer).
    input: {
      layer: stem.conv,
      forwardFrom(z, { training }) {
        let h = tf.relu(batchNorm(z, stem.bn, training));
        for (const block of blocks) {
          const out = tf.relu(batchNorm(conv2d(h, block.conv1), block.bn1, training));
          const residual = batchNorm(conv2d(out, block.conv2), block.bn2, training);
          const skip: Tensor = block.shortcut
            ? batchNorm(conv2d(h, block.shortcut.conv), block.shortcut.bn, training)
            : h;
          h = tf.relu(tf.add(residual, skip));
        }
        return dense(globalAvgPool(h), fc);
      },
    },
  });
}

/** ResNet-20 for CIFAR-10: 272,474 trainable parameters (274,042 with BatchNorm running statistics). */
export function createResnet20(options: ModelOptions): Model {
  return createCifarResnet('resnet20', 20, 16, options);
}
