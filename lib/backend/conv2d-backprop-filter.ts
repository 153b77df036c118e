/**
 * Conv2DBackpropFilter as the backend's own forward convolution, for wasm (which ships without
 * the kernel, so convolutional nets cannot train on it out of the box) and the pure-JS cpu
 * backend (whose kernel is a scalar loop about 100x slower than its forward Conv2D).
 *
 * The filter gradient is itself a convolution:
 *
 *   dW[a, b, c, o] = sum over n, i, j of  xpad[n, i*sh + a, j*sw + b, c] * dy[n, i, j, o]
 *
 * Read x transposed to [cin, H, W, n] as a batch of cin images with n channels, and dy
 * transposed to [oh, ow, n, cout] as an oh x ow filter: a stride-1 convolution of the two with
 * dilation = the forward stride yields [cin, kh, kw, cout], which is dW up to a transpose.
 * Padding: the forward top/left padding is applied as the convolution's explicit padding; the
 * bottom/right padding is whatever makes the result exactly kh x kw, and where the forward pass
 * never read the last rows/columns (valid padding with a stride that leaves a remainder) the
 * result is cropped instead.
 *
 * Unpadded 1x1 kernels (ResNet shortcuts, Inception and ResNet-50 bottlenecks) are a plain
 * matrix product instead, x^T dy over the pixels the stride samples: 3-8x faster on wasm than
 * the convolution with a huge dy-filter (on cpu, for stride 1 only; see FilterGradientOptions).
 */
import { tf } from '../tf';
import { KernelArgs, KernelScope, TensorInfo, withKernelScope } from './kernel-scope';

/** The attributes tfjs-core passes to Conv2DBackpropFilter. */
export interface Conv2DBackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** Where the filter-gradient convolution reads: strides, and padding on each side (negative: crop). */
export interface FilterGradientGeometry {
  sh: number;
  sw: number;
  top: number;
  left: number;
  /** Rows the dilated dy-filter spans beyond the input and its top padding; negative means crop. */
  bottom: number;
  right: number;
}

/**
 * Checks the shapes and attributes of a filter-gradient call and returns its geometry; throws
 * (naming `backendName`) for what the rewrite does not cover: NCHW, dilations, wrong ranks.
 */
export function filterGradientGeometry(
  backendName: string,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: Conv2DBackpropFilterAttrs,
): FilterGradientGeometry {
  const where = `lmc-lab ${backendName} Conv2DBackpropFilter`;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== 'NHWC') {
    throw new Error(
      `${where}: dataFormat '${dataFormat}' is not supported; ` +
        `only NHWC (channels last, the tfjs default) is. Use NHWC tensors or another backend.`,
    );
  }
  if (x.shape.length !== 4 || dy.shape.length !== 4) {
    throw new Error(`${where}: x and dy must be rank 4, got x [${x.shape}] and dy [${dy.shape}]`);
  }
  // tfjs-core computes no gradients of dilated convolutions, so Conv2DBackpropFilter has no
  // dilations attribute; refuse one rather than silently return the undilated gradient.
  const dilations = (attrs as { dilations?: number | [number, number] }).dilations ?? 1;
  if ([dilations].flat().some((d) => d !== 1)) {
    throw new Error(
      `${where}: dilations ${JSON.stringify(dilations)} are not ` +
        `supported (only 1); tfjs itself has no gradient for dilated convolutions`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const [kh, kw] = filterShape;
  const [, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  if (oh !== info.outHeight || ow !== info.outWidth) {
    throw new Error(
      `${where}: dy [${dy.shape}] does not match the forward output ` +
        `${info.outHeight}x${info.outWidth} of x [${x.shape}] with filter [${filterShape}]`,
    );
  }
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  return { sh, sw, top, left, bottom: kh + (oh - 1) * sh - h - top, right: kw + (ow - 1) * sw - w - left };
}

/** dW of an unpadded 1x1 convolution: the pixels the stride samples, as [cin, N], times dy as [N, cout]. */
function filterGradient1x1(s: KernelScope, x: TensorInfo, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, h, w, cin] = x.shape;
  const [, oh, ow, cout] = dy.shape;
  // Make the spatial size exactly (oh*sh, ow*sw) so it splits into stride phases; the rows and
  // columns cut or added here are never sampled.
  let xs = x;
  const [hc, wc] = [Math.min(h, oh * sh), Math.min(w, ow * sw)];
  if (hc !== h || wc !== w) xs = s.run('Slice', { x: xs }, { begin: [0, 0, 0, 0], size: [n, hc, wc, cin] });
  if (hc !== oh * sh || wc !== ow * sw) {
    xs = s.run(
      'PadV2',
      { x: xs },
      {
        paddings: [
          [0, 0],
          [0, oh * sh - hc],
          [0, ow * sw - wc],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
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
  const a = s.run(
    'Reshape',
    { x: s.run('Transpose', { x: pixels }, { perm: [1, 0] }) },
    { shape: [1, cin, n * oh * ow] },
  );
  const b = s.run('Reshape', { x: dy }, { shape: [1, n * oh * ow, cout] });
  const dw = s.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  return s.run('Reshape', { x: dw }, { shape: [1, 1, cin, cout] });
}

/** dW as a stride-1, dilated convolution of the transposed x with the transposed dy. */
function filterGradientByConvolution(
  s: KernelScope,
  x: TensorInfo,
  dy: TensorInfo,
  g: FilterGradientGeometry,
  filterShape: [number, number, number, number],
): TensorInfo {
  const [kh, kw, cin, cout] = filterShape;
  const xT = s.run('Transpose', { x }, { perm: [3, 1, 2, 0] });
  const dyT = s.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
  let dw = s.run(
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [g.top, Math.max(0, g.bottom)],
        [g.left, Math.max(0, g.right)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [g.sh, g.sw],
      dimRoundingMode: undefined,
    },
  );
  if (dw.shape[1] !== kh || dw.shape[2] !== kw) {
    dw = s.run('Slice', { x: dw }, { begin: [0, 0, 0, 0], size: [cin, kh, kw, cout] });
  }
  return s.run('Transpose', { x: dw }, { perm: [1, 2, 0, 3] });
}

/** How a backend's filter gradient is best computed, where its kernels' speeds differ. */
export interface FilterGradientOptions {
  /**
   * Whether strided 1x1 kernels also take the matrix product, which samples the strided pixels
   * with Slice: fast on wasm, but the cpu backend's Slice of non-contiguous blocks goes element
   * by element (2x slower there than the convolution).
   */
  stridedOneByOneAsMatMul: boolean;
}

/** The filter gradient dW of an NHWC conv2d from x and dy, with `backendName`'s own kernels. */
export function conv2DBackpropFilterViaConv(
  backendName: string,
  args: KernelArgs,
  options: FilterGradientOptions,
): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
  const g = filterGradientGeometry(backendName, x, dy, attrs);
  const [kh, kw] = attrs.filterShape;
  const unstrided = g.sh === 1 && g.sw === 1;
  if (kh === 1 && kw === 1 && g.top === 0 && g.left === 0 && (unstrided || options.stridedOneByOneAsMatMul)) {
    return withKernelScope(backendName, args.backend, (s) => filterGradient1x1(s, x, dy, g.sh, g.sw));
  }
  return withKernelScope(backendName, args.backend, (s) => filterGradientByConvolution(s, x, dy, g, attrs.filterShape));
}

/**
 * A Conv2DBackpropFilter kernelFunc for `backendName`: the rewrite for NHWC float32, and
 * `fallback` (the backend's stock kernel, if it has one) for everything else.
 */
export function makeConv2DBackpropFilter(
  backendName: string,
  options: FilterGradientOptions,
  fallback?: tf.KernelFunc,
): tf.KernelFunc {
  const kernelFunc = (args: KernelArgs) => {
    const { x } = args.inputs as { x: TensorInfo };
    const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
    if (fallback !== undefined && (attrs.dataFormat !== 'NHWC' || x.dtype !== 'float32')) {
      return fallback(args as Parameters<tf.KernelFunc>[0]);
    }
    return conv2DBackpropFilterViaConv(backendName, args, options);
  };
  return kernelFunc as tf.KernelFunc;
}
