/** Loss and error of a model on a split, in large batches, without augmentation. */
import { tf } from '../tf';
import type { Model } from '../models/types';
import type { Split } from '../data/types';

/** What an evaluation measures. */
export interface Evaluation {
  /** Mean cross-entropy. */
  loss: number;
  /** Fraction misclassified, in [0, 1]. */
  error: number;
  /** 1 - error. */
  accuracy: number;
  /** Number of examples evaluated. */
  examples: number;
}

/** Options for `evaluate`. */
export interface EvaluateOptions {
  /** Examples per forward pass (default 1000). */
  batchSize?: number;
  /** Evaluate the first `limit` examples only (0 or absent: all). */
  limit?: number;
}

/** Evaluates `model` in inference mode (BatchNorm running statistics) on `split`. */
export function evaluate(model: Model, split: Split, options: EvaluateOptions = {}): Evaluation {
  const batchSize = options.batchSize ?? 1000;
  const n = options.limit && options.limit > 0 ? Math.min(options.limit, split.size) : split.size;
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const indices = new Int32Array(count);
    for (let i = 0; i < count; i++) indices[i] = start + i;
    const batch = split.read(indices, { augment: false });
    // Sums are taken on the device; only two scalars per batch come back to the host.
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(batch.x, batch.shape);
      const y = tf.tensor1d(batch.y, 'int32');
      const logits = model.forward(x, { training: false });
      const losses = tf.losses.softmaxCrossEntropy(tf.oneHot(y, model.numClasses), logits, undefined, undefined, tf.Reduction.NONE);
      const hits = tf.equal(tf.argMax(logits, 1).toInt(), y);
      return [tf.sum(losses), tf.sum(tf.cast(hits, 'float32'))];
    });
    lossSum += (l.dataSync() as Float32Array)[0];
    correct += (c.dataSync() as Float32Array)[0];
    l.dispose();
    c.dispose();
  }
  // Counts, not 1 - accuracy, so that the error is exactly wrong / n.
  return { loss: lossSum / n, error: (n - correct) / n, accuracy: correct / n, examples: n };
}
