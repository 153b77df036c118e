/**
 * Calling a backend's own kernels from inside another kernel of the same backend.
 *
 * A kernelFunc runs below the engine: tensors it makes with other kernels are raw
 * TensorInfos the engine never sees, so tf.tidy cannot free them. A scope records each one
 * and frees it through the backend (whose disposeData is reference-counted on wasm and cpu, so
 * a Reshape that shares its input's buffer is handled too); only the result the caller keeps
 * survives.
 */
import { tf } from '../tf';

/** A tensor as kernels see it: a buffer id with a shape and dtype, unknown to the engine. */
export type TensorInfo = tf.TensorInfo;

/** Attribute values the kernels used here accept. */
type Attrs = Record<string, unknown>;

/** The arguments tfjs passes to a kernelFunc. */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** The part of a backend a scope needs: reading, making and freeing buffers. */
interface ScopeBackend {
  disposeData(dataId: unknown): unknown;
  readSync(dataId: unknown): unknown;
  write(values: Float32Array, shape: number[], dtype: 'float32'): tf.DataId;
}

/** Records the intermediates made by kernels of one backend called directly, and frees them on dispose. */
export class KernelScope {
  private readonly made: TensorInfo[] = [];

  /** `backend` is the backend object tfjs passed to the calling kernel; `backendName` its registry name. */
  constructor(
    readonly backend: unknown,
    readonly backendName: string,
  ) {}

  /** Runs the kernel `kernelName` of this backend and records its (single) output for disposal. */
  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: Attrs = {}): TensorInfo {
    const kernel = tf.getKernel(kernelName, this.backendName);
    if (kernel == null) {
      throw new Error(
        `lmc-lab backend: the ${this.backendName} kernel '${kernelName}' is not registered; ` +
          `initialize the '${this.backendName}' backend (initBackend('${this.backendName}')) before running its ` +
          `kernels`,
      );
    }
    const out = kernel.kernelFunc({
      inputs: inputs as tf.NamedTensorInfoMap,
      backend: this.backend as tf.KernelBackend,
      attrs: attrs as tf.NamedAttrMap,
    });
    const info = Array.isArray(out) ? out[0] : out;
    this.made.push(info);
    return info;
  }

  /** A new float32 tensor of `shape` holding `values`, recorded for disposal. */
  make(shape: number[], values: Float32Array): TensorInfo {
    const info = {
      dataId: (this.backend as ScopeBackend).write(values, shape, 'float32'),
      shape,
      dtype: 'float32' as const,
    };
    this.made.push(info);
    return info;
  }

  /** The values of the float32 tensor `t` (a copy on wasm): for small tensors such as filters. */
  read(t: TensorInfo): Float32Array {
    return (this.backend as ScopeBackend).readSync(t.dataId) as Float32Array;
  }

  /** Takes `t` out of the scope so dispose leaves it alive; returns it. */
  keep(t: TensorInfo): TensorInfo {
    const i = this.made.lastIndexOf(t);
    if (i >= 0) this.made.splice(i, 1);
    return t;
  }

  /** Frees every recorded intermediate that was not kept. */
  dispose(): void {
    for (const t of this.made) (this.backend as ScopeBackend).disposeData(t.dataId);
    this.made.length = 0;
  }
}

/**
 * Runs `body` in a fresh scope on `backendName`'s kernels, keeps what it returns, and frees
 * everything else (also on error). `body` must return a tensor it made with `run`, never one
 * of the kernel's inputs.
 */
export function withKernelScope(
  backendName: string,
  backend: unknown,
  body: (s: KernelScope) => TensorInfo,
): TensorInfo {
  const scope = new KernelScope(backend, backendName);
  try {
    return scope.keep(body(scope));
  } finally {
    scope.dispose();
  }
}
