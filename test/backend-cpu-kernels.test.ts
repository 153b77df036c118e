/**
 * The cpu kernel lmc-lab replaces (Conv2DBackpropFilter, as a convolution of transposed
 * tensors) gives the stock cpu kernel's gradients, is registered by initBackend('cpu')
 * idempotently and restorably, falls back to the stock kernel for NCHW, and leaks nothing.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { registerCpuKernels, restoreStockCpuKernels, stockCpuKernel } from '../lib/backend/cpu-kernels';
import { initBackend } from '../lib/backend';
import { assertClose, CONV_CASES, filled, type ConvCase } from './fixtures/conv';

// Taken before anything registers lmc-lab's kernels: tfjs's own cpu filter gradient.
const stock = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;

const cases = CONV_CASES;

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
  const outShape = tf.tidy(
    () => tf.conv2d(x as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.strides, c.pad as 'same').shape,
  );
  return { x, dy: filled(outShape, 3), attrs: { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape } };
}

before(async () => {
  await initBackend('cpu');
});

describe('cpu Conv2DBackpropFilter equals the stock cpu kernel', () => {
  for (const c of cases) {
    const label =
      `${c.kernel.join('x')} stride ${c.strides} pad ${JSON.stringify(c.pad)} ` + `x [${c.x}] -> ${c.x[3]}->${c.cout}`;
    test(label, () => {
      const { x, dy, attrs } = caseInputs(c);
      const ours = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as tf.NamedAttrMap) as tf.Tensor;
      assertClose(ours.dataSync(), runDirect(stock.kernelFunc, { x, dy }, attrs), label);
      tf.dispose([x, dy, ours]);
    });
  }

  test("through tf.grads of conv2d, the filter gradient equals the stock kernel's", () => {
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
    const ours = tf
      .engine()
      .runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    assert.deepEqual(ours.dataSync(), runDirect(stock.kernelFunc, { x, dy }, attrs));
    tf.dispose([x, dy, ours]);
  });
});

test("initBackend('cpu') registers the kernel idempotently; restoreStockCpuKernels puts the stock one back", () => {
  const ours = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;
  assert.notEqual(ours.kernelFunc, stock.kernelFunc, "initBackend('cpu') did not replace the stock kernel");
  assert.equal(stockCpuKernel('Conv2DBackpropFilter')!.kernelFunc, stock.kernelFunc);
  registerCpuKernels();
  assert.equal(
    tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc,
    ours.kernelFunc,
    'registering twice replaced it again',
  );
  restoreStockCpuKernels();
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, stock.kernelFunc);
  restoreStockCpuKernels();
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, stock.kernelFunc);
  registerCpuKernels();
  assert.notEqual(tf.getKernel('Conv2DBackpropFilter', 'cpu')!.kernelFunc, stock.kernelFunc);
});

test('repeated filter gradients on cpu leak no tensors and no cpu buffers', () => {
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const inputs = [cases[2], cases[7], cases[10], cases[11]].map(caseInputs);
  const step = () => {
    for (const { x, dy, attrs } of inputs)
      tf.dispose(tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as tf.NamedAttrMap));
  };
  step();
  const tensors = tf.memory().numTensors;
  const buffers = backend.numDataIds();
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, tensors, 'engine tensors grew');
  assert.equal(backend.numDataIds(), buffers, 'cpu data buffers grew');
  for (const { x, dy } of inputs) tf.dispose([x, dy]);
});
