/**
 * The wasm kernels lmc-lab adds (Conv2DBackpropFilter) and replaces (Conv2DBackpropInput)
 * give the cpu backend's gradients, leak nothing, and, with the stock wasm kernels, cover
 * training (forward + backward) of every op pattern the model registry uses.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { registerWasmKernels, restoreStockWasmKernels } from '../lib/backend/wasm-kernels';
import { initBackend } from '../lib/backend';
import { conv2DBackpropInputViaConv } from '../lib/backend/conv2d-backprop-input';
import { assertClose, CONV_CASES, filled, type ConvCase, type Pad } from './fixtures/conv';

/** Runs `compute` on a backend (inside tidy) and returns its outputs as arrays. */
async function on(backend: 'wasm' | 'cpu', compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  await initBackend(backend);
  return tf.tidy(compute).map((t) => {
    const data = t.dataSync() as Float32Array;
    t.dispose();
    return data;
  });
}

/** Compares every output of `compute` on wasm against cpu. */
async function assertSameOnWasmAndCpu(label: string, compute: () => tf.Tensor[]): Promise<void> {
  const wasm = await on('wasm', compute);
  const cpu = await on('cpu', compute);
  assert.equal(wasm.length, cpu.length);
  wasm.forEach((w, i) => assertClose(w, cpu[i], `${label} output ${i}`));
}

const convCases = CONV_CASES;

/** Input and filter gradients of sum(conv2d(x, w) * r) for a random r (a non-uniform dy). */
function convGradients(c: ConvCase): tf.Tensor[] {
  const x = filled(c.x, 1);
  const w = filled([...c.kernel, c.x[3], c.cout], 2);
  const conv = (a: tf.Tensor, b: tf.Tensor) =>
    tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad as 'same');
  const r = filled(conv(x, w).shape, 3);
  return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), r)))([x, w]);
}

/** Training-mode BatchNorm written with tf ops, as lib/models does. */
function batchNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, 1e-5)));
  return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(mean, scale)));
}

/** Mean softmax cross-entropy of logits against fixed labels. */
function crossEntropy(logits: tf.Tensor): tf.Tensor {
  const [n, classes] = logits.shape;
  const labels = tf.oneHot(
    tf.tensor1d(
      Array.from({ length: n }, (_, i) => (i * 7) % classes),
      'int32',
    ),
    classes,
  );
  return tf.losses.softmaxCrossEntropy(labels, logits as tf.Tensor2D);
}

const conv = (x: tf.Tensor, w: tf.Tensor, stride: number, pad: Pad) =>
  tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad as 'same');

/** Tiny versions of each registry network's op patterns: parameter shapes and a loss. */
const patterns: Record<string, { x: number[]; params: number[][]; loss: (x: tf.Tensor, p: tf.Tensor[]) => tf.Tensor }> =
  {
    // LeNet-300-100: dense + relu + softmax cross-entropy.
    lenet: {
      x: [6, 20],
      params: [[20, 12], [12], [12, 10], [10]],
      loss: (x, [w1, b1, w2, b2]) => crossEntropy(tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2)),
    },
    // ResNet-20 / ResNet-50 blocks: conv 3x3 stride 1 and 2, 1x1 projection, BN, add, GAP.
    resnet: {
      x: [4, 9, 9, 3],
      params: [[3, 3, 3, 8], [8], [8], [3, 3, 8, 16], [16], [16], [1, 1, 8, 16], [16], [16], [16, 10]],
      loss: (x, [w1, g1, b1, w2, g2, b2, ws, gs, bs, wd]) => {
        const h = tf.relu(batchNorm(conv(x, w1, 1, 1), g1, b1));
        const y = batchNorm(conv(h, w2, 2, 1), g2, b2);
        const skip = batchNorm(conv(h, ws, 2, 'valid'), gs, bs);
        const pooled = tf.mean(tf.relu(tf.add(y, skip)), [1, 2]);
        return crossEntropy(tf.matMul(pooled, wd));
      },
    },
    // VGG-16: conv 3x3 + relu + maxPool 2x2, flatten, dense.
    vgg: {
      x: [3, 8, 8, 3],
      params: [[3, 3, 3, 6], [6], [3, 3, 6, 8], [2 * 2 * 8, 10]],
      loss: (x, [w1, b1, w2, wd]) => {
        const h = tf.maxPool(tf.relu(tf.add(conv(x, w1, 1, 1), b1)) as tf.Tensor4D, 2, 2, 'valid');
        const y = tf.maxPool(tf.relu(conv(h, w2, 1, 1)) as tf.Tensor4D, 2, 2, 'valid');
        return crossEntropy(tf.matMul(tf.reshape(y, [3, -1]), wd));
      },
    },
    // Inception-v3 / ResNet-50 stems: 1x7 and 7x1 convs, avgPool 3x3 stride 1 'same' (and
    // zero-pad + valid, PyTorch-style), maxPool 3x3 stride 2 valid and padded, concat.
    inception: {
      x: [2, 11, 11, 4],
      params: [
        [1, 7, 4, 6],
        [7, 1, 6, 6],
        [1, 1, 4, 5],
        [30, 10],
      ],
      loss: (x, [w17, w71, w11, wd]) => {
        const a = conv(conv(x, w17, 1, 'same'), w71, 1, 'same');
        const b = tf.avgPool(x as tf.Tensor4D, 3, 1, 'same');
        const c = tf.avgPool(
          tf.pad(conv(x, w11, 1, 'valid'), [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]) as tf.Tensor4D,
          3,
          1,
          'valid',
        );
        const mixed = tf.relu(tf.concat([a, b, c], 3));
        const valid = tf.mean(tf.maxPool(mixed as tf.Tensor4D, 3, 2, 'valid'), [1, 2]);
        const padded = tf.mean(tf.maxPool(mixed as tf.Tensor4D, 3, 2, 1), [1, 2]);
        return crossEntropy(tf.matMul(tf.concat([valid, padded], 1), wd));
      },
    },
  };

/** The loss and its gradient w.r.t. the input and every parameter of a pattern. */
function patternGradients(name: string): tf.Tensor[] {
  const p = patterns[name];
  const x = filled(p.x, 11);
  const params = p.params.map((shape, i) => tf.mul(filled(shape, 20 + i), 0.5));
  const f = (...args: tf.Tensor[]) => p.loss(args[0], args.slice(1));
  const { value, grads } = tf.valueAndGrads(f)([x, ...params]);
  return [value, ...grads];
}

before(async () => {
  await initBackend('wasm');
});

describe('wasm convolution gradients equal the cpu backend', () => {
  for (const c of convCases) {
    const label =
      `${c.kernel.join('x')} stride ${c.strides} pad ${JSON.stringify(c.pad)} ` + `x [${c.x}] -> ${c.x[3]}->${c.cout}`;
    test(label, async () => {
      await assertSameOnWasmAndCpu(label, () => convGradients(c));
    });
  }

  test('NCHW and dilated filter gradients are refused with a clear error', async () => {
    await initBackend('wasm');
    const x = tf.zeros([1, 2, 5, 5]);
    const dy = tf.zeros([1, 3, 5, 5]);
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] },
          ),
      /dataFormat 'NCHW' is not supported/,
    );
    const xh = tf.zeros([1, 8, 8, 2]);
    const dyh = tf.zeros([1, 4, 4, 3]);
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x: xh, dy: dyh },
            { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3], dilations: 2 },
          ),
      /dilations 2 are not supported/,
    );
    tf.dispose([x, dy, xh, dyh]);
  });
});

test('the stride-phase input gradient equals the zero-insertion one', async () => {
  await initBackend('wasm');
  for (const c of convCases.filter((k) => k.strides !== 1)) {
    const dy = filled(
      tf.tidy(
        () =>
          tf.conv2d(
            tf.zeros(c.x) as tf.Tensor4D,
            tf.zeros([...c.kernel, c.x[3], c.cout]) as tf.Tensor4D,
            c.strides,
            c.pad as 'same',
          ).shape,
      ),
      4,
    );
    const filter = filled([...c.kernel, c.x[3], c.cout], 5);
    const args = {
      inputs: { dy, filter },
      backend: tf.backend(),
      attrs: { inputShape: c.x, strides: c.strides, pad: c.pad, dataFormat: 'NHWC' },
    };
    const [phases, zeros] = [true, false].map((stridePhases) =>
      tf.engine().makeTensorFromTensorInfo(conv2DBackpropInputViaConv('wasm', args as never, { stridePhases })),
    );
    assertClose(phases.dataSync() as Float32Array, zeros.dataSync() as Float32Array, `${JSON.stringify(c)}`);
    tf.dispose([dy, filter, phases, zeros]);
  }
});

describe('every op pattern of the registry networks trains on wasm like on cpu', () => {
  for (const name of Object.keys(patterns)) {
    test(name, async () => {
      await assertSameOnWasmAndCpu(name, () => patternGradients(name));
    });
  }
});

test('repeated gradient computations on wasm leak no tensors and no wasm buffers', async () => {
  await initBackend('wasm');
  registerWasmKernels();
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const step = () =>
    tf.tidy(() => {
      patternGradients('resnet');
      convGradients(convCases[7]);
      convGradients(convCases[11]);
      convGradients(convCases[18]);
      convGradients(convCases[24]);
    });
  step();
  const tensors = tf.memory().numTensors;
  const buffers = backend.numDataIds();
  for (let i = 0; i < 4; i++) step();
  assert.equal(tf.memory().numTensors, tensors, 'engine tensors grew');
  assert.equal(backend.numDataIds(), buffers, 'wasm data buffers grew');
});

test('wasm Identity shares the buffer: clones keep values when the original is freed, and free their own', async () => {
  await initBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const buffers = backend.numDataIds();
  const a = tf.tensor([1, 2, 3, 4], [2, 2]);
  const b = tf.clone(a);
  const c = tf.clone(b);
  assert.equal(backend.numDataIds(), buffers + 1, 'a clone allocated a buffer');
  a.dispose();
  assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3, 4]);
  b.dispose();
  assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3, 4]);
  c.dispose();
  assert.equal(backend.numDataIds(), buffers, 'the shared buffer was not freed');
  const strings = tf.tensor(['x', 'y']);
  const copy = tf.clone(strings);
  assert.deepEqual(copy.dataSync(), ['x', 'y']);
  tf.dispose([strings, copy]);
});

test('registerWasmKernels is idempotent; restoreStockWasmKernels puts back the stock kernels it replaced', async () => {
  await initBackend('wasm');
  const names = ['Conv2DBackpropInput', 'Identity'];
  const ours = names.map((name) => tf.getKernel(name, 'wasm')!.kernelFunc);
  registerWasmKernels();
  names.forEach((name, i) => assert.equal(tf.getKernel(name, 'wasm')!.kernelFunc, ours[i], `${name} replaced twice`));
  restoreStockWasmKernels();
  const stock = names.map((name) => tf.getKernel(name, 'wasm')!.kernelFunc);
  names.forEach((name, i) => assert.notEqual(stock[i], ours[i], `${name} not restored`));
  // The stock kernels still compute (their setup ran when the backend started).
  const dx = tf.tidy(() => convGradients(convCases[2])[0].dataSync());
  restoreStockWasmKernels();
  registerWasmKernels();
  names.forEach((name, i) =>
    assert.notEqual(tf.getKernel(name, 'wasm')!.kernelFunc, stock[i], `${name} not registered again`),
  );
  assertClose(
    tf.tidy(() => convGradients(convCases[2])[0].dataSync()) as Float32Array,
    dx as Float32Array,
    'input gradient',
  );
});
