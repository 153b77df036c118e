/** Loss and error of a model on a split, in large batches, without augmentation. */
import { tf } from '../tf';
import type { Model } from '../models/types';
import type { Split } from '../data/types';
import { residentSplit } from './resident';

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
  const resident = residentSplit(split, false);
  // Sums are taken on the device per batch and read back once, at the end (one synchronization,
  // not two per batch); they are added up on the host in batch order as before.
  const sums: tf.Tensor[] = [];
  try {
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      sums.push(tf.tidy(() => {
        let x: tf.Tensor4D;
        let y: tf.Tensor1D;
        if (resident) {
          ({ x, y } = resident.slice(start, count));
        } else {
          const batch = split.read(Int32Array.from({ length: count }, (_, i) => start + i), { augment: false });
          x = tf.tensor4d(batch.x, batch.shape);
          y = tf.tensor1d(batch.y, 'int32');
        }
        const logits = model.forward(x, { training: false });
        const losses = tf.losses.softmaxCrossEntropy(tf.oneHot(y, model.numClasses), logits, undefined, undefined, tf.Reduction.NONE);
        const hits = tf.equal(tf.argMax(logits, 1).toInt(), y);
        return tf.stack([tf.sum(losses), tf.sum(tf.cast(hits, 'float32'))]);
      }));
    }
    const all = sums.length === 0 ? null : tf.concat(sums);
    const values = all === null ? new Float32Array(0) : all.dataSync() as Float32Array;
    all?.dispose();
    let lossSum = 0;
    let correct = 0;
    for (let b = 0; b < sums.length; b++) {
      lossSum += values[2 * b];
      correct += values[2 * b + 1];
    }
    // Counts, not 1 - accuracy, so that the error is exactly wrong / n.
    return { loss: lossSum / n, error: (n - correct) / n, accuracy: correct / n, examples: n };
  } finally {
    sums.forEach((t) => t.dispose());
  }
}
