/**
 * ResNet-50 for ImageNet in torchvision's v1.5 layout: 7x7 stride-2 stem + BatchNorm + 3x3
 * max pool, four stages of bottleneck blocks (1x1, 3x3, 1x1 convs without bias, each with
 * BatchNorm; the stride sits on the 3x3), a 1x1 conv + BatchNorm projection on each stage's
 * first block, global average pooling and a dense layer. 25,557,032 parameters at 1000 classes.
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
  maxPool,
  type BatchNorm,
  type Conv,
} from './layers';
import type { StageSpec } from './resnet-cifar';
import type { Model, ModelOptions } from './types';

/** Bottleneck blocks expand their inner width by this factor at the output. */
export const BOTTLENECK_EXPANSION = 4;

/** ResNet-50's stages: blocks per stage and inner (pre-expansion) width. */
export const RESNET50_STAGES: readonly StageSpec[] = [
  { blocks: 3, width: 64, stride: 1 },
  { blocks: 4, width: 128, stride: 2 },
  { blocks: 6, width: 256, stride: 2 },
  { blocks: 3, width: 512, stride: 2 },
];

interface Bottleneck {
  convs: { conv: Conv; bn: BatchNorm }[];
  downsample?: { conv: Conv; bn: BatchNorm };
}

/** An ImageNet bottleneck ResNet with the given stages (ResNet-50, -101, -152 differ only in blocks). */
export function createImagenetResnet(name: string, stages: readonly StageSpec[], options: ModelOptions): Model {
  const inputShape = options.inputShape ?? [224, 224, 3];
  const numClasses = options.numClasses ?? 1000;
  const b = new ParamBuilder(name, stream('init', options.seed), options.bnMomentum);
  const stem = {
    conv: b.conv('conv1', inputShape[2], 64, { kernel: 7, stride: 2, pad: 3, bias: false }),
    bn: b.batchNorm('bn1', 64),
  };
  const blocks: Bottleneck[] = [];
  let channels = 64;
  stages.forEach((stage, s) => {
    for (let i = 0; i < stage.blocks; i++) {
      const p = `layer${s + 1}.${i}`;
      const stride = i === 0 ? stage.stride : 1;
      const out = stage.width * BOTTLENECK_EXPANSION;
      const geometry = [
        { cin: channels, cout: stage.width, kernel: 1, stride: 1, pad: 0 },
        { cin: stage.width, cout: stage.width, kernel: 3, stride, pad: 1 },
        { cin: stage.width, cout: out, kernel: 1, stride: 1, pad: 0 },
      ];
      const block: Bottleneck = {
        convs: geometry.map((g, j) => ({
          conv: b.conv(`${p}.conv${j + 1}`, g.cin, g.cout, {
            kernel: g.kernel,
            stride: g.stride,
            pad: g.pad,
            bias: false,
          }),
          bn: b.batchNorm(`${p}.bn${j + 1}`, g.cout),
        })),
      };
      if (stride !== 1 || channels !== out) {
        block.downsample = {
          conv: b.conv(`${p}.downsample.conv`, channels, out, { kernel: 1, stride, bias: false }),
          bn: b.batchNorm(`${p}.downsample.bn`, out),
        };
      }
      blocks.push(block);
      channels = out;
    }
  });
  const fc = b.dense('fc', channels, numClasses);

  return assembleModel({
    name,
    inputShape,
    numClasses,
    builder: b,
    forward(x, { training }) {
      let h = maxPool(tf.relu(batchNorm(conv2d(x, stem.conv), stem.bn, training)), 3, 2, 1);
      for (const block of blocks) {
        let out = h;
        block.convs.forEach(({ conv, bn }, j) => {
          out = batchNorm(conv2d(out, conv), bn, training);
          if (j < block.convs.length - 1) out = tf.relu(out);
        });
        const skip: Tensor = block.downsample
          ? batchNorm(conv2d(h, block.downsample.conv), block.downsample.bn, training)
          : h;
        h = tf.relu(tf.add(out, skip));
      }
      return dense(globalAvgPool(h), fc);
    },
  });
}

/** ResNet-50 (torchvision v1.5) for ImageNet. */
export function createResnet50(options: ModelOptions): Model {
  return createImagenetResnet('resnet50', RESNET50_STAGES, options);
}
