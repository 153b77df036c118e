/**
 * The one place lmc-lab imports TensorFlow.js from, so that every module (and the native
 * backends, which register themselves into this same instance) shares one engine.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type Variable = tf.Variable;
