/**
 * Conv2DBackpropFilter for the wasm backend, which ships without it (so convolutional nets
 * cannot train on wasm out of the box).
 *
 * The filter gradient is itself a convolution:
 *
 *   dW[a, b, c, o] = sum over n, i, j of  xpad[n, i*sh + a, j*sw + b, c] * dy[n, i, j, o]
 *
 * Read x transposed to [cin, H, W, n] as a batch of cin images with n channels, and dy
 * transposed to [oh, ow, n, cout] as an oh x ow filter: a stride-1 convolution of the two with
 * dilation = the forward stride yields [cin, kh, kw, cout], which is dW up to a transpose. This
 * runs on wasm's XNNPACK Conv2D (about 10-25 GFLOP/s here) instead of a scalar loop.
 * Padding: the forward top/left padding is applied as the convolution's explicit padding; the
 * bottom/right padding is whatever makes the result exactly kh x kw, and where the forward pass
 * never read the last rows/columns (valid padding with a stride that leaves a remainder) the
 * result is cropped instead.
 *
 * Unpadded 1x1 kernels (ResNet shortcuts, Inception and ResNet-50 bottlenecks) are a plain
 * matrix product instead, x^T dy over the pixels the stride samples: 3-8x faster here than
 * the convolution with a huge dy-filter.
 */
import { tf } from '../tf';
import { TensorInfo, WasmKernelScope, withWasmScope } from './wasm-kernel-scope';

/** The attributes tfjs-core passes to Conv2DBackpropFilter. */
interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** dW of an unpadded 1x1 convolution: the pixels the stride samples, as [cin, N], times dy as [N, cout]. */
function filterGradient1x1(s: WasmKernelScope, x: TensorInfo, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, h, w, cin] = x.shape;
  const [, oh, ow, cout] = dy.shape;
  // Make the spatial size exactly (oh*sh, ow*sw) so it splits into stride phases; the rows and
  // columns cut or added here are never sampled.
  let xs = x;
  const [hc, wc] = [Math.min(h, oh * sh), Math.min(w, ow * sw)];
  if (hc !== h || wc !== w) xs = s.run('Slice', { x: xs }, { begin: [0, 0, 0, 0], size: [n, hc, wc, cin] });
  if (hc !== oh * sh || wc !== ow * sw) {
    xs = s.run('PadV2', { x: xs }, { paddings: [[0, 0], [0, oh * sh - hc], [0, ow * sw - wc], [0, 0]], constantValue: 0 });
  }
  // Sample rows, then columns, with contiguous-block slices; wasm's strided slice and its
  // transposes above rank 4 run a generic scalar path that is 20x slower.
  if (sh !== 1) {
    const rows = s.run('Reshape', { x: xs }, { shape: [n, oh, sh, ow * sw * cin] });
    xs = s.run('Slice', { x: rows }, { begin: [0, 0, 0, 0], size: [n, oh, 1, ow * sw * cin] });
  }
  if (sw !== 1) {
    const cols = s.run('Reshape', { x: xs }, { shape: [n * oh * ow, sw, cin] });
    xs = s.run('Slice', { x: cols }, { begin: [0, 0, 0], size: [n * oh * ow, 1, cin] });
  }
  const pixels = s.run('Reshape', { x: xs }, { shape: [n * oh * ow, cin] });
  const a = s.run('Reshape', { x: s.run('Transpose', { x: pixels }, { perm: [1, 0] }) }, { shape: [1, cin, n * oh * ow] });
  const b = s.run('Reshape', { x: dy }, { shape: [1, n * oh * ow, cout] });
  const dw = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  return s.run('Reshape', { x: dw }, { shape: [1, 1, cin, cout] });
}

/** The filter gradient dW of an NHWC conv2d from its input x and output gradient dy, on wasm. */
export function conv2DBackpropFilterWasm(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== 'NHWC') {
    throw new Error(`lmc-lab wasm Conv2DBackpropFilter: dataFormat '${dataFormat}' is not supported; ` +
      `only NHWC (channels last, the tfjs default) is. Use NHWC tensors or another backend.`);
  }
  if (x.shape.length !== 4 || dy.shape.length !== 4) {
    throw new Error(`lmc-lab wasm Conv2DBackpropFilter: x and dy must be rank 4, got x ` +
      `[${x.shape}] and dy [${dy.shape}]`);
  }
  // tfjs-core computes no gradients of dilated convolutions, so Conv2DBackpropFilter has no
  // dilations attribute; refuse one rather than silently return the undilated gradient.
  const dilations = (attrs as { dilations?: number | [number, number] }).dilations ?? 1;
  if ([dilations].flat().some((d) => d !== 1)) {
    throw new Error(`lmc-lab wasm Conv2DBackpropFilter: dilations ${JSON.stringify(dilations)} are not ` +
      `supported (only 1); tfjs itself has no gradient for dilated convolutions`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const [kh, kw, cin, cout] = filterShape;
  const [, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  if (oh !== info.outHeight || ow !== info.outWidth) {
    throw new Error(`lmc-lab wasm Conv2DBackpropFilter: dy [${dy.shape}] does not match the ` +
      `forward output ${info.outHeight}x${info.outWidth} of x [${x.shape}] with filter [${filterShape}]`);
  }
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // Rows the dilated dy-filter spans beyond the top padding; negative means crop later.
  const bottom = kh + (oh - 1) * sh - h - top;
  const right = kw + (ow - 1) * sw - w - left;

  if (kh === 1 && kw === 1 && top === 0 && left === 0) {
    return withWasmScope(args.backend, (s) => filterGradient1x1(s, x, dy, sh, sw));
  }
  return withWasmScope(args.backend, (s) => {
    const xT = s.run('Transpose', { x }, { perm: [3, 1, 2, 0] });
    const dyT = s.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    let dw = s.run('Conv2D', { x: xT, filter: dyT }, {
      strides: [1, 1],
      pad: [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]],
      dataFormat: 'NHWC',
      dilations: [sh, sw],
      dimRoundingMode: undefined,
    });
    if (dw.shape[1] !== kh || dw.shape[2] !== kw) {
      dw = s.run('Slice', { x: dw }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] });
    }
    return s.run('Transpose', { x: dw }, { perm: [1, 2, 0, 3] });
  });
}

/** Kernel registration record for Conv2DBackpropFilter on wasm. */
export const conv2DBackpropFilterWasmConfig: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as tf.KernelFunc,
};
