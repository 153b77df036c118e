/**
 * BatchNorm while interpolating. The running statistics of W(alpha) are either interpolated like
 * every other tensor ('interpolate'), or re-estimated on training data at each alpha
 * ('recompute'), because the statistics of an interpolated network are not the interpolation of
 * its endpoints' statistics and the two policies can give very different barriers.
 *
 * 'recompute' follows PyTorch's torch.optim.swa_utils.update_bn (momentum=None): forget the
 * running statistics, run N training batches in training mode, and store the cumulative
 * average of the batch means and of the unbiased batch variances. The batches are the first
 * N * batchSize examples of a permutation drawn from stream('bn-batches', seed), read without
 * augmentation (the statistics are for evaluation, which never augments), and the same batches
 * serve every alpha, so the statistics are a deterministic function of the weights: at alpha 0
 * and 1 they are exactly those of the endpoint network re-estimated the same way.
 */
import { tf } from '../tf';
import type { Model } from '../models/types';
import type { Batch, Split } from '../data/types';
import { permutation, stream } from '../rng';

/** How BatchNorm running statistics are set for an interpolated network. */
export type BatchNormPolicy = 'interpolate' | 'recompute';

/** The BatchNorm policies, for validation and help texts. */
export const BATCHNORM_POLICIES: readonly BatchNormPolicy[] = ['interpolate', 'recompute'];

/** Training batches used to re-estimate the statistics when no count is given. */
export const DEFAULT_BN_BATCHES = 32;

/** Where and how 'recompute' re-estimates BatchNorm statistics. */
export interface BatchNormRecomputeOptions {
  /** Training split the batches come from. */
  split: Split;
  /** Number of batches N (default 32). */
  batches?: number;
  /** Examples per batch (the training batch size, so batch statistics match training's). */
  batchSize: number;
  /** Seed of the batch order, stream('bn-batches', seed) (default 0). */
  seed?: number;
  /**
   * The model's BatchNorm momentum (config.bnMomentum, PyTorch convention). The Model interface
   * updates running statistics only through its own momentum m, so each batch's statistic is
   * recovered as (what m moved a zeroed buffer to) / m; m must be > 0.
   */
  momentum: number;
}

/** Checks a policy name and says which ones exist. */
export function checkBatchNormPolicy(policy: string): BatchNormPolicy {
  if (!(BATCHNORM_POLICIES as readonly string[]).includes(policy)) {
    throw new Error(
      `bn: "${policy}" is not a BatchNorm policy; use ${BATCHNORM_POLICIES.map((p) => `"${p}"`).join(' or ')}`,
    );
  }
  return policy as BatchNormPolicy;
}

/**
 * Re-estimates BatchNorm statistics of any model on fixed batches. The batches are read from
 * the split once, when the estimator is made, and reused for every network it is applied to.
 */
export class BatchNormRecompute {
  private readonly batches: Batch[];
  private readonly momentum: number;
  private readonly dropoutSeed: number;

  constructor(options: BatchNormRecomputeOptions) {
    const count = options.batches ?? DEFAULT_BN_BATCHES;
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(count) || count < 1)
      throw new Error(`bn: bnBatches = ${count}; re-estimating statistics needs a whole number of batches >= 1`);
    if (!Number.isSafeInteger(options.batchSize) || options.batchSize < 2) {
      throw new Error(
        `bn: batch size ${options.batchSize} is too small to estimate a variance; use batches of at least 2 examples`,
      );
    }
    if (!(options.momentum > 0 && options.momentum <= 1)) {
      throw new Error(
        `bn: bnMomentum = ${options.momentum}; ` +
          `'recompute' reads each batch's statistics through the model's momentum, which must be in (0, 1]`,
      );
    }
    this.momentum = options.momentum;
    this.dropoutSeed = seed;
    const order = permutation(options.split.size, stream('bn-batches', seed));
    this.batches = [];
    // Cycle through the permutation when N * batch exceeds the split (tiny generated test sets).
    for (let b = 0; b < count; b++) {
      const indices = new Int32Array(options.batchSize);
      for (let i = 0; i < options.batchSize; i++) indices[i] = order[(b * options.batchSize + i) % order.length];
      this.batches.push(options.split.read(indices, { augment: false }));
    }
  }

  /** Replaces every BatchNorm buffer of `model` by its cumulative average over the batches. */
  apply(model: Model): void {
    if (model.buffers.size === 0) return;
    const names = [...model.buffers.keys()];
    const sums = new Map<string, tf.Tensor>(names.map((n) => [n, tf.keep(tf.zerosLike(model.buffers.get(n)!))]));
    try {
      for (const batch of this.batches) {
        // Zeroed buffers make the model's own update (1 - m) * 0 + m * statistic = m * statistic.
        for (const v of model.buffers.values()) tf.tidy(() => v.assign(tf.zerosLike(v)));
        tf.tidy(() => {
          model.forward(tf.tensor4d(batch.x, batch.shape), {
            training: true,
            dropoutRng: stream('bn-dropout', this.dropoutSeed),
          });
        });
        for (const name of names) {
          const sum = sums.get(name)!;
          sums.set(name, tf.keep(tf.tidy(() => tf.add(sum, tf.div(model.buffers.get(name)!, this.momentum)))));
          sum.dispose();
        }
      }
      for (const name of names)
        tf.tidy(() => model.buffers.get(name)!.assign(tf.div(sums.get(name)!, this.batches.length)));
    } finally {
      for (const t of sums.values()) t.dispose();
    }
  }
}
