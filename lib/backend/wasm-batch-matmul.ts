/**
 * Faster transposed matrix products on wasm.
 *
 * The stock wasm BatchMatMul is fast for A·B but slow when asked to transpose an operand:
 * the weight gradient of LeNet's first layer (xᵀ·dy, [60,784]ᵀ·[60,300]) takes an order of
 * magnitude longer than the forward [60,784]·[784,300] and dominated a training step
 * (bench/README.md, "Why the wasm kernels are rewritten"). Materializing the transpose first (a
 * cheap copy) and running the plain product gives the same sums in a fraction of the time, so this
 * wrapper does exactly that.
 */
import { tf } from '../tf';
import { KernelScope, withKernelScope, type TensorInfo } from './kernel-scope';

let original: tf.KernelFunc | null = null;

function transposeLast(scope: KernelScope, t: TensorInfo): TensorInfo {
  const rank = t.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return scope.run('Transpose', { x: t }, { perm });
}

/** Replaces wasm's BatchMatMul with one that transposes operands explicitly first (idempotent). */
export function registerWasmBatchMatMul(): void {
  if (original) return;
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (!stock)
    throw new Error('lmc-lab backend: wasm BatchMatMul is not registered; load @tensorflow/tfjs-backend-wasm first');
  original = stock.kernelFunc;
  const base = original;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    setupFunc: stock.setupFunc,
    disposeFunc: stock.disposeFunc,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return base({ inputs, backend, attrs });
      return withKernelScope('wasm', backend, (scope) => {
        const a = transposeA ? transposeLast(scope, inputs.a as TensorInfo) : (inputs.a as TensorInfo);
        const b = transposeB ? transposeLast(scope, inputs.b as TensorInfo) : (inputs.b as TensorInfo);
        const out = base({ inputs: { a, b }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
        return out as TensorInfo;
      });
    },
  });
}
