/**
 * The kernels lmc-lab adds to (or replaces in) the wasm backend so that every network in the
 * model registry trains on it, and fast enough to use: the missing Conv2DBackpropFilter, a
 * Conv2DBackpropInput that runs on XNNPACK's convolution instead of a scalar loop, a
 * BatchMatMul that transposes operands explicitly (the stock transposed products are several
 * times slower), and an Identity that shares its input's buffer instead of copying it. Where
 * the oneDNN addon is built, the three convolution kernels compute on it (native-conv.ts) and
 * fall back to these.
 */
import { tf } from '../tf';
import { makeConv2DBackpropFilter } from './conv2d-backprop-filter';
import { makeConv2DBackpropInput } from './conv2d-backprop-input';
import { registerWasmBatchMatMul } from './wasm-batch-matmul';
import { nativeConv2D, nativeConv2DBackpropFilter, nativeConv2DBackpropInput } from './native-conv';

/** The npm package that provides the wasm backend. */
export const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** The wasm package's exports that lmc-lab uses. */
export type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

let wasmModule: WasmModule | undefined;
/** The stock wasm kernels that ours replaced, by kernel name, for restoring them. */
const stockKernels = new Map<string, tf.KernelConfig>();

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

/**
 * Every NHWC float32 input gradient takes the Conv2D rewrite on wasm: it is faster than the stock
 * scalar loop at every shape ResNet-20 and VGG-16 use, strided ones included even with inserted
 * zeros (bench/README.md, "Why the wasm kernels are rewritten").
 */
const alwaysRewrite = (): boolean => true;

/**
 * wasm's Identity copies the whole buffer, and tfjs clones (through Identity) every tensor a
 * gradient needs saved, so a training step copied each saved activation. Sharing the buffer
 * with a reference count is what wasm's Reshape and the cpu backend's Identity already do;
 * tensors are immutable, so no kernel can tell the difference.
 */
function sharedIdentity(stock: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return stock(args as Parameters<tf.KernelFunc>[0]);
    (args.backend as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return kernelFunc as tf.KernelFunc;
}

/** Replaces the wasm kernel `kernelName` with `make(stock kernelFunc)`, keeping the stock config. */
function replace(kernelName: string, make: (stock: tf.KernelFunc) => tf.KernelFunc): void {
  if (stockKernels.has(kernelName)) return;
  const stock = tf.getKernel(kernelName, 'wasm');
  if (stock == null) {
    throw new Error(
      `lmc-lab backend: ${WASM_PACKAGE} is loaded but registered no ${kernelName} ` +
        `kernel; check that its version matches @tensorflow/tfjs (npm ls @tensorflow/tfjs-core)`,
    );
  }
  stockKernels.set(kernelName, stock);
  tf.unregisterKernel(kernelName, 'wasm');
  // Keep the stock setupFunc: it binds the C function that a fallback to the stock kernel
  // calls, and it only runs if this registration precedes the backend's initialization.
  tf.registerKernel({ ...stock, kernelFunc: make(stock.kernelFunc) });
}

/**
 * Registers lmc-lab's wasm kernels (Conv2DBackpropFilter; faster Conv2DBackpropInput and
 * BatchMatMul; a buffer-sharing Identity; oneDNN convolutions where the addon is built); idempotent.
 */
export function registerWasmKernels(): void {
  loadWasmModule();
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm') == null) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: nativeConv2DBackpropFilter(makeConv2DBackpropFilter('wasm', { stridedOneByOneAsMatMul: true })),
    });
  }
  replace('Conv2DBackpropInput', (stock) =>
    nativeConv2DBackpropInput(makeConv2DBackpropInput('wasm', stock, alwaysRewrite)),
  );
  replace('Conv2D', nativeConv2D);
  replace('Identity', sharedIdentity);
  registerWasmBatchMatMul();
}

/**
 * Puts back the stock wasm kernels ours replaced (Conv2D,
 * Conv2DBackpropInput, Identity), for comparisons and benchmarks.
 */
export function restoreStockWasmKernels(): void {
  for (const [kernelName, stock] of stockKernels) {
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel(stock);
  }
  stockKernels.clear();
}
