import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf, type Tensor } from '../lib/tf';
import { stream } from '../lib/rng';
import {
  INCEPTION_V3_MIN_AUXILIARY_INPUT,
  INCEPTION_V3_MIN_INPUT,
  ParamBuilder,
  countParameters,
  countState,
  createModel,
  inceptionGeometry,
  modelNames,
  modelSpec,
  prunableNames,
  type Model,
} from '../lib/models';
import { batchNorm, conv2d } from '../lib/models/layers';
import { initBackend } from '../lib/backend';

before(async () => {
  await tf.setBackend('cpu');
});

/** Truncates a count the way Table 1 writes it: 266,610 -> "266K", 25,557,032 -> "25.5M". */
function tableStyle(n: number): string {
  if (n >= 1e6) {
    const tenths = Math.floor(n / 1e5);
    return tenths % 10 === 0 ? `${tenths / 10}M` : `${Math.floor(tenths / 10)}.${tenths % 10}M`;
  }
  return `${Math.floor(n / 1e3)}K`;
}

// Expected counts, checked against Table 1 of the paper ("Params" column).
// Convention: Table 1 truncates (not rounds) the count. It counts trainable scalars for every
// network except ResNet-20, whose "274K" matches trainable + BatchNorm running mean/variance
// (PyTorch's state_dict size without num_batches_tracked): 272,474 trainable would read "272K".
// VGG-16 (convs with bias, as open_lth) reads "14.7M" under either convention.
const EXPECTED: Record<string, { trainable: number; state: number; table: string; convention: 'trainable' | 'state' }> =
  {
    lenet_300_100: { trainable: 266_610, state: 266_610, table: '266K', convention: 'trainable' },
    resnet20: { trainable: 272_474, state: 274_042, table: '274K', convention: 'state' },
    vgg16: { trainable: 14_728_266, state: 14_736_714, table: '14.7M', convention: 'trainable' },
    resnet50: { trainable: 25_557_032, state: 25_610_152, table: '25.5M', convention: 'trainable' },
    inception_v3: { trainable: 27_161_264, state: 27_197_488, table: '27.1M', convention: 'trainable' },
  };

/** Small inputs that keep the pure-JS cpu backend fast while exercising every layer. */
const SMALL_INPUT: Record<string, [number, number, number, number]> = {
  lenet_300_100: [2, 28, 28, 1],
  resnet20: [2, 32, 32, 3],
  vgg16: [2, 32, 32, 3],
  resnet50: [1, 64, 64, 3],
  inception_v3: [1, INCEPTION_V3_MIN_INPUT, INCEPTION_V3_MIN_INPUT, 3],
};

function input(shape: number[], seed = 7): Tensor {
  const rng = stream('test-input', seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

function withModel<T>(name: string, f: (m: Model) => T, seed = 1): T {
  const m = createModel(name, { seed });
  try {
    return f(m);
  } finally {
    m.dispose();
  }
}

describe('registry', () => {
  test('lists the five networks of Table 1 with their datasets', () => {
    assert.deepEqual(modelNames(), ['lenet_300_100', 'resnet20', 'vgg16', 'resnet50', 'inception_v3']);
    assert.equal(modelSpec('lenet_300_100').dataset, 'mnist');
    assert.equal(modelSpec('vgg16').dataset, 'cifar10');
    assert.deepEqual(modelSpec('inception_v3').inputShape, [299, 299, 3]);
    assert.equal(modelSpec('resnet50').numClasses, 1000);
  });

  test('an unknown name lists the valid names', () => {
    assert.throws(
      () => createModel('resnet18', { seed: 0 }),
      /unknown model "resnet18".*lenet_300_100, resnet20, vgg16, resnet50, inception_v3/,
    );
  });
});

describe('every model', () => {
  for (const name of Object.keys(EXPECTED)) {
    test(`${name}: exact counts, Table 1 figure, prunable flags, output shape, no leaks, dispose`, () => {
      const startTensors = tf.memory().numTensors;
      const m = createModel(name, { seed: 3 });
      const e = EXPECTED[name];
      assert.equal(countParameters(m), e.trainable);
      assert.equal(countState(m), e.state);
      assert.equal(tableStyle(e.convention === 'trainable' ? e.trainable : e.state), e.table);

      assert.deepEqual([...m.info.keys()], [...m.params.keys()]);
      for (const [key, info] of m.info) {
        const kernel = info.role === 'conv-kernel' || info.role === 'dense-kernel';
        assert.equal(info.prunable, kernel, key);
        assert.equal(key.endsWith('.kernel'), kernel, key);
        assert.deepEqual(info.shape, m.params.get(key)!.shape, key);
        assert.equal(m.params.get(key)!.trainable, true);
      }
      assert.ok(prunableNames(m).every((k) => k.endsWith('.kernel')));
      for (const [key, b] of m.buffers) {
        assert.match(key, /\.(runningMean|runningVariance)$/);
        assert.equal(b.trainable, false);
      }

      const x = input(SMALL_INPUT[name]);
      const afterSetup = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) {
        const y = m.forward(x, { training: false });
        assert.deepEqual(y.shape, [SMALL_INPUT[name][0], m.numClasses]);
        assert.ok(Array.from(y.dataSync()).every(Number.isFinite));
        y.dispose();
        assert.equal(tf.memory().numTensors, afterSetup, 'forward leaked tensors');
      }
      x.dispose();
      m.dispose();
      assert.equal(tf.memory().numTensors, startTensors, 'dispose left variables behind');
    });
  }
});

describe('LeNet-300-100', () => {
  test('names and shapes in architecture order', () => {
    withModel('lenet_300_100', (m) => {
      assert.deepEqual(
        [...m.params.keys()],
        ['fc1.kernel', 'fc1.bias', 'fc2.kernel', 'fc2.bias', 'fc.kernel', 'fc.bias'],
      );
      assert.deepEqual(m.params.get('fc1.kernel')!.shape, [784, 300]);
      assert.deepEqual(prunableNames(m), ['fc1.kernel', 'fc2.kernel', 'fc.kernel']);
      assert.equal(m.buffers.size, 0);
    });
  });

  test('flattens any input shape it was built for', () => {
    const m = createModel('lenet_300_100', { seed: 1, inputShape: [8, 8, 3], numClasses: 4 });
    assert.deepEqual(m.params.get('fc1.kernel')!.shape, [192, 300]);
    const x = input([3, 8, 8, 3]);
    const y = m.forward(x, { training: true });
    assert.deepEqual(y.shape, [3, 4]);
    tf.dispose([x, y]);
    m.dispose();
  });
});

describe('initialization', () => {
  test('same seed gives bit-identical weights, another seed different ones', () => {
    const a = createModel('resnet20', { seed: 11 });
    const b = createModel('resnet20', { seed: 11 });
    const c = createModel('resnet20', { seed: 12 });
    for (const [key, va] of a.params) {
      const da = va.dataSync() as Float32Array;
      assert.deepEqual(
        Buffer.from(da.buffer),
        Buffer.from((b.params.get(key)!.dataSync() as Float32Array).buffer),
        key,
      );
      if (key.endsWith('.kernel')) assert.notDeepEqual(da, c.params.get(key)!.dataSync(), key);
    }
    [a, b, c].forEach((m) => m.dispose());
  });

  test('Kaiming normal (fan_in) kernels, zero biases, BatchNorm at identity', () => {
    withModel('vgg16', (m) => {
      const k = m.params.get('features.7.conv.kernel')!; // 3x3x256x512: fan_in 2304
      const v = k.dataSync();
      let sum = 0;
      let sq = 0;
      for (const x of v) {
        sum += x;
        sq += x * x;
      }
      const std = Math.sqrt(sq / v.length - (sum / v.length) ** 2);
      assert.ok(Math.abs(std / Math.sqrt(2 / 2304) - 1) < 0.01, `std ${std}`);
      assert.ok(
        m.params
          .get('features.0.conv.bias')!
          .dataSync()
          .every((x) => x === 0),
      );
      assert.ok(
        m.params
          .get('features.0.bn.gamma')!
          .dataSync()
          .every((x) => x === 1),
      );
      assert.ok(
        m.params
          .get('features.0.bn.beta')!
          .dataSync()
          .every((x) => x === 0),
      );
      assert.ok(
        m.buffers
          .get('features.0.bn.runningVariance')!
          .dataSync()
          .every((x) => x === 1),
      );
      assert.ok(
        m.buffers
          .get('features.0.bn.runningMean')!
          .dataSync()
          .every((x) => x === 0),
      );
    });
  });
});

describe('BatchNorm', () => {
  test('training mode normalizes with batch statistics and updates running statistics (hand-computed)', () => {
    const b = new ParamBuilder('bn-test', stream('init', 0), 0.25);
    const bn = b.batchNorm('bn', 2);
    bn.gamma.assign(tf.tensor1d([2, 1]));
    bn.beta.assign(tf.tensor1d([0, 1]));
    // Channel 0 sees 1, 2, 3, 6 (mean 3, biased var 3.5, unbiased 14/3); channel 1 sees 0, 0, 4, 4.
    const x = tf.tensor4d([1, 0, 2, 0, 3, 4, 6, 4], [2, 1, 2, 2]);
    const y = batchNorm(x, bn, true);
    const expected0 = [1, 2, 3, 6].map((v) => (2 * (v - 3)) / Math.sqrt(3.5 + 1e-5));
    const expected1 = [0, 0, 4, 4].map((v) => (v - 2) / Math.sqrt(4 + 1e-5) + 1);
    const out = y.dataSync();
    [0, 1, 2, 3].forEach((i) => {
      assert.ok(Math.abs(out[2 * i] - expected0[i]) < 1e-5);
      assert.ok(Math.abs(out[2 * i + 1] - expected1[i]) < 1e-5);
    });
    // PyTorch convention with m = 0.25: running = 0.75 * running + 0.25 * batch (unbiased variance).
    const mean = bn.runningMean.dataSync();
    const variance = bn.runningVariance.dataSync();
    assert.ok(Math.abs(mean[0] - 0.25 * 3) < 1e-6 && Math.abs(mean[1] - 0.25 * 2) < 1e-6);
    assert.ok(Math.abs(variance[0] - (0.75 + 0.25 * (14 / 3))) < 1e-6);
    assert.ok(Math.abs(variance[1] - (0.75 + 0.25 * (16 / 3))) < 1e-6);

    // Evaluation mode uses the running statistics and leaves them alone.
    const z = batchNorm(x, bn, false).dataSync();
    assert.ok(Math.abs(z[0] - (2 * (1 - mean[0])) / Math.sqrt(variance[0] + 1e-5)) < 1e-5);
    assert.ok(Math.abs(z[7] - ((4 - mean[1]) / Math.sqrt(variance[1] + 1e-5) + 1)) < 1e-5);
    assert.deepEqual(bn.runningMean.dataSync(), mean);
    assert.deepEqual(bn.runningVariance.dataSync(), variance);
    tf.dispose([x, y]);
    for (const v of [...b.params.values(), ...b.buffers.values()]) v.dispose();
  });

  test('in a model: training updates buffers from the batch, evaluation neither changes nor ignores them', () => {
    const m = createModel('resnet20', { seed: 5, bnMomentum: 0.1 });
    const x = input([2, 8, 8, 3]);
    const stem = conv2d(x, { kernel: m.params.get('conv1.kernel')!, strides: [1, 1], pad: 1 });
    const { mean, variance } = tf.moments(stem, [0, 1, 2]);
    const count = 2 * 8 * 8;
    const expectedMean = mean.dataSync().map((v) => 0.1 * v);
    const expectedVar = variance.dataSync().map((v) => 0.9 + (0.1 * v * count) / (count - 1));
    tf.dispose([stem, mean, variance]);

    tf.dispose(m.forward(x, { training: true }));
    const rm = m.buffers.get('bn1.runningMean')!.dataSync();
    const rv = m.buffers.get('bn1.runningVariance')!.dataSync();
    rm.forEach((v, i) => assert.ok(Math.abs(v - expectedMean[i]) < 1e-5, `mean ${i}`));
    rv.forEach((v, i) => assert.ok(Math.abs(v - expectedVar[i]) < 1e-4, `variance ${i}`));

    const snapshot = [...m.buffers.values()].map((b) => b.dataSync().slice());
    const y1 = m.forward(x, { training: false });
    [...m.buffers.values()].forEach((b, i) => assert.deepEqual(b.dataSync(), snapshot[i]));
    // Evaluation output depends on the buffers: shifting one running mean changes the logits.
    const rmVar = m.buffers.get('layer3.2.bn2.runningMean')!;
    rmVar.assign(tf.add(rmVar, 1));
    const y2 = m.forward(x, { training: false });
    assert.notDeepEqual(y1.dataSync(), y2.dataSync());
    tf.dispose([x, y1, y2]);
    m.dispose();
  });

  test('training with one value per channel is refused, as in PyTorch', () => {
    withModel('vgg16', (m) => {
      const x = input([1, 16, 16, 3]);
      assert.throws(() => m.forward(x, { training: true }), /more than one value per channel/);
      x.dispose();
    });
  });
});

describe('gradients', () => {
  for (const [name, shape] of [
    ['resnet20', [2, 8, 8, 3]],
    ['vgg16', [2, 16, 16, 3]],
  ] as const) {
    test(`${name}: cross-entropy gradient exists and is finite for every parameter, without leaks`, () => {
      withModel(name, (m) => {
        const x = input([...shape]);
        const labels = tf.oneHot(tf.tensor1d([1, 7], 'int32'), 10);
        const before = tf.memory().numTensors;
        const firstMean = [...m.buffers.values()][0];
        const meanBefore = firstMean.dataSync().slice();
        const vars = [...m.params.values()];
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(labels, m.forward(x, { training: true })) as tf.Scalar,
          vars,
        );
        assert.ok(Number.isFinite(value.dataSync()[0]));
        for (const [key, v] of m.params) {
          const g = grads[v.name];
          assert.ok(g, `no gradient for ${key}`);
          assert.deepEqual(g.shape, v.shape);
          assert.ok(g.dataSync().every(Number.isFinite), `non-finite gradient for ${key}`);
        }
        assert.ok(
          grads[vars[0].name].dataSync().some((g) => g !== 0),
          'first-layer gradient is all zero',
        );
        assert.notDeepEqual(firstMean.dataSync(), meanBefore, 'running statistics not updated under variableGrads');
        tf.dispose([value, ...Object.values(grads)]);
        assert.equal(tf.memory().numTensors, before, 'gradient step leaked tensors');
        tf.dispose([x, labels]);
      });
    });
  }

  test('asymmetric (Inception 1x7) padding has a working gradient', () => {
    const b = new ParamBuilder('pad-test', stream('init', 0));
    const layer = b.conv('c', 2, 3, { kernel: [1, 7], pad: [0, 3], bias: false });
    const x = input([1, 5, 9, 2]);
    const g = tf.grad((k: Tensor) => tf.sum(tf.square(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, layer.pad))))(
      layer.kernel,
    );
    assert.deepEqual(conv2d(x, layer).shape, [1, 5, 9, 3]);
    assert.deepEqual(g.shape, [1, 7, 2, 3]);
    assert.ok(g.dataSync().every(Number.isFinite));
    tf.dispose([x, g]);
    layer.kernel.dispose();
  });
});

describe('Inception-v3', () => {
  test('geometry: main network from 75x75, auxiliary head from 299x299 (its default input)', () => {
    assert.deepEqual(inceptionGeometry(299, 299), {
      stem: [35, 35],
      lower: [17, 17],
      auxiliary: [1, 1],
      upper: [8, 8],
    });
    assert.deepEqual(
      inceptionGeometry(INCEPTION_V3_MIN_AUXILIARY_INPUT - 1, INCEPTION_V3_MIN_AUXILIARY_INPUT - 1).auxiliary,
      [0, 0],
    );
    assert.deepEqual(inceptionGeometry(INCEPTION_V3_MIN_INPUT, INCEPTION_V3_MIN_INPUT).upper, [1, 1]);
    assert.deepEqual(inceptionGeometry(INCEPTION_V3_MIN_INPUT - 1, INCEPTION_V3_MIN_INPUT - 1).upper, [0, 0]);
  });

  test('training forward: dropout needs a stream and is deterministic given one; aux head refuses small inputs', () => {
    withModel('inception_v3', (m) => {
      assert.equal(m.params.get('AuxLogits.fc.kernel')!.shape[0], 768);
      const keys = [...m.params.keys()];
      assert.ok(keys.indexOf('Mixed_6e.branch_pool.conv.kernel') < keys.indexOf('AuxLogits.conv0.conv.kernel'));
      assert.ok(keys.indexOf('AuxLogits.fc.bias') < keys.indexOf('Mixed_7a.branch3x3_1.conv.kernel'));
      const x = input([2, 75, 75, 3]);
      assert.throws(() => m.forward(x, { training: true }), /dropoutRng/);
      const before = tf.memory().numTensors;
      const snapshot = m.buffers.get('Mixed_7c.branch_pool.bn.runningMean')!.dataSync().slice();
      const y1 = m.forward(x, { training: true, dropoutRng: stream('dropout', 1, 0) });
      assert.notDeepEqual(m.buffers.get('Mixed_7c.branch_pool.bn.runningMean')!.dataSync(), snapshot);
      // Training mode reads batch statistics only, so the outputs differ only through the dropout mask.
      const y2 = m.forward(x, { training: true, dropoutRng: stream('dropout', 1, 0) });
      const y3 = m.forward(x, { training: true, dropoutRng: stream('dropout', 1, 1) });
      assert.deepEqual(y1.shape, [2, 1000]);
      assert.ok(y1.dataSync().every(Number.isFinite));
      assert.deepEqual(y1.dataSync(), y2.dataSync());
      assert.notDeepEqual(y1.dataSync(), y3.dataSync());
      tf.dispose([y1, y2, y3]);
      assert.equal(tf.memory().numTensors, before);
      assert.throws(
        () => m.forwardWithAuxiliary!(x, { dropoutRng: stream('dropout', 1, 0) }),
        /auxiliary head needs input of at least 299x299/,
      );
      x.dispose();
    });
  });

  // The 299x299 pass runs on wasm: the pure-JS cpu backend takes tens of seconds over it.
  test('forwardWithAuxiliary at the default 299x299 input (wasm)', async () => {
    await initBackend('wasm');
    try {
      withModel('inception_v3', (m) => {
        const x = input([2, 299, 299, 3]);
        const before = tf.memory().numTensors;
        const out = m.forwardWithAuxiliary!(x, { dropoutRng: stream('dropout', 1, 0) });
        assert.deepEqual(out.logits.shape, [2, 1000]);
        assert.equal(out.auxiliary.length, 1);
        assert.deepEqual(out.auxiliary[0].logits.shape, [2, 1000]);
        assert.equal(out.auxiliary[0].weight, 0.4);
        tf.dispose([out.logits, out.auxiliary[0].logits]);
        assert.equal(tf.memory().numTensors, before);
        x.dispose();
      });
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
