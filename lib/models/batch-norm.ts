/**
 * BatchNorm's training-mode normalization with a hand-derived gradient.
 *
 * Left to autodiff, tf.moments plus the normalization records dozens of small ops per layer
 * (means, broadcasts, identities, casts) and their gradients: on wasm that was about a quarter
 * of a ResNet-20 step. Here the forward pass is a handful of ops and the backward pass is the
 * standard closed form (Ioffe and Szegedy 2015), with N values per channel,
 * xhat = (x - mean) * invstd and invstd = 1 / sqrt(var + eps):
 *
 *   dx     = (1/N) * gamma * invstd * (N * dy - sum(dy) - xhat * sum(dy * xhat))
 *   dgamma = sum(dy * xhat)
 *   dbeta  = sum(dy)
 *
 * The per-channel means and affine maps are channel-ops.ts's, fast on the CPU backends.
 */
import { tf, type Tensor } from '../tf';
import { channelAffine, channelMeans } from './channel-ops';

/** Receives the batch mean and biased variance ([channels]); they are freed after the call. */
export type BatchStatisticsSink = (mean: Tensor, variance: Tensor) => void;

/**
 * gamma * (x - mean) / sqrt(var + epsilon) + beta with the batch mean and biased variance of x
 * over all axes but the last, differentiable in x, gamma and beta. `onStatistics` (if given)
 * sees the batch statistics during the forward pass, e.g. to update running statistics.
 */
export function normalizeWithBatchStatistics(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
  onStatistics?: BatchStatisticsSink,
): Tensor {
  const count = x.size / x.shape[x.rank - 1];
  const forward = (xIn: Tensor, gammaIn: Tensor, betaIn: Tensor, save: tf.GradSaveFunc) => {
    const mean = channelMeans(xIn);
    const centered = channelAffine(xIn, tf.onesLike(mean), tf.neg(mean));
    const variance = channelMeans(tf.square(centered));
    const invstd = tf.rsqrt(tf.add(variance, epsilon));
    const scale = tf.mul(gammaIn, invstd);
    // The same folded form as evaluation mode: x * scale + (beta - mean * scale).
    const value = channelAffine(xIn, scale, tf.sub(betaIn, tf.mul(mean, scale)));
    onStatistics?.(mean, variance);
    save([centered, invstd, scale]);
    return {
      value,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [xmu, inv, sc] = saved;
        const meanDy = channelMeans(dy);
        // mean(dy * xhat) = invstd * mean(dy * (x - mean)).
        const meanDyXmu = channelMeans(tf.mul(dy, xmu));
        // dx = scale * (dy - mean(dy)) - scale * invstd^2 * mean(dy * (x - mean)) * (x - mean).
        const dx = tf.add(
          channelAffine(dy, sc, tf.neg(tf.mul(sc, meanDy))),
          channelAffine(xmu, tf.neg(tf.mul(tf.mul(sc, tf.square(inv)), meanDyXmu))),
        );
        const dgamma = tf.mul(tf.mul(meanDyXmu, inv), count);
        const dbeta = tf.mul(meanDy, count);
        return [dx, tf.reshape(dgamma, gammaIn.shape), tf.reshape(dbeta, betaIn.shape)];
      },
    };
  };
  // customGrad's declared type takes untyped rest arguments; this function's are fixed.
  const normalize = tf.customGrad(forward as unknown as Parameters<typeof tf.customGrad>[0]);
  return normalize(x, gamma, beta);
}
