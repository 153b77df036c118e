// Interpolation, BatchNorm policies, L2 distances and the instability measure on networks whose
// answers are known by hand.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import type { Split } from '../lib/data/types';
import type { Model, ParamInfo } from '../lib/models/types';
import { ParamBuilder, assembleModel, batchNorm, dense } from '../lib/models/layers';
import { presetConfig } from '../lib/train/presets';
import { trainFrom } from '../lib/train/trainer';
import { evaluate } from '../lib/train/evaluate';
import { copyWeights, loadWeights } from '../lib/train/state';
import { loadDataset } from '../lib/data/registry';
import { permutation, stream } from '../lib/rng';
import {
  linspace,
  resolveAlphas,
  interpolationCurve,
  interpolateInto,
  liveWeights,
  measureInstability,
  BatchNormRecompute,
  l2Distance,
  l2Distances,
  parameterNames,
  deriveSeed,
  copySeed,
  initSeedsFor,
  meanStd,
} from '../lib/stability';

before(async () => {
  await initBackend('wasm');
});

// ---- A hand-built network: input x (one pixel), two hidden ReLU units, two classes. ----
// W1 routes x through hidden unit 1 with output weight 2; W2 through unit 2 with weight 3; the
// class-1 logit is a constant 1.5. Along the path, logit0(alpha) = x * f(alpha) with
// f(alpha) = 2 alpha^2 + 3 (1 - alpha)^2, which dips to 1.2 at alpha = 0.6.
let handInstances = 0;
function handModel(): Model {
  const id = ++handInstances;
  const v = (name: string, shape: number[]) => tf.variable(tf.zeros(shape), true, `hand#${id}/${name}`);
  const params = new Map([
    ['h.kernel', v('h.kernel', [1, 2])],
    ['h.bias', v('h.bias', [2])],
    ['out.kernel', v('out.kernel', [2, 2])],
    ['out.bias', v('out.bias', [2])],
  ]);
  const info = new Map<string, ParamInfo>(
    [...params].map(([name, t]) => [
      name,
      {
        name,
        shape: t.shape,
        role: name.endsWith('kernel') ? 'dense-kernel' : 'bias',
        prunable: name.endsWith('kernel'),
      },
    ]),
  );
  return {
    name: 'hand',
    inputShape: [1, 1, 1],
    numClasses: 2,
    params,
    info,
    buffers: new Map(),
    forward: (x) =>
      tf.tidy(() => {
        const h = tf.relu(
          tf.add(
            tf.matMul(tf.reshape(x, [x.shape[0], 1]), params.get('h.kernel')! as tf.Tensor2D),
            params.get('h.bias')!,
          ),
        );
        return tf.add(tf.matMul(h, params.get('out.kernel')! as tf.Tensor2D), params.get('out.bias')!);
      }),
    dispose: () => params.forEach((p) => p.dispose()),
  };
}
const handWeights = (hidden: number[], out: number[]) =>
  new Map<string, tf.Tensor>([
    ['h.kernel', tf.tensor2d([hidden], [1, 2])],
    ['h.bias', tf.zeros([2])],
    ['out.kernel', tf.tensor2d(out, [2, 2])],
    ['out.bias', tf.tensor1d([0, 1.5])],
  ]);
/** A split from explicit pixel values and labels. */
function splitOf(xs: number[][], labels: number[], shape: [number, number, number]): Split {
  return {
    size: labels.length,
    labels: Int32Array.from(labels),
    read: (indices) => {
      const per = shape[0] * shape[1] * shape[2];
      const x = new Float32Array(indices.length * per);
      const y = new Int32Array(indices.length);
      for (let i = 0; i < indices.length; i++) {
        x.set(xs[indices[i]], i * per);
        y[i] = labels[indices[i]];
      }
      return { x, y, shape: [indices.length, ...shape] };
    },
  };
}
const dispose = (m: Map<string, tf.Tensor>) => m.forEach((t) => t.dispose());

test('linspace and alphas: 30 evenly spaced values with both ends exact; lists kept; bad values named', () => {
  const a = resolveAlphas();
  assert.equal(a.length, 30);
  assert.equal(a[0], 0);
  assert.equal(a[29], 1);
  assert.ok(Math.abs(a[1] - 1 / 29) < 1e-16);
  assert.deepEqual(linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(resolveAlphas([0, 0.3, 1]), [0, 0.3, 1]);
  assert.throws(() => resolveAlphas([0, 1.5]), /alphas\[1\] = 1.5 is outside \[0, 1\]/);
  assert.throws(() => resolveAlphas(1), /whole number >= 2/);
});

test('hand-built network: the curve, endpoint errors and instability equal the hand values', () => {
  const model = handModel();
  const w1 = handWeights([1, 0], [2, 0, 0, 0]);
  const w2 = handWeights([0, 1], [0, 0, 3, 0]);
  // A: x = 1, class 0 (wrong where f < 1.5); B: x = 0.6, class 0 (wrong where f < 2.5);
  // C: x = -1, class 1 (always right).
  const split = splitOf([[1], [0.6], [-1]], [0, 0, 1], [1, 1, 1]);
  const before = tf.memory().numTensors;
  const points = interpolationCurve(model, w1, w2, { splits: [{ name: 'test', split }] });
  assert.equal(tf.memory().numTensors, before, 'the curve leaks no tensors');
  assert.equal(points.length, 30);
  for (const p of points) {
    const f = 2 * p.alpha ** 2 + 3 * (1 - p.alpha) ** 2;
    const wrong = (f < 1.5 ? 1 : 0) + (0.6 * f < 1.5 ? 1 : 0);
    assert.equal(p.error, wrong / 3, `error at alpha ${p.alpha}`);
  }
  const m = measureInstability(points, 'test');
  assert.equal(m.error1, 1 / 3); // W1 misclassifies B: 0.6 * 2 = 1.2 < 1.5
  assert.equal(m.error2, 0); // W2: 0.6 * 3 = 1.8 > 1.5
  assert.equal(m.maxError, 2 / 3);
  assert.ok(Math.abs(m.instability - 0.5) < 1e-15, `instability ${m.instability}`);
  assert.ok(m.argmaxAlpha > 0.355 && m.argmaxAlpha < 0.845);
  // The loss barrier is positive too; the endpoint losses are the networks' own.
  loadWeights(model, w1);
  assert.equal(points.find((p) => p.alpha === 1)!.loss, evaluate(model, split).loss);
  assert.ok(m.lossBarrier > 0);
  model.dispose();
  dispose(w1);
  dispose(w2);
});

test('measureInstability needs both endpoints; meanStd uses the population std', () => {
  assert.throws(
    () =>
      measureInstability(
        [
          { alpha: 0.5, split: 'test', error: 0.1, loss: 1, examples: 1 },
          { alpha: 1, split: 'test', error: 0, loss: 0, examples: 1 },
        ],
        'test',
      ),
    /no point at alpha = 0/,
  );
  assert.deepEqual(meanStd([1, 3]), { mean: 2, std: 1, n: 2 });
  assert.deepEqual(meanStd([5]), { mean: 5, std: 0, n: 1 });
});

const lenet = presetConfig('lenet_mnist', 'smoke', { training: '6it' });

async function trainedLenet(
  initSeed: number,
  masks?: Map<string, tf.Tensor>,
): Promise<{ model: Model; dispose(): void }> {
  const r = await trainFrom({ ...lenet, initSeed }, { masks });
  return { model: r.model, dispose: () => r.dispose() };
}

test('dense and masked LeNet: alpha 1 and 0 are each endpoint exactly (weights and error), both policies', async () => {
  const mask = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([784, 300], 0, 1, 'float32', 3), 0.7), 'float32'));
  for (const masks of [undefined, new Map([['fc1.kernel', mask]])]) {
    const a = await trainedLenet(1, masks);
    const b = await trainedLenet(2, masks);
    const probe = (await trainedLenet(3)).model; // any LeNet: its weights are replaced
    const test = { name: 'test', split: loadDataset('mnist').test, limit: 300 };
    for (const bn of ['interpolate', 'recompute'] as const) {
      const points = interpolationCurve(probe, liveWeights(a.model), liveWeights(b.model), {
        alphas: [0, 0.5, 1],
        bn,
        masks,
        splits: [test],
        evalBatchSize: 128,
      });
      const own = (m: Model) => evaluate(m, test.split, { limit: 300, batchSize: 128 });
      assert.deepEqual(pick(points, 1), pick1(own(a.model)), `${masks ? 'masked' : 'dense'} ${bn}: alpha 1 is W1`);
      assert.deepEqual(pick(points, 0), pick1(own(b.model)), `${masks ? 'masked' : 'dense'} ${bn}: alpha 0 is W2`);
    }
    for (const alpha of [0, 1]) {
      interpolateInto(probe, liveWeights(a.model), liveWeights(b.model), alpha, masks);
      const source = alpha === 1 ? a.model : b.model;
      for (const [name, v] of probe.params)
        assert.ok(bitEqual(v, source.params.get(name)!), `alpha ${alpha}: ${name} is bit-identical`);
    }
    if (masks) {
      interpolateInto(probe, liveWeights(a.model), liveWeights(b.model), 0.37, masks);
      const w = probe.params.get('fc1.kernel')!.dataSync();
      const m = mask.dataSync();
      assert.ok(
        m.every((keep, i) => keep === 1 || w[i] === 0),
        'pruned weights stay exactly zero along the path',
      );
    }
    a.dispose();
    b.dispose();
    probe.dispose();
  }
  mask.dispose();
});
const pick = (points: { alpha: number; error: number; loss: number }[], alpha: number) => {
  const p = points.find((q) => q.alpha === alpha)!;
  return { error: p.error, loss: p.loss };
};
const pick1 = (e: { error: number; loss: number }) => ({ error: e.error, loss: e.loss });
function bitEqual(a: tf.Tensor, b: tf.Tensor): boolean {
  const x = a.dataSync() as Float32Array;
  const y = b.dataSync() as Float32Array;
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

// ---- A small BatchNorm network: dense 4 -> 6, BatchNorm, ReLU, dense 6 -> 3. ----
function bnModel(seed: number, momentum = 0.1): Model {
  const b = new ParamBuilder('bn-net', stream('init', seed), momentum);
  const fc1 = b.dense('fc1', 4, 6);
  const bn = b.batchNorm('bn1', 6);
  const fc = b.dense('fc', 6, 3);
  return assembleModel({
    name: 'bn-net',
    inputShape: [1, 1, 4],
    numClasses: 3,
    builder: b,
    forward: (x, options) =>
      dense(tf.relu(batchNorm(dense(tf.reshape(x, [x.shape[0], 4]), fc1), bn, options.training)), fc),
  });
}
function bnData(n: number, seed: number): Split {
  const rng = stream('test-bn-data', seed);
  const xs = Array.from({ length: n }, () => Array.from({ length: 4 }, () => rng.normal() * 2 + 1));
  return splitOf(
    xs,
    xs.map((x) => (x[0] + x[1] > 2 ? 0 : x[2] > 1 ? 1 : 2)),
    [1, 1, 4],
  );
}

test('BatchNorm network: endpoints exact, both policies; recompute is the cumulative mean of batch stats', async () => {
  const train = bnData(64, 1);
  const testSplit = { name: 'test', split: bnData(40, 2) };
  const [m1, m2, probe] = [bnModel(1), bnModel(2), bnModel(3)];
  // Give the endpoints distinct, non-trivial running statistics, as training would.
  m1.buffers.get('bn1.runningMean')!.assign(tf.tensor1d([0.5, -1, 2, 0, 1, 3]));
  m2.buffers.get('bn1.runningVariance')!.assign(tf.tensor1d([4, 0.5, 2, 1, 9, 0.25]));
  const recompute = new BatchNormRecompute({ split: train, batches: 3, batchSize: 16, seed: 5, momentum: 0.1 });
  const before = tf.memory().numTensors;
  const byPolicy = {
    interpolate: interpolationCurve(probe, liveWeights(m1), liveWeights(m2), {
      alphas: 5,
      bn: 'interpolate',
      splits: [testSplit],
    }),
    recompute: interpolationCurve(probe, liveWeights(m1), liveWeights(m2), {
      alphas: 5,
      bn: 'recompute',
      recompute,
      splits: [testSplit],
    }),
  };
  assert.equal(tf.memory().numTensors, before, 'no leaks under either policy');
  // 'interpolate': the ends are the networks as trained.
  assert.deepEqual(pick(byPolicy.interpolate, 1), pick1(evaluate(m1, testSplit.split)));
  assert.deepEqual(pick(byPolicy.interpolate, 0), pick1(evaluate(m2, testSplit.split)));
  // 'recompute': the ends are the networks with statistics re-estimated the same way.
  for (const [alpha, source] of [
    [1, m1],
    [0, m2],
  ] as const) {
    loadWeights(probe, liveWeights(source));
    recompute.apply(probe);
    assert.deepEqual(
      pick(byPolicy.recompute, alpha),
      pick1(evaluate(probe, testSplit.split)),
      `recompute: alpha ${alpha}`,
    );
  }
  // The two policies differ where the statistics do.
  assert.notDeepEqual(
    byPolicy.interpolate.map((p) => p.loss),
    byPolicy.recompute.map((p) => p.loss),
  );

  // Cumulative average by hand: the same three batches (stream('bn-batches', 5)), pre-BN activations.
  loadWeights(probe, liveWeights(m1));
  recompute.apply(probe);
  const order = permutation(64, stream('bn-batches', 5));
  const means: number[][] = [];
  const variances: number[][] = [];
  for (let b = 0; b < 3; b++) {
    const batch = train.read(order.slice(b * 16, b * 16 + 16), { augment: false });
    const z = tf.tidy(
      () =>
        dense(tf.tensor2d(batch.x, [16, 4]), {
          kernel: m1.params.get('fc1.kernel')!,
          bias: m1.params.get('fc1.bias')!,
        }).arraySync() as number[][],
    );
    const mu = [0, 1, 2, 3, 4, 5].map((c) => z.reduce((s, r) => s + r[c], 0) / 16);
    means.push(mu);
    variances.push(mu.map((m, c) => z.reduce((s, r) => s + (r[c] - m) ** 2, 0) / 15));
  }
  const close = (got: tf.Tensor, want: number[], what: string) => {
    const g = got.dataSync();
    want.forEach((w, i) =>
      assert.ok(Math.abs(g[i] - w) <= 2e-5 * Math.max(1, Math.abs(w)), `${what}[${i}]: ${g[i]} vs ${w}`),
    );
  };
  close(
    probe.buffers.get('bn1.runningMean')!,
    [0, 1, 2, 3, 4, 5].map((c) => (means[0][c] + means[1][c] + means[2][c]) / 3),
    'running mean',
  );
  close(
    probe.buffers.get('bn1.runningVariance')!,
    [0, 1, 2, 3, 4, 5].map((c) => (variances[0][c] + variances[1][c] + variances[2][c]) / 3),
    'running variance',
  );
  // The model's momentum is only a lens: a model built with another momentum gives the same statistics.
  const other = bnModel(1, 0.3);
  loadWeights(other, liveWeights(m1));
  new BatchNormRecompute({ split: train, batches: 3, batchSize: 16, seed: 5, momentum: 0.3 }).apply(other);
  close(
    other.buffers.get('bn1.runningMean')!,
    [...probe.buffers.get('bn1.runningMean')!.dataSync()],
    'momentum 0.3 mean',
  );
  assert.throws(() => new BatchNormRecompute({ split: train, batchSize: 16, momentum: 0 }), /bnMomentum = 0/);
  assert.throws(
    () => interpolationCurve(probe, liveWeights(m1), liveWeights(m2), { bn: 'recompute', splits: [testSplit] }),
    /needs options.recompute/,
  );
  [m1, m2, probe, other].forEach((m) => m.dispose());
});

test('a network without BatchNorm gives the same curve under both policies', () => {
  const model = handModel();
  const w1 = handWeights([1, 0], [2, 0, 0, 0]);
  const w2 = handWeights([0, 1], [0, 0, 3, 0]);
  const split = { name: 'test', split: splitOf([[1], [0.6], [-1]], [0, 0, 1], [1, 1, 1]) };
  assert.deepEqual(
    interpolationCurve(model, w1, w2, { alphas: 7, splits: [split], bn: 'recompute' }),
    interpolationCurve(model, w1, w2, { alphas: 7, splits: [split] }),
  );
  model.dispose();
  dispose(w1);
  dispose(w2);
});

test('L2 distance over all parameters or prunable kernels only; BatchNorm buffers never count', () => {
  const [a, b] = [bnModel(1), bnModel(2)];
  b.buffers.get('bn1.runningMean')!.assign(tf.fill([6], 100));
  const wa = copyWeights(a);
  const wb = copyWeights(b);
  const sq = (name: string) => {
    const x = wa.get(name)!.dataSync() as Float32Array;
    const y = wb.get(name)!.dataSync() as Float32Array;
    return x.reduce((s, v, i) => s + (v - y[i]) ** 2, 0);
  };
  assert.deepEqual(parameterNames(a, 'prunable'), ['fc1.kernel', 'fc.kernel']);
  assert.deepEqual(parameterNames(a, 'all'), [
    'fc1.kernel',
    'fc1.bias',
    'bn1.gamma',
    'bn1.beta',
    'fc.kernel',
    'fc.bias',
  ]);
  const d = l2Distances(a, wa, wb);
  assert.ok(Math.abs(d.l2Prunable - Math.sqrt(sq('fc1.kernel') + sq('fc.kernel'))) < 1e-5);
  assert.ok(
    Math.abs(d.l2 - d.l2Prunable) < 1e-6,
    'biases and BN parameters are equal at init, and buffers are excluded',
  );
  assert.equal(l2Distance(wa, wa, parameterNames(a, 'all')), 0);
  [a, b].forEach((m) => m.dispose());
  dispose(wa);
  dispose(wb);
});

test('seeds are hashed from (init, pair, copy): distinct, stable, and not seed + 1', () => {
  const inits = initSeedsFor(0, 0, 3);
  assert.equal(new Set(inits.map((s) => s.initSeed)).size, 3);
  assert.deepEqual(initSeedsFor(0, 0, 3), inits);
  const seeds = inits.flatMap((s) =>
    [0, 1, 2].flatMap((p) => [copySeed(0, s.initSeed, p, 1), copySeed(0, s.initSeed, p, 2)]),
  );
  assert.equal(new Set([...seeds, ...inits.map((s) => s.trunkSeed)]).size, seeds.length + 3);
  assert.ok(seeds.every((s) => Number.isSafeInteger(s) && s >= 0));
  assert.notEqual(copySeed(0, 7, 0, 2), copySeed(0, 7, 0, 1) + 1);
  assert.equal(deriveSeed('x', 1, 2), deriveSeed('x', 1, 2));
  assert.notEqual(deriveSeed('x', 1, 2), deriveSeed('x', 2, 1));
  assert.deepEqual(
    initSeedsFor(0, 0, 0, [4, 9]).map((s) => s.initSeed),
    [4, 9],
  );
  assert.throws(() => initSeedsFor(0, 0, 0, [4, 4]), /repeat a seed/);
});
