/**
 * The kernels lmc-lab adds to (or replaces in) the wasm backend so that every network in the
 * model registry trains on it, and fast enough to use: the missing Conv2DBackpropFilter, a
 * Conv2DBackpropInput that runs on XNNPACK's convolution instead of a scalar loop, and a
 * BatchMatMul that transposes operands explicitly (the stock transposed products are several
 * times slower).
 */
import { tf } from '../tf';
import { conv2DBackpropFilterWasmConfig } from './wasm-conv2d-backprop-filter';
import { makeConv2DBackpropInputWasm } from './wasm-conv2d-backprop-input';
import { registerWasmBatchMatMul } from './wasm-batch-matmul';

/** The npm package that provides the wasm backend. */
export const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** The wasm package's exports that lmc-lab uses. */
export type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

let wasmModule: WasmModule | undefined;
/** The stock Conv2DBackpropInput kernel that ours replaced, for restoring it. */
let stockBackpropInput: tf.KernelConfig | undefined;

/**
 * Loads @tensorflow/tfjs-backend-wasm, which registers the 'wasm' backend and its kernels.
 * Loaded on demand rather than imported, because merely loading it makes wasm (an async
 * backend) tfjs's highest-priority default, which would break synchronous tf use elsewhere.
 */
export function loadWasmModule(): WasmModule {
  if (wasmModule === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    wasmModule = require(WASM_PACKAGE) as WasmModule;
  }
  return wasmModule;
}

/** Registers lmc-lab's wasm kernels (Conv2DBackpropFilter, faster Conv2DBackpropInput and BatchMatMul); idempotent. */
export function registerWasmKernels(): void {
  loadWasmModule();
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') == null) {
    tf.registerKernel(conv2DBackpropFilterWasmConfig);
  }
  if (stockBackpropInput === undefined) {
    const stock = tf.getKernel('Conv2DBackpropInput', 'wasm');
    if (stock == null) {
      throw new Error(`lmc-lab backend: ${WASM_PACKAGE} is loaded but registered no Conv2DBackpropInput ` +
        `kernel; check that its version matches @tensorflow/tfjs (npm ls @tensorflow/tfjs-core)`);
    }
    stockBackpropInput = stock;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    // Keep the stock setupFunc: it binds the C function that the fallback path calls, and it
    // only runs if this registration precedes the backend's initialization.
    tf.registerKernel({ ...stock, kernelFunc: makeConv2DBackpropInputWasm(stock.kernelFunc) });
  }
  registerWasmBatchMatMul();
}

/** Puts back the stock wasm Conv2DBackpropInput kernel (for comparisons and benchmarks). */
export function restoreStockWasmKernels(): void {
  if (stockBackpropInput !== undefined) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel(stockBackpropInput);
    stockBackpropInput = undefined;
  }
}
