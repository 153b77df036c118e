/** Loss and error of a model on a split, in large batches, without augmentation. */
import { tf } from '../tf';
import type { Model } from '../models/types';
import type { Batch, Split } from '../data/types';

type Tensor = tf.Tensor;

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
  const n = evaluationCount(split, options.limit);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const batch = readEvaluationBatch(split, start, Math.min(batchSize, n - start));
    // Sums are taken on the device; only two scalars per batch come back to the host.
    const [l, c] = tf.tidy(() => batchSums(model.forward(tf.tensor4d(batch.x, batch.shape), { training: false }), tf.tensor1d(batch.y, 'int32'), model.numClasses));
    lossSum += (l.dataSync() as Float32Array)[0];
    correct += (c.dataSync() as Float32Array)[0];
    l.dispose();
    c.dispose();
  }
  return evaluationOf(lossSum, correct, n);
}

/** How many examples an evaluation with this `limit` covers (0 or absent: the whole split). */
export function evaluationCount(split: Split, limit?: number): number {
  return limit && limit > 0 ? Math.min(limit, split.size) : split.size;
}

/** Examples start .. start + count - 1 of `split`, unaugmented: one evaluation batch. */
export function readEvaluationBatch(split: Split, start: number, count: number): Batch {
  const indices = new Int32Array(count);
  for (let i = 0; i < count; i++) indices[i] = start + i;
  return split.read(indices, { augment: false });
}

/** Summed cross-entropy and number of correct predictions of one batch's logits, as two scalars. */
export function batchSums(logits: Tensor, labels: Tensor, numClasses: number): [Tensor, Tensor] {
  return tf.tidy(() => {
    const losses = tf.losses.softmaxCrossEntropy(tf.oneHot(labels as tf.Tensor1D, numClasses), logits, undefined, undefined, tf.Reduction.NONE);
    const hits = tf.equal(tf.argMax(logits, 1).toInt(), labels);
    return [tf.sum(losses), tf.sum(tf.cast(hits, 'float32'))];
  });
}

/** The evaluation of n examples from the batch sums accumulated in batch order. */
export function evaluationOf(lossSum: number, correct: number, n: number): Evaluation {
  // Counts, not 1 - accuracy, so that the error is exactly wrong / n.
  return { loss: lossSum / n, error: (n - correct) / n, accuracy: correct / n, examples: n };
}
