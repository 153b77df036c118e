/**
 * The kernels lmc-lab replaces in tfjs's pure-JS cpu backend so that convolutional nets train
 * on it in reasonable time: Conv2DBackpropFilter, a scalar loop that indexes through
 * TensorBuffer.get (two orders of magnitude slower than the forward Conv2D), becomes the same
 * convolution of transposed tensors the wasm backend uses (see conv2d-backprop-filter.ts).
 */
import { tf } from '../tf';
import { makeConv2DBackpropFilter } from './conv2d-backprop-filter';

/** The stock cpu kernels that lmc-lab replaced, by kernel name, for restoring and comparing. */
const stockKernels = new Map<string, tf.KernelConfig>();

/** Replaces the cpu kernel `kernelName` with `make(stock kernelFunc)`, keeping the stock config. */
function replace(kernelName: string, make: (stock: tf.KernelFunc) => tf.KernelFunc): void {
  if (stockKernels.has(kernelName)) return;
  const stock = tf.getKernel(kernelName, 'cpu');
  if (stock == null) {
    throw new Error(
      `lmc-lab backend: the cpu backend registered no ${kernelName} kernel; check that ` +
        `@tensorflow/tfjs-backend-cpu matches @tensorflow/tfjs (npm ls @tensorflow/tfjs-core)`,
    );
  }
  stockKernels.set(kernelName, stock);
  tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({ ...stock, kernelFunc: make(stock.kernelFunc) });
}

/** Registers lmc-lab's cpu kernels (a fast Conv2DBackpropFilter); idempotent. */
export function registerCpuKernels(): void {
  replace('Conv2DBackpropFilter', (stock) =>
    makeConv2DBackpropFilter('cpu', { stridedOneByOneAsMatMul: false }, stock),
  );
}

/** Puts back the stock cpu kernels that registerCpuKernels replaced (for comparisons and benchmarks). */
export function restoreStockCpuKernels(): void {
  for (const [kernelName, stock] of stockKernels) {
    tf.unregisterKernel(kernelName, 'cpu');
    tf.registerKernel(stock);
  }
  stockKernels.clear();
}

/**
 * The stock cpu kernel `kernelName`: the one registerCpuKernels replaced, or the one registered
 * now if it replaced none. For tests and benchmarks that compare against tfjs's own kernels.
 */
export function stockCpuKernel(kernelName: string): tf.KernelConfig | undefined {
  return stockKernels.get(kernelName) ?? tf.getKernel(kernelName, 'cpu');
}
