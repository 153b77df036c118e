/**
 * Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter for the wasm backend computed by the
 * oneDNN addon, in place on the wasm heap: the addon reads the inputs and writes the output
 * the wasm backend allocated, at their offsets in the wasm memory's ArrayBuffer, so nothing is
 * copied. Calls the addon does not take (NCHW, non-float32, dilated gradients, padding that
 * does not match the output size, empty tensors) go to the kernel registered before.
 */
import { tf } from '../tf';
import type { KernelArgs, TensorInfo } from './kernel-scope';
import { nativeAddon, type DnnlAddon } from './native-addon';

/** The parts of tfjs's wasm backend the kernels use. */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

/** Whether the native kernels compute (tests and benchmarks switch them off to compare). */
let enabled = true;

/** Turns the native convolutions on or off for this process; returns the previous setting. */
export function useNativeConvolutions(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/** The addon when it is loaded and switched on. */
function active(): DnnlAddon | null {
  if (!enabled) return null;
  const n = nativeAddon();
  return 'addon' in n ? n.addon : null;
}

/**
 * The addon's Int32Array geometry of a forward convolution, or null where oneDNN would refuse
 * it: its output size must follow from the padding by oneDNN's floor rule, which tfjs's own
 * pads do except with a ceil dimRoundingMode.
 */
export function geometryOf(info: tf.backend_util.Conv2DInfo): Int32Array | null {
  const { batchSize, inHeight, inWidth, inChannels, outChannels, filterHeight, filterWidth, outHeight, outWidth } =
    info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left, bottom, right } = info.padInfo;
  if (info.dataFormat !== 'channelsLast') return null;
  if ([top, left, bottom, right].some((p) => !(p >= 0))) return null;
  const sizes = [batchSize, inHeight, inWidth, inChannels, outChannels, filterHeight, filterWidth, outHeight, outWidth];
  if (sizes.some((s) => !(s >= 1))) return null;
  const span = (k: number, d: number) => (k - 1) * d + 1;
  const rows = Math.floor((inHeight + top + bottom - span(filterHeight, dilationHeight)) / strideHeight) + 1;
  const cols = Math.floor((inWidth + left + right - span(filterWidth, dilationWidth)) / strideWidth) + 1;
  if (rows !== outHeight || cols !== outWidth) return null;
  return Int32Array.from([
    ...sizes,
    strideHeight,
    strideWidth,
    dilationHeight,
    dilationWidth,
    top,
    left,
    bottom,
    right,
  ]);
}

/** Byte offset of a tensor in the wasm heap. */
function offsetOf(backend: WasmBackend, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** Allocates the output, then runs the addon; the heap is read after allocating, which may grow it. */
function compute(
  addon: DnnlAddon,
  backend: WasmBackend,
  kind: 0 | 1 | 2,
  geometry: Int32Array,
  a: TensorInfo,
  b: TensorInfo,
  outShape: number[],
): TensorInfo {
  const out = backend.makeOutput(outShape, 'float32');
  addon.run(
    kind,
    backend.wasm.HEAPU8.buffer,
    geometry,
    offsetOf(backend, a),
    offsetOf(backend, b),
    offsetOf(backend, out),
  );
  return out;
}

const float32 = (...ts: TensorInfo[]) => ts.every((t) => t.dtype === 'float32' && t.shape.length === 4);

/** Conv2D on oneDNN, `fallback` for what it does not take. */
export function nativeConv2D(fallback: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: KernelArgs) => {
    const addon = active();
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as tf.Conv2DAttrs;
    if (addon !== null && attrs.dataFormat === 'NHWC' && float32(x, filter)) {
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filter.shape as [number, number, number, number],
        attrs.strides,
        attrs.dilations,
        attrs.pad,
        attrs.dimRoundingMode,
      );
      const geometry = geometryOf(info);
      if (geometry !== null) return compute(addon, args.backend as WasmBackend, 0, geometry, x, filter, info.outShape);
    }
    return fallback(args as Parameters<tf.KernelFunc>[0]);
  };
  return kernelFunc as tf.KernelFunc;
}

/** Conv2DBackpropInput on oneDNN, `fallback` for what it does not take. */
export function nativeConv2DBackpropInput(fallback: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: KernelArgs) => {
    const addon = active();
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (addon !== null && attrs.dataFormat === 'NHWC' && float32(dy, filter) && attrs.inputShape.length === 4) {
      const info = tf.backend_util.computeConv2DInfo(
        attrs.inputShape as [number, number, number, number],
        filter.shape as [number, number, number, number],
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
      );
      const geometry = geometryOf(info);
      if (geometry !== null && sameShape(dy.shape, info.outShape)) {
        return compute(addon, args.backend as WasmBackend, 1, geometry, dy, filter, [...attrs.inputShape]);
      }
    }
    return fallback(args as Parameters<tf.KernelFunc>[0]);
  };
  return kernelFunc as tf.KernelFunc;
}

/** Conv2DBackpropFilter on oneDNN, `fallback` for what it does not take (and to report errors). */
export function nativeConv2DBackpropFilter(fallback: tf.KernelFunc): tf.KernelFunc {
  const kernelFunc = (args: KernelArgs) => {
    const addon = active();
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs & { dilations?: number | [number, number] };
    const undilated = [attrs.dilations ?? 1].flat().every((d) => d === 1);
    if (addon !== null && attrs.dataFormat === 'NHWC' && float32(x, dy) && undilated) {
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        attrs.filterShape,
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
      );
      const geometry = geometryOf(info);
      if (geometry !== null && sameShape(dy.shape, info.outShape)) {
        return compute(addon, args.backend as WasmBackend, 2, geometry, x, dy, [...attrs.filterShape]);
      }
    }
    return fallback(args as Parameters<tf.KernelFunc>[0]);
  };
  return kernelFunc as tf.KernelFunc;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
