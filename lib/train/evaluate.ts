/** Loss and error of a model on a split, in large batches, without augmentation. */
import { tf } from '../tf';
import type { Model } from '../models/types';
import type { Batch, Split } from '../data/types';
import { residentSplit, type ResidentSplit } from './resident';

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
  const resident = residentSplit(split, false);
  const sums: Tensor[] = [];
  try {
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      sums.push(
        tf.tidy(() => {
          const { x, y } = evaluationTensors(split, resident, start, count);
          return batchSums(model.forward(x, { training: false }), y, model.numClasses);
        }),
      );
    }
    const { loss, correct } = readSums(sums);
    return evaluationOf(loss, correct, n);
  } finally {
    tf.dispose(sums);
  }
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

/** One evaluation batch as tensors: sliced on the device from `resident` (see resident.ts), else read on the host. */
export function evaluationTensors(
  split: Split,
  resident: ResidentSplit | null,
  start: number,
  count: number,
): { x: tf.Tensor4D; y: tf.Tensor1D } {
  if (resident) return resident.slice(start, count);
  const batch = readEvaluationBatch(split, start, count);
  return { x: tf.tensor4d(batch.x, batch.shape), y: tf.tensor1d(batch.y, 'int32') };
}

/** Summed cross-entropy and number of correct predictions of one batch's logits, as one tensor [loss, correct]. */
export function batchSums(logits: Tensor, labels: Tensor, numClasses: number): Tensor {
  return tf.tidy(() => {
    const losses = tf.losses.softmaxCrossEntropy(
      tf.oneHot(labels as tf.Tensor1D, numClasses),
      logits,
      undefined,
      undefined,
      tf.Reduction.NONE,
    );
    const hits = tf.equal(tf.argMax(logits, 1).toInt(), labels);
    return tf.stack([tf.sum(losses), tf.sum(tf.cast(hits, 'float32'))]);
  });
}

/**
 * The batch sums added up on the host in batch order, read back in one synchronization (not two
 * per batch: on a GPU each read waits for the device). The caller disposes `sums`.
 */
export function readSums(sums: readonly Tensor[]): { loss: number; correct: number; each: Float32Array } {
  if (sums.length === 0) return { loss: 0, correct: 0, each: new Float32Array(0) };
  const all = tf.concat(sums as Tensor[]);
  const each = all.dataSync() as Float32Array;
  all.dispose();
  let loss = 0;
  let correct = 0;
  for (let b = 0; b < sums.length; b++) {
    loss += each[2 * b];
    correct += each[2 * b + 1];
  }
  return { loss, correct, each };
}

/** The evaluation of n examples from the batch sums accumulated in batch order. */
export function evaluationOf(lossSum: number, correct: number, n: number): Evaluation {
  // Counts, not 1 - accuracy, so that the error is exactly wrong / n.
  return { loss: lossSum / n, error: (n - correct) / n, accuracy: correct / n, examples: n };
}
