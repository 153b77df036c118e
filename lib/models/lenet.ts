/**
 * LeNet-300-100 (LeCun et al., 1998; the fully connected MNIST network of the lottery ticket
 * papers): flatten, dense 300, relu, dense 100, relu, dense to the classes.
 */
import { tf } from '../tf';
import { stream } from '../rng';
import { ParamBuilder, assembleModel, dense } from './layers';
import type { Model, ModelOptions } from './types';

/** Hidden layer widths of LeNet-300-100. */
export const LENET_300_100_HIDDEN = [300, 100] as const;

/** A fully connected ReLU network over the flattened input, with the given hidden widths. */
export function createFullyConnected(name: string, hidden: readonly number[], options: ModelOptions): Model {
  const inputShape = options.inputShape ?? [28, 28, 1];
  const numClasses = options.numClasses ?? 10;
  const builder = new ParamBuilder(name, stream('init', options.seed), options.bnMomentum);
  const widths = [inputShape[0] * inputShape[1] * inputShape[2], ...hidden, numClasses];
  const layers = widths
    .slice(1)
    .map((out, i) => builder.dense(i < hidden.length ? `fc${i + 1}` : 'fc', widths[i], out));
  return assembleModel({
    name,
    inputShape,
    numClasses,
    builder,
    // The first dense layer, on the flattened input, is linear in its weights (see InputLayer).
    input: {
      layer: layers[0],
      forwardFrom(z) {
        let h = z;
        for (const layer of layers.slice(1)) h = dense(tf.relu(h), layer);
        return h;
      },
    },
  });
}

/** LeNet-300-100: 784-300-100-10 on MNIST, 266,610 parameters. */
export function createLenet300100(options: ModelOptions): Model {
  return createFullyConnected('lenet_300_100', LENET_300_100_HIDDEN, options);
}
