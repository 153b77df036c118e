/**
 * The cpu kernel lmc-lab replaces (Conv2DBackpropFilter, as a convolution of transposed
 * tensors) gives the stock cpu kernel's gradients, is registered by initBackend('cpu')
 * idempotently and restorably, falls back to the stock kernel for NCHW, and leaks nothing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { initBackend, registerCpuKernels, restoreStockCpuKernels, stockCpuKernel } from '../lib/backend';

// Taken before anything registers lmc-lab's kernels: tfjs's own cpu filter gradient.
const stock = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;

/** Deterministic values in [-1, 1). */
function filled(shape: number[], seed: number): tf.Tensor {
  let s = (seed * 2654435761) >>> 0;
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return tf.tensor(out, shape);
}

/** |a - b| <= 1e-4 * max|b|, and elementwise within 1e-4 relative plus a floor of 1e-6 * max|b|. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  assert.ok(scale > 0, `${label}: expected gradient is all zeros, the test is vacuous`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    assert.ok(d <= 1e-4 * scale && d <= 1e-4 * Math.abs(expected[i]) + 1e-6 * scale,
      `${label}: element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface ConvCase {
  x: [number, number, number, number];
  kernel: [number, number];
  cout: number;
  strides: number | [number, number];
  pad: Pad;
}

const cases: ConvCase[] = [
  { x: [2, 8, 8, 3], kernel: [3, 3], cout: 4, strides: 1, pad: 'same' },
  { x: [3, 7, 7, 2], kernel: [3, 3], cout: 5, strides: 1, pad: 'valid' },
  { x: [2, 8, 8, 4], kernel: [3, 3], cout: 8, strides: 2, pad: 'same' },
  { x: [2, 7, 7, 4], kernel: [3, 3], cout: 8, strides: 2, pad: 'same' },
  { x: [2, 8, 8, 3], kernel: [3, 3], cout: 2, strides: 2, pad: 'valid' },
  { x: [2, 17, 17, 3], kernel: [3, 3], cout: 4, strides: 2, pad: 'valid' },
  { x: [2, 9, 9, 16], kernel: [3, 3], cout: 16, strides: 1, pad: 1 },
  { x: [2, 8, 8, 8], kernel: [3, 3], cout: 16, strides: 2, pad: 1 },
  { x: [2, 8, 9, 3], kernel: [3, 3], cout: 4, strides: [2, 1], pad: [[0, 0], [2, 0], [1, 3], [0, 0]] },
  { x: [2, 6, 6, 3], kernel: [3, 3], cout: 4, strides: 1, pad: [[0, 0], [3, 1], [0, 4], [0, 0]] },
  { x: [2, 8, 8, 8], kernel: [1, 1], cout: 16, strides: 1, pad: 'valid' },
  { x: [2, 8, 8, 8], kernel: [1, 1], cout: 16, strides: 2, pad: 'valid' },
  { x: [3, 7, 7, 5], kernel: [1, 1], cout: 6, strides: 2, pad: 'valid' },
  { x: [2, 6, 6, 4], kernel: [1, 1], cout: 3, strides: 2, pad: 1 },
  { x: [2, 9, 6, 3], kernel: [1, 7], cout: 4, strides: 1, pad: 'same' },
  { x: [2, 9, 6, 3], kernel: [7, 1], cout: 4, strides: 1, pad: 'same' },
  { x: [2, 11, 10, 3], kernel: [1, 7], cout: 4, strides: 2, pad: 'valid' },
  { x: [1, 8, 8, 1], kernel: [3, 3], cout: 1, strides: 2, pad: 'same' },
];

/** Runs a cpu kernelFunc directly on tensors and returns its output's values. */
function runDirect(kernelFunc: tf.KernelFunc, inputs: Record<string, tf.Tensor>, attrs: object): Float32Array {
  const info = kernelFunc({ inputs, backend: tf.backend(), attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
  const t = tf.engine().makeTensorFromTensorInfo(info);
  const values = t.dataSync() as Float32Array;
  t.dispose();
  return values;
}

/** x, dy (a non-uniform output gradient) and the kernel attributes of a case. */
function caseInputs(c: ConvCase): { x: tf.Tensor; dy: tf.Tensor; attrs: object } {
  const x = filled(c.x, 1);
  const filterShape: [number, number, number, number] = [...c.kernel, c.x[3], c.cout];
  const outShape = tf.tidy(() => tf.conv2d(x as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.strides, c.pad as 'same').shape);
  return { x, dy: filled(outShape, 3), attrs: { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape } };
}

before(async () => {
  await initBackend('cpu');
});

describe('cpu Conv2DBackpropFilter equals the stock cpu kernel', () => {
  for (const c of cases) {
    const label = `${c.kernel.join('x')} stride ${c.strides} pad ${JSON.stringify(c.pad)} x [${c.x}] -> ${c.x[3]}->${c.cout}`;
    test(label, () => {
      const { x, dy, attrs } = caseInputs(c);
      const ours = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as tf.NamedAttrMap) as tf.Tensor;
      assertClose(ours.dataSync(), runDirect(stock.kernelFunc, { x, dy }, attrs), label);
      tf.dispose([x, dy, ours]);
    });
  }

  test('through tf.grads of conv2d, the filter gradient equals the stock kernel\'s', () => {
    const x = filled([4, 10, 10, 6], 5);
    const w = filled([3, 3, 6, 8], 6);
    const r = filled([4, 5, 5, 8], 7);
    const loss = (f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 1), r));
    const ours = tf.grad(loss)(w);
    restoreStockCpuKernels();
    const reference = tf.grad(loss)(w);
    registerCpuKernels();
    assertClose(ours.dataSync(), reference.dataSync(), 'tf.grads filter gradient');
    tf.dispose([x, w, r, ours, reference]);
  });

  test('NCHW goes to the stock kernel (which supports it)', () => {
    const x = filled([2, 3, 6, 6], 8);
    const dy = filled([2, 4, 6, 6], 9);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 3, 4] };
    const ours = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    assert.deepEqual(ours.dataSync(), runDirect(stock.kernelFunc, { x, dy }, attrs));
    tf.dispose([x, dy, ours]);
  });
});

test('initBackend(\'cpu\') registers the kernel idempotently; restoreStockCpuKernels puts the stock one back', () => {
  const ours = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;
  assert.notEqual(ours.kernelFunc, stock.kernelFunc, 'initBackend(\'cpu\') did not replace the stock kernel');
  assert.equal(stockCpuKernel('Conv2DBackpropFilter')!.kernelFunc, stock.kernelFunc);
  registerCpuKernels();
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, ours.kernelFunc, 'registering twice replaced it again');
  restoreStockCpuKernels();
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, stock.kernelFunc);
  restoreStockCpuKernels();
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, stock.kernelFunc);
  registerCpuKernels();
  assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, stock.kernelFunc);
});

test('repeated filter gradients on cpu leak no tensors and no cpu buffers', () => {
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const inputs = [cases[2], cases[8], cases[11], cases[12]].map(caseInputs);
  const step = () => {
    for (const { x, dy, attrs } of inputs) tf.dispose(tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as tf.NamedAttrMap));
  };
  step();
  const tensors = tf.memory().numTensors;
  const buffers = backend.numDataIds();
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, tensors, 'engine tensors grew');
  assert.equal(backend.numDataIds(), buffers, 'cpu data buffers grew');
  for (const { x, dy } of inputs) tf.dispose([x, dy]);
});
