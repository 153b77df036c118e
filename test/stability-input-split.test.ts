// Interpolation curves through a linear input layer (lib/stability/input-split.ts): the ends are
// the endpoint networks' own numbers bit for bit, interior points agree with the plain forward of
// W(alpha), under masks and under both BatchNorm policies, with and without chunking.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import type { Split } from '../lib/data/types';
import type { Model } from '../lib/models/types';
import { createModel } from '../lib/models/registry';
import { createCifarVgg } from '../lib/models/vgg-cifar';
import { inputLinear, inputOutput } from '../lib/models/layers';
import { presetConfig } from '../lib/train/presets';
import { trainFrom } from '../lib/train/trainer';
import { evaluate } from '../lib/train/evaluate';
import { loadWeights } from '../lib/train/state';
import { loadDataset } from '../lib/data/registry';
import { stream } from '../lib/rng';
import {
  interpolationCurve,
  interpolateInto,
  liveWeights,
  BatchNormRecompute,
  type CurveOptions,
  type InterpolationPoint,
} from '../lib/stability';

before(async () => {
  await initBackend('wasm');
});

const lenet = presetConfig('lenet_mnist', 'smoke', { training: '6it' });
const ALPHAS = [0, 0.2, 0.5, 0.71, 1];

/** Compares the split curve with the plain one: ends identical, interior within float32 rounding. */
function assertAgrees(split: InterpolationPoint[], plain: InterpolationPoint[], what: string): void {
  assert.equal(split.length, plain.length);
  split.forEach((p, i) => {
    const q = plain[i];
    assert.equal(p.alpha, q.alpha);
    assert.equal(p.split, q.split);
    assert.equal(p.examples, q.examples);
    if (p.alpha === 0 || p.alpha === 1) {
      assert.deepEqual(
        { error: p.error, loss: p.loss },
        { error: q.error, loss: q.loss },
        `${what}: alpha ${p.alpha} is the endpoint network's own`,
      );
    } else {
      assert.ok(
        Math.abs(p.loss - q.loss) <= 1e-5 * Math.max(1, Math.abs(q.loss)),
        `${what}: loss at alpha ${p.alpha}: ${p.loss} vs ${q.loss}`,
      );
      // A float32 tie can flip one prediction; more would mean a different network.
      assert.ok(
        Math.abs(p.error - q.error) * p.examples <= 1,
        `${what}: error at alpha ${p.alpha}: ${p.error} vs ${q.error}`,
      );
    }
  });
}

test(
  'LeNet, dense and masked: the split curve is the plain one at the ends bit for bit and within rounding inside; ' +
    'deterministic; chunks change nothing',
  async () => {
    const mask = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([784, 300], 0, 1, 'float32', 5), 0.6), 'float32'));
    const test = loadDataset('mnist').test;
    // 700 examples in batches of 128: the last batch is partial.
    const splits = [
      { name: 'test', split: test, limit: 700 },
      { name: 'train', split: loadDataset('mnist').train, limit: 300 },
    ];
    for (const masks of [undefined, new Map([['fc1.kernel', mask]])]) {
      const what = masks ? 'masked' : 'dense';
      const [a, b, c] = [
        await trainFrom({ ...lenet, initSeed: 1 }, { masks }),
        await trainFrom({ ...lenet, initSeed: 2 }, { masks }),
        await trainFrom({ ...lenet, initSeed: 3 }),
      ];
      const probe = c.model;
      const [w1, w2] = [liveWeights(a.model), liveWeights(b.model)];
      const options: CurveOptions = { alphas: ALPHAS, masks, splits, evalBatchSize: 128 };
      const before = tf.memory().numTensors;
      const split = interpolationCurve(probe, w1, w2, options);
      assert.equal(tf.memory().numTensors, before, `${what}: the split curve leaks no tensors`);
      const plain = interpolationCurve(probe, w1, w2, { ...options, splitInputLayer: false });
      assertAgrees(split, plain, what);
      // The ends against evaluate() on the endpoint networks themselves.
      for (const [alpha, net] of [
        [1, a.model],
        [0, b.model],
      ] as const) {
        const own = evaluate(net, test, { limit: 700, batchSize: 128 });
        const p = split.find((q) => q.alpha === alpha && q.split === 'test')!;
        assert.deepEqual(
          { error: p.error, loss: p.loss },
          { error: own.error, loss: own.loss },
          `${what}: alpha ${alpha} is the trained network`,
        );
      }
      assert.deepEqual(interpolationCurve(probe, w1, w2, options), split, `${what}: same inputs, same bits`);
      // One batch per chunk: every alpha visits every chunk, the sums are the same.
      assert.deepEqual(
        interpolationCurve(probe, w1, w2, { ...options, inputLayerBytes: 2 * 128 * 300 * 4 }),
        split,
        `${what}: chunked`,
      );
      // A budget below one batch falls back to the plain forward.
      assert.deepEqual(
        interpolationCurve(probe, w1, w2, { ...options, inputLayerBytes: 1000 }),
        plain,
        `${what}: over budget`,
      );
      [a, b, c].forEach((r) => r.dispose());
    }
    mask.dispose();
  },
);

test("alpha 1 through the input layer gives the logits of W1's own forward, bit for bit", async () => {
  const a = await trainFrom({ ...lenet, initSeed: 1 });
  const model = a.model;
  const layer = model.inputLayer!;
  const x = tf.tensor4d(
    loadDataset('mnist').test.read(
      Int32Array.from({ length: 100 }, (_, i) => i),
      { augment: false },
    ).x,
    [100, 28, 28, 1],
  );
  const kernel = tf.clone(model.params.get(layer.kernel)!);
  const [own, through] = tf.tidy(() => [
    model.forward(x, { training: false }),
    layer.forwardFrom(inputOutput(inputLinear(x, layer.op, kernel), layer.op, model.params.get(layer.bias!)), {
      training: false,
    }),
  ]);
  assert.ok(
    Buffer.from((own.dataSync() as Float32Array).buffer).equals(
      Buffer.from((through.dataSync() as Float32Array).buffer),
    ),
  );
  tf.dispose([x, kernel, own, through]);
  a.dispose();
});

/** Random images and labels. */
function randomSplit(n: number, shape: [number, number, number], seed: number): Split {
  const rng = stream('test-input-split', seed);
  const per = shape[0] * shape[1] * shape[2];
  const xs = Float32Array.from({ length: n * per }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * 10));
  return {
    size: n,
    labels,
    read: (indices) => {
      const x = new Float32Array(indices.length * per);
      const y = new Int32Array(indices.length);
      for (let i = 0; i < indices.length; i++) {
        x.set(xs.subarray(indices[i] * per, (indices[i] + 1) * per), i * per);
        y[i] = labels[indices[i]];
      }
      return { x, y, shape: [indices.length, ...shape] };
    },
  };
}

/** Gives a model's BatchNorm layers distinct, non-trivial statistics and affine parameters, as training would. */
function perturbBatchNorm(model: Model, seed: number): void {
  const rng = stream('test-input-split-bn', seed);
  for (const [name, v] of [
    ...model.buffers,
    ...[...model.params].filter(([n]) => model.info.get(n)!.role.startsWith('bn-')),
  ]) {
    const positive = name.endsWith('runningVariance') || name.endsWith('gamma');
    const values = Float32Array.from({ length: v.size }, () => (positive ? 0.5 + rng.uniform() : 0.3 * rng.normal()));
    v.assign(tf.tensor(values, v.shape));
  }
}

test('BatchNorm nets (ResNet-20 stem conv, VGG conv with bias): split and plain curves agree, both policies', () => {
  const shape: [number, number, number] = [8, 8, 3];
  const train = randomSplit(48, shape, 1);
  const test = randomSplit(40, shape, 2);
  const makers: [string, (seed: number) => Model][] = [
    ['resnet20', (seed) => createModel('resnet20', { seed, inputShape: shape, numClasses: 10 })],
    ['vgg', (seed) => createCifarVgg('vgg-small', [8, 'M', 16], { seed, inputShape: shape, numClasses: 10 })],
  ];
  for (const [name, make] of makers) {
    const [m1, m2, probe] = [make(1), make(2), make(3)];
    assert.ok(probe.inputLayer, `${name} describes its input layer`);
    perturbBatchNorm(m1, 1);
    perturbBatchNorm(m2, 2);
    const [w1, w2] = [liveWeights(m1), liveWeights(m2)];
    const recompute = new BatchNormRecompute({ split: train, batches: 2, batchSize: 16, seed: 3, momentum: 0.1 });
    for (const bn of ['interpolate', 'recompute'] as const) {
      const what = `${name} ${bn}`;
      const options: CurveOptions = {
        alphas: ALPHAS,
        bn,
        recompute,
        splits: [
          { name: 'test', split: test },
          { name: 'train', split: train },
        ],
        evalBatchSize: 16,
      };
      const before = tf.memory().numTensors;
      const split = interpolationCurve(probe, w1, w2, options);
      assert.equal(tf.memory().numTensors, before, `${what}: no leaks`);
      assertAgrees(split, interpolationCurve(probe, w1, w2, { ...options, splitInputLayer: false }), what);
      // Chunks of one batch: the statistics of each alpha are estimated once and reused, same numbers.
      const perBatch = 2 * 16 * 8 * 8 * (name === 'vgg' ? 8 : 16) * 4;
      assert.deepEqual(
        interpolationCurve(probe, w1, w2, { ...options, inputLayerBytes: perBatch }),
        split,
        `${what}: chunked`,
      );
      // The ends are the endpoint networks (statistics re-estimated the same way under 'recompute').
      for (const [alpha, source] of [
        [1, w1],
        [0, w2],
      ] as const) {
        loadWeights(probe, source);
        if (bn === 'recompute') recompute.apply(probe);
        const own = evaluate(probe, test, { batchSize: 16 });
        const p = split.find((q) => q.alpha === alpha && q.split === 'test')!;
        assert.deepEqual(
          { error: p.error, loss: p.loss },
          { error: own.error, loss: own.loss },
          `${what}: alpha ${alpha}`,
        );
      }
    }
    // interpolateInto still sets every parameter (the split path never leaves the model half-set).
    interpolateInto(probe, w1, w2, 0.5);
    [m1, m2, probe].forEach((m) => m.dispose());
  }
});

test('models declare their linear input layer as data; the others keep the plain path', () => {
  const lenetModel = createModel('lenet_300_100', { seed: 0 });
  assert.deepEqual(
    { ...lenetModel.inputLayer, forwardFrom: undefined },
    { op: { kind: 'dense' }, kernel: 'fc1.kernel', bias: 'fc1.bias', forwardFrom: undefined },
  );
  const resnet = createModel('resnet20', { seed: 0, inputShape: [8, 8, 3] });
  assert.deepEqual(
    { ...resnet.inputLayer, forwardFrom: undefined },
    {
      op: { kind: 'conv2d', strides: [1, 1], pad: 1 },
      kernel: 'conv1.kernel',
      bias: undefined,
      forwardFrom: undefined,
    },
  );
  const pooledFirst = createCifarVgg('vgg-pool-first', ['M', 8], { seed: 0, inputShape: [8, 8, 3] });
  assert.equal(pooledFirst.inputLayer, undefined, 'a network that pools first has no linear input layer');
  [lenetModel, resnet, pooledFirst].forEach((m) => m.dispose());
});
