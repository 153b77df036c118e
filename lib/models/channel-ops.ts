/**
 * Per-channel (last-axis) reductions and affine maps, written with the ops that are fast on
 * the CPU backends: per-channel means are average pools (over the pixels, then over the batch),
 * where a reduction over leading axes would first transpose the whole tensor; and on wasm a
 * per-channel a * x + b is a 1x1 depthwise convolution with bias, one XNNPACK pass instead of a
 * broadcasting multiply and add (bench/README.md, "Why the wasm kernels are rewritten").
 */
import { tf, type Tensor } from '../tf';

/** Means of x ([n, ..., c], rank >= 2) over every axis but the last, as a [c] tensor. */
export function channelMeans(x: Tensor): Tensor {
  const channels = x.shape[x.rank - 1];
  const n = x.shape[0];
  const pixels = x.size / (n * channels);
  // Two levels (pixels, then batch) also keep float32 rounding small: each pool sums fewer values.
  let m = tf.reshape(x, [n, pixels, 1, channels]) as tf.Tensor4D;
  if (pixels > 1) m = tf.avgPool(m, [pixels, 1], [pixels, 1], 'valid');
  m = tf.reshape(m, [1, n, 1, channels]);
  if (n > 1) m = tf.avgPool(m, [n, 1], [n, 1], 'valid');
  return tf.reshape(m, [channels]);
}

/** scale * x + shift along the last axis, with scale and shift of shape [channels]. */
export function channelAffine(x: Tensor, scale: Tensor, shift?: Tensor): Tensor {
  if (tf.getBackend() !== 'wasm') {
    const scaled = tf.mul(x, scale);
    return shift === undefined ? scaled : tf.add(scaled, shift);
  }
  const channels = x.shape[x.rank - 1];
  const y = tf.fused.depthwiseConv2d({
    x: tf.reshape(x, [1, x.size / channels, 1, channels]) as tf.Tensor4D,
    filter: tf.reshape(scale, [1, 1, channels, 1]) as tf.Tensor4D,
    strides: 1,
    pad: 'valid',
    bias: shift,
  });
  return tf.reshape(y, x.shape);
}

/**
 * x + bias along the last axis, whose bias gradient (the sum of dy over every other axis) is
 * taken with channelMeans: autodiff's Sum over leading axes is the slow reduction above.
 */
export function addBias(x: Tensor, bias: Tensor): Tensor {
  const count = x.size / x.shape[x.rank - 1];
  const add = (xIn: Tensor, biasIn: Tensor) => ({
    value: tf.getBackend() === 'wasm' ? channelAffine(xIn, tf.onesLike(biasIn), biasIn) : tf.add(xIn, biasIn),
    gradFunc: (dy: Tensor) => [tf.reshape(dy, xIn.shape), tf.reshape(tf.mul(channelMeans(dy), count), biasIn.shape)],
  });
  // customGrad's declared type takes untyped rest arguments; this function's are fixed.
  return tf.customGrad(add as unknown as Parameters<typeof tf.customGrad>[0])(x, bias);
}
