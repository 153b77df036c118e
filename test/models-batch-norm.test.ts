/**
 * Training-mode BatchNorm with its hand-derived gradient (lib/models/batch-norm.ts) equals
 * the plain formula (tf.moments + normalize) and tf's autodiff of it on cpu and wasm: output,
 * gradients in x, gamma and beta, running statistics; and it leaks nothing. So do the channel
 * ops it is built from (lib/models/channel-ops.ts), and the convolution bias add.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type Tensor } from '../lib/tf';
import { initBackend } from '../lib/backend';
import { stream } from '../lib/rng';
import { ParamBuilder } from '../lib/models';
import { batchNorm } from '../lib/models/layers';
import { normalizeWithBatchStatistics } from '../lib/models/batch-norm';
import { addBias, channelAffine, channelMeans } from '../lib/models/channel-ops';

/** Normal values times `std` plus `offset`, from a named stream (the same on every backend). */
function normal(shape: number[], seed: number, std = 1, offset = 0): Tensor {
  const rng = stream('bn-test', seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => offset + std * rng.normal()),
    shape,
  );
}

/** The plain formula that autodiff differentiates: what lib/models did before the custom gradient. */
function plainBatchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
): { y: Tensor; mean: Tensor; variance: Tensor } {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, epsilon)));
  const shift = tf.sub(beta, tf.mul(mean, scale));
  return { y: tf.add(tf.mul(x, scale), shift), mean, variance };
}

/**
 * |a - b| <= tol * max|b| everywhere, and (unless `normOnly`) elementwise within tol relative
 * plus a floor of 1e-6 * max|b|.
 */
function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  label: string,
  normOnly = false,
): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  assert.ok(scale > 0, `${label}: expected values are all zero, the comparison is vacuous`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    assert.ok(d <= tol * scale, `${label}: element ${i}: ${actual[i]} vs ${expected[i]} (|d|/max = ${d / scale})`);
    if (!normOnly)
      assert.ok(
        d <= tol * Math.abs(expected[i]) + 1e-6 * scale,
        `${label}: element ${i}: ${actual[i]} vs ${expected[i]}`,
      );
  }
}

/** The training-mode output computed in float64 from the float32 inputs of valueAndGradients. */
function float64BatchNorm(shape: number[], epsilon: number): Float64Array {
  const c = shape[shape.length - 1];
  const [x, gamma, beta] = [normal(shape, 1, 2, 3), normal([c], 2, 0.5, 1), normal([c], 3)].map((t) => {
    const data = t.dataSync();
    t.dispose();
    return data;
  });
  const count = x.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  x.forEach((v, i) => {
    mean[i % c] += v / count;
  });
  x.forEach((v, i) => {
    variance[i % c] += (v - mean[i % c]) ** 2 / count;
  });
  return Float64Array.from(
    x,
    (v, i) => (gamma[i % c] * (v - mean[i % c])) / Math.sqrt(variance[i % c] + epsilon) + beta[i % c],
  );
}

/** Output and gradients (x, gamma, beta) of sum(f(x, gamma, beta) * r) for a fixed random r. */
function valueAndGradients(f: (x: Tensor, gamma: Tensor, beta: Tensor) => Tensor, shape: number[]): Float32Array[] {
  return tf
    .tidy(() => {
      const c = shape[shape.length - 1];
      // A large common offset makes cancellation in x - mean visible if it happened.
      const x = normal(shape, 1, 2, 3);
      const gamma = normal([c], 2, 0.5, 1);
      const beta = normal([c], 3);
      const r = normal(shape, 4);
      const y = f(x, gamma, beta);
      const grads = tf.grads((a: Tensor, g: Tensor, b: Tensor) => tf.sum(tf.mul(f(a, g, b), r)))([x, gamma, beta]);
      return [y, ...grads];
    })
    .map((t) => {
      const data = t.dataSync() as Float32Array;
      t.dispose();
      return data;
    });
}

const SHAPES: number[][] = [
  [4, 5, 6, 3],
  [16, 8, 8, 16],
  [1, 4, 4, 2],
  [2, 3, 7, 5],
  [7, 5],
  [64, 32, 32, 4],
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`BatchNorm training mode on ${backend}`, () => {
    for (const shape of SHAPES) {
      test(`[${shape}]: output and gradients equal autodiff of the plain formula`, async () => {
        await initBackend(backend);
        const eps = 1e-5;
        const [y, dx, dgamma, dbeta] = valueAndGradients(
          (x, g, b) => normalizeWithBatchStatistics(x, g, b, eps),
          shape,
        );
        const [ry, rdx, rdgamma, rdbeta] = valueAndGradients((x, g, b) => plainBatchNorm(x, g, b, eps).y, shape);
        // The output is within 1e-5 of the previous implementation's (relative to its largest
        // value: wasm's own mean reduction rounds more than ours, so not elementwise) and
        // closer than that to the float64 result.
        assertClose(y, ry, 1e-5, 'y against the plain formula', true);
        assertClose(y, float64BatchNorm(shape, eps), 2e-6, 'y against float64');
        assertClose(dx, rdx, 1e-4, 'dx');
        assertClose(dgamma, rdgamma, 1e-4, 'dgamma');
        assertClose(dbeta, rdbeta, 1e-4, 'dbeta');
      });
    }

    test('running statistics move as before (PyTorch convention, unbiased variance), evaluation mode too', async () => {
      await initBackend(backend);
      const shape = [8, 6, 6, 5];
      const builder = new ParamBuilder('bn-stats', stream('init', 0), 0.3);
      const bn = builder.batchNorm('bn', 5);
      bn.gamma.assign(normal([5], 5, 0.5, 1));
      bn.beta.assign(normal([5], 6));
      bn.runningMean.assign(normal([5], 7));
      bn.runningVariance.assign(tf.abs(normal([5], 8, 1, 1)));
      const x = normal(shape, 9, 1.5, -2);
      const before = [bn.runningMean.dataSync().slice(), bn.runningVariance.dataSync().slice()];
      const expected = tf.tidy(() => {
        const { mean, variance } = plainBatchNorm(x, bn.gamma, bn.beta, bn.epsilon);
        const count = x.size / 5;
        return [
          tf.add(tf.mul(tf.tensor(before[0]), 0.7), tf.mul(mean, 0.3)),
          tf.add(tf.mul(tf.tensor(before[1]), 0.7), tf.mul(variance, (0.3 * count) / (count - 1))),
        ];
      });
      tf.dispose(batchNorm(x, bn, true));
      assertClose(bn.runningMean.dataSync(), expected[0].dataSync(), 1e-6, 'running mean');
      assertClose(bn.runningVariance.dataSync(), expected[1].dataSync(), 1e-6, 'running variance');

      const evaluated = batchNorm(x, bn, false);
      const reference = tf.tidy(() => {
        const scale = tf.mul(bn.gamma, tf.rsqrt(tf.add(bn.runningVariance, bn.epsilon)));
        return tf.add(tf.mul(x, scale), tf.sub(bn.beta, tf.mul(bn.runningMean, scale)));
      });
      assertClose(evaluated.dataSync(), reference.dataSync(), 1e-6, 'evaluation output');
      tf.dispose([x, evaluated, reference, ...expected]);
      for (const v of [...builder.params.values(), ...builder.buffers.values()]) v.dispose();
    });

    test('channelMeans and channelAffine equal tf.mean and the broadcast multiply-add', async () => {
      await initBackend(backend);
      for (const shape of [
        [3, 4, 5, 6],
        [9, 2],
        [2, 3, 4, 5, 3],
      ]) {
        tf.tidy(() => {
          const x = normal(shape, 10, 1, 0.5);
          const c = shape[shape.length - 1];
          const axes = shape.slice(0, -1).map((_, i) => i);
          assertClose(channelMeans(x).dataSync(), tf.mean(x, axes).dataSync(), 1e-5, `means [${shape}]`);
          const a = normal([c], 11);
          const b = normal([c], 12);
          const affine = channelAffine(x, a, b);
          assert.deepEqual(affine.shape, shape);
          assertClose(affine.dataSync(), tf.add(tf.mul(x, a), b).dataSync(), 1e-6, `affine [${shape}]`);
          assertClose(channelAffine(x, a).dataSync(), tf.mul(x, a).dataSync(), 1e-6, `scale [${shape}]`);
        });
      }
    });

    test('addBias: output and gradients (x, bias) equal tf.add and its autodiff', async () => {
      await initBackend(backend);
      for (const shape of [
        [8, 6, 6, 5],
        [64, 16, 16, 8],
        [7, 3],
      ]) {
        const run = (f: (x: Tensor, b: Tensor) => Tensor) =>
          tf
            .tidy(() => {
              const x = normal(shape, 1, 2, 3);
              const bias = normal([shape[shape.length - 1]], 3);
              const r = normal(shape, 4);
              return [f(x, bias), ...tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.mul(f(a, b), r)))([x, bias])];
            })
            .map((t) => {
              const data = t.dataSync() as Float32Array;
              t.dispose();
              return data;
            });
        const [y, dx, dbias] = run(addBias);
        const [ry, rdx, rdbias] = run((x, b) => tf.add(x, b));
        assert.deepEqual(y, ry, `y [${shape}]`);
        assert.deepEqual(dx, rdx, `dx [${shape}]`);
        assertClose(dbias, rdbias, 1e-4, `dbias [${shape}]`);
      }
    });

    test('repeated forward (with and without gradients) leaks no tensors or backend buffers', async () => {
      await initBackend(backend);
      const builder = new ParamBuilder('bn-leak', stream('init', 0));
      const bn = builder.batchNorm('bn', 4);
      const x = normal([6, 5, 5, 4], 13);
      const step = () => {
        tf.tidy(() => {
          tf.variableGrads(() => tf.sum(tf.square(batchNorm(x, bn, true))) as tf.Scalar, [bn.gamma, bn.beta]);
          tf.grads((a: Tensor) => tf.sum(batchNorm(a, bn, true)))([x]);
          batchNorm(x, bn, true);
          batchNorm(x, bn, false);
          tf.grads((a: Tensor, b: Tensor) => tf.sum(tf.square(addBias(a, b))))([x, bn.beta]);
        });
      };
      const backendData = tf.backend() as unknown as { numDataIds(): number };
      step();
      const tensors = tf.memory().numTensors;
      const buffers = backendData.numDataIds();
      for (let i = 0; i < 3; i++) step();
      assert.equal(tf.memory().numTensors, tensors, 'engine tensors grew');
      assert.equal(backendData.numDataIds(), buffers, 'backend buffers grew');
      x.dispose();
      for (const v of [...builder.params.values(), ...builder.buffers.values()]) v.dispose();
    });
  });
}
