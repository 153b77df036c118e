/**
 * VGG for CIFAR-10 as open_lth's cifar_vgg builds it (the variant of Liu et al., 2019): 3x3
 * convs (with bias, PyTorch's default, as open_lth keeps it) each followed by BatchNorm and
 * ReLU, 2x2 max pooling at each 'M', global average pooling, and one dense layer from 512
 * features to the classes.
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
import type { Model, ModelOptions } from './types';

/** A VGG plan: output channels of each 3x3 conv, 'M' for a 2x2 max pool. */
export type VggPlan = readonly (number | 'M')[];

/** open_lth's cifar_vgg_16 plan. */
export const VGG16_PLAN: VggPlan = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512];

/** A CIFAR VGG with BatchNorm following `plan`. */
export function createCifarVgg(name: string, plan: VggPlan, options: ModelOptions): Model {
  const inputShape = options.inputShape ?? [32, 32, 3];
  const numClasses = options.numClasses ?? 10;
  const b = new ParamBuilder(name, stream('init', options.seed), options.bnMomentum);
  const layers: ('M' | { conv: Conv; bn: BatchNorm })[] = [];
  let channels = inputShape[2];
  let index = 0;
  for (const item of plan) {
    if (item === 'M') {
      layers.push('M');
      continue;
    }
    const p = `features.${index++}`;
    layers.push({
      conv: b.conv(`${p}.conv`, channels, item, { kernel: 3, pad: 1, bias: true }),
      bn: b.batchNorm(`${p}.bn`, item),
    });
    channels = item;
  }
  const fc = b.dense('fc', channels, numClasses);

  const tail = (h: Tensor, from: number, training: boolean): Tensor => {
    for (const layer of layers.slice(from))
      h = layer === 'M' ? maxPool(h, 2, 2) : tf.relu(batchNorm(conv2d(h, layer.conv), layer.bn, training));
    // open_lth applies AvgPool2d(2) to the final 2x2 map of a 32x32 input: the same numbers as a
    // global average, which also lets smaller inputs (down to 16x16) run, e.g. in tests.
    return dense(globalAvgPool(h), fc);
  };
  const parts = { name, inputShape, numClasses, builder: b };
  const first = layers[0];
  if (first === undefined || first === 'M')
    return assembleModel({ ...parts, forward: (x, { training }) => tail(x, 0, training) });
  // The first convolution comes before its BatchNorm and any nonlinearity: linear in its weights (see InputLayer).
  return assembleModel({
    ...parts,
    input: {
      layer: first.conv,
      forwardFrom: (z, { training }) => tail(tf.relu(batchNorm(z, first.bn, training)), 1, training),
    },
  });
}

/** VGG-16 for CIFAR-10: 14,728,266 trainable parameters (convs with bias, BatchNorm). */
export function createVgg16(options: ModelOptions): Model {
  return createCifarVgg('vgg16', VGG16_PLAN, options);
}
