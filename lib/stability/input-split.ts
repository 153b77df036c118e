/**
 * An interpolation curve through a model's linear input layer (`Model.inputLayer`). That layer's
 * output is affine in its parameters: X (alpha K1 + (1 - alpha) K2) + alpha b1 + (1 - alpha) b2 =
 * alpha (X K1 + b1) + (1 - alpha) (X K2 + b2); and masks distribute over the sum
 * (m (alpha K1 + (1 - alpha) K2) = alpha m K1 + (1 - alpha) m K2). So each network's layer output
 * is computed once per evaluation batch, and every alpha only mixes the two and runs the layers
 * after. For LeNet-300-100 the 784x300 layer is about 88% of the arithmetic of a curve; it now
 * runs twice per batch instead of once per alpha.
 *
 * The ends are exact by construction: at alpha 1 the mixed output is the first network's layer
 * output itself, made from the kernel and bias the model holds after loading W1 (and its masks),
 * and the layers after run on the model's variables loaded with W1: the ops of the model's own
 * forward on the same inputs, so the logits are the endpoint network's, bit for bit (likewise
 * alpha 0 and W2). Interior alphas differ from the forward of W(alpha) by float32 rounding only.
 *
 * Memory: both networks' layer outputs are held for a chunk of examples, as many evaluation
 * batches as fit the budget; every alpha visits each chunk, so the caller caches whatever is
 * costly to set per alpha (re-estimated BatchNorm statistics).
 */
import { tf } from '../tf';
import type { InputLayer, Model } from '../models/types';
import { inputLinear, inputOutput } from '../models/layers';
import {
  batchSums,
  evaluationCount,
  evaluationOf,
  evaluationTensors,
  readEvaluationBatch,
  readSums,
  type Evaluation,
} from '../train/evaluate';
import { residentSplit } from '../train/resident';
import type { Split } from '../data/types';

/** A split to evaluate along the curve, under the name it has in result tables. */
export interface NamedSplit {
  /** 'train' or 'test' in instability results; any label works. */
  name: string;
  split: Split;
  /** Evaluate the first `limit` examples only (0 or absent: all). */
  limit?: number;
}

type Tensor = tf.Tensor;

/** What `inputSplitCurve` needs besides the model. */
export interface InputSplitOptions {
  /** The input layer's kernel and bias at the two ends, as the model holds them at alpha 1 and 0 (masked). */
  ends: readonly [LayerWeights, LayerWeights];
  alphas: readonly number[];
  splits: readonly NamedSplit[];
  batchSize: number;
  /** Bytes for the input layer's outputs of both networks together. */
  budgetBytes: number;
  /** Sets the model's variables (and BatchNorm statistics) to W(alpha). */
  prepare(alpha: number): void;
}

/** An input layer's parameters at one end of the path. */
export interface LayerWeights {
  kernel: Tensor;
  /** Absent for a layer without a bias. */
  bias?: Tensor;
}

/**
 * Error and loss at every alpha (outer index) and split (inner index), or null when one
 * evaluation batch's input-layer outputs alone exceed the budget (use the plain forward then).
 */
export function inputSplitCurve(model: Model, layer: InputLayer, options: InputSplitOptions): Evaluation[][] | null {
  const { alphas, splits, batchSize } = options;
  const chunkExamples: number[] = [];
  for (const { split, limit } of splits) {
    const perExample = outputBytesPerExample(layer, split, options.ends[0].kernel);
    const batches = Math.floor(
      options.budgetBytes / (2 * perExample * Math.min(batchSize, evaluationCount(split, limit))),
    );
    if (batches < 1) return null;
    chunkExamples.push(batches * batchSize);
  }
  const sums = alphas.map(() => splits.map(() => ({ loss: 0, correct: 0 })));
  splits.forEach(({ split, limit }, s) => {
    const n = evaluationCount(split, limit);
    for (let from = 0; from < n; from += chunkExamples[s]) {
      const chunk = layerOutputsOf(layer, split, from, Math.min(n, from + chunkExamples[s]), batchSize, options.ends);
      try {
        // Every alpha's batch sums stay on the device until the chunk is done: one read for all of them.
        const pending = alphas.map((alpha) => {
          options.prepare(alpha);
          return chunk.map(({ outputs, labels }) =>
            tf.tidy(() =>
              batchSums(layer.forwardFrom(mix(outputs, alpha), { training: false }), labels, model.numClasses),
            ),
          );
        });
        try {
          const { each } = readSums(pending.flat());
          // Batch by batch in order, as evaluate() adds them, so the ends' sums are its sums.
          pending.forEach((batches, a) =>
            batches.forEach((_, b) => {
              const at = 2 * (a * batches.length + b);
              sums[a][s].loss += each[at];
              sums[a][s].correct += each[at + 1];
            }),
          );
        } finally {
          tf.dispose(pending.flat());
        }
      } finally {
        for (const b of chunk) tf.dispose([...b.outputs, b.labels]);
      }
    }
  });
  return sums.map((row) =>
    row.map((sum, s) => evaluationOf(sum.loss, sum.correct, evaluationCount(splits[s].split, splits[s].limit))),
  );
}

/** One evaluation batch: the input layer's outputs of both networks, and the labels. */
interface SplitBatch {
  outputs: [Tensor, Tensor];
  labels: Tensor;
}

function layerOutputsOf(
  layer: InputLayer,
  split: Split,
  from: number,
  to: number,
  batchSize: number,
  ends: readonly [LayerWeights, LayerWeights],
): SplitBatch[] {
  const out: SplitBatch[] = [];
  const resident = residentSplit(split, false);
  try {
    for (let start = from; start < to; start += batchSize) {
      const { outputs, labels } = tf.tidy(() => {
        const { x, y } = evaluationTensors(split, resident, start, Math.min(batchSize, to - start));
        // The same ops as the model's forward: inputOutput(inputLinear(x, op, kernel), op, bias).
        const [first, second] = ends.map((w) => inputOutput(inputLinear(x, layer.op, w.kernel), layer.op, w.bias));
        return { outputs: [first, second] as [Tensor, Tensor], labels: y };
      });
      out.push({ outputs, labels });
    }
  } catch (err) {
    for (const b of out) tf.dispose([...b.outputs, b.labels]);
    throw err;
  }
  return out;
}

// The ends take an output as it is, so that their logits are the endpoint network's own.
function mix([first, second]: readonly [Tensor, Tensor], alpha: number): Tensor {
  if (alpha === 1) return first;
  if (alpha === 0) return second;
  return tf.add(tf.mul(first, alpha), tf.mul(second, 1 - alpha));
}

function outputBytesPerExample(layer: InputLayer, split: Split, kernel: Tensor): number {
  if (split.size === 0) return 0;
  const one = readEvaluationBatch(split, 0, 1);
  return tf.tidy(() => inputLinear(tf.tensor4d(one.x, one.shape), layer.op, kernel).size) * 4;
}
