/**
 * Calling the wasm backend's own kernels from inside another wasm kernel.
 *
 * A kernelFunc runs below the engine: tensors it makes with other kernels are raw
 * TensorInfos the engine never sees, so tf.tidy cannot free them. A scope records each one
 * and frees it through the backend (whose disposeData is reference-counted, so a Reshape that
 * shares its input's buffer is handled too); only the result the caller keeps survives.
 */
import { tf } from '../tf';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** A tensor as kernels see it: a buffer id with a shape and dtype, unknown to the engine. */
export type TensorInfo = tf.TensorInfo;

/** Attribute values the kernels used here accept. */
type Attrs = Record<string, unknown>;

/** Records the intermediates made by wasm kernels called directly, and frees them on dispose. */
export class WasmKernelScope {
  private readonly made: TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Runs the wasm kernel `kernelName` and records its (single) output for disposal. */
  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
    const kernel = tf.getKernel(kernelName, 'wasm');
    if (kernel == null) {
      throw new Error(`lmc-lab backend: the wasm kernel '${kernelName}' is not registered; ` +
        `load @tensorflow/tfjs-backend-wasm (initBackend('wasm')) before running wasm kernels`);
    }
    const out = kernel.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      backend: this.backend,
      attrs: attrs as tf.NamedAttrMap,
    });
    const info = Array.isArray(out) ? out[0] : out;
    this.made.push(info);
    return info;
  }

  /** Takes `t` out of the scope so dispose leaves it alive; returns it. */
  keep(t: TensorInfo): TensorInfo {
    const i = this.made.lastIndexOf(t);
    if (i >= 0) this.made.splice(i, 1);
    return t;
  }

  /** Frees every recorded intermediate that was not kept. */
  dispose(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made.length = 0;
  }
}

/**
 * Runs `body` in a fresh scope, keeps what it returns, and frees everything else (also on
 * error). `body` must return a tensor it made with `run`, never one of the kernel's inputs.
 */
export function withWasmScope(backend: unknown, body: (s: WasmKernelScope) => TensorInfo): TensorInfo {
  const scope = new WasmKernelScope(backend as BackendWasm);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}
