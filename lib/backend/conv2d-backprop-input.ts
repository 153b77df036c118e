/**
 * Conv2DBackpropInput (the gradient of conv2d w.r.t. its input) as the backend's own forward
 * convolution. wasm's stock kernel is a scalar loop (about 2 GFLOP/s here) while its forward
 * Conv2D runs on XNNPACK (10-30 GFLOP/s):
 *
 *   dx = conv2d(dy with (stride - 1) zeros between rows/columns, padded by kh-1-top / kw-1-left,
 *               filter rotated 180 degrees with in/out channels swapped)
 *
 * For stride 1 there are no zeros to insert. For larger strides, where 3 in 4 multiply-adds
 * (stride 2) would hit inserted zeros, the gradient is split by stride phase instead (see
 * inputGradientByPhases), with zero insertion as the fallback where the split does not apply
 * (forward padding wider than the kernel). Each backend decides which calls take the rewrite
 * (see makeConv2DBackpropInput); the others go to its stock kernel.
 */
import { tf } from '../tf';
import { KernelArgs, KernelScope, TensorInfo, withKernelScope } from './kernel-scope';

/** The attributes tfjs-core passes to Conv2DBackpropInput. */
export interface Conv2DBackpropInputAttrs {
  inputShape: [number, number, number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** dy with (sh-1) zero rows after every row and (sw-1) zero columns after every column. */
function insertZeros(s: KernelScope, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, oh, ow, c] = dy.shape;
  // A size-1 axis after each spatial axis, padded to the stride, then merged back: one pass.
  const r = s.run('Reshape', { x: dy }, { shape: [n, oh, 1, ow, 1, c] });
  const p = s.run(
    'PadV2',
    { x: r },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  return s.run('Reshape', { x: p }, { shape: [n, oh * sh, ow * sw, c] });
}

/**
 * One spatial axis of the stride-phase split. Output position p = u * stride + r (phase r)
 * receives dx[p] = sum over t of dy[u - t] * W[t * stride + r + padBefore]: for each phase a
 * stride-1 correlation of dy with every stride-th tap. All phases share one window of
 * `window` taps over dy padded by `before`; `tap(r, k)` is the kernel index that phase r
 * reads at window position k, or -1 where that phase has no tap (a zero weight).
 */
interface PhaseAxis {
  before: number;
  window: number;
  tap(r: number, k: number): number;
}

/** The phase split of an axis with kernel size `size`; null where the forward padding exceeds the kernel. */
function phaseAxis(size: number, stride: number, padBefore: number): PhaseAxis | null {
  let tmin = Infinity;
  let tmax = -Infinity;
  for (let r = 0; r < stride; r++) {
    const lo = Math.ceil((-r - padBefore) / stride);
    const hi = Math.floor((size - 1 - r - padBefore) / stride);
    if (lo <= hi) [tmin, tmax] = [Math.min(tmin, lo), Math.max(tmax, hi)];
  }
  if (!(tmax >= 0)) return null;
  return {
    before: tmax,
    window: tmax - tmin + 1,
    tap: (r, k) => {
      const a = (tmax - k) * stride + r + padBefore;
      return a >= 0 && a < size ? a : -1;
    },
  };
}

/**
 * dx of a strided convolution without inserted zeros: one stride-1 Conv2D of dy whose output
 * channels are the stride phases (sh * sw blocks of cin), then a rank-4 transpose that
 * interleaves the phases into rows and columns. For a 3x3 stride-2 kernel it does 4/9 of the
 * multiply-adds of the zero-insertion rewrite. Null where the split does not apply.
 */
function inputGradientByPhases(
  s: KernelScope,
  dy: TensorInfo,
  filter: TensorInfo,
  inputShape: number[],
  info: tf.backend_util.Conv2DInfo,
): TensorInfo | null {
  const [kh, kw, cin, cout] = filter.shape;
  const [n, h, w] = inputShape;
  const [, oh, ow] = dy.shape;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  const rows = phaseAxis(kh, sh, info.padInfo.top);
  const cols = phaseAxis(kw, sw, info.padInfo.left);
  if (rows === null || cols === null) return null;
  // The phase filter [window_h, window_w, cout, (rh * sw + rw) * cin + c], gathered in JS:
  // filters are small next to activations.
  const weights = s.read(filter);
  const phases = sh * sw * cin;
  const gathered = new Float32Array(rows.window * cols.window * cout * phases);
  for (let k1 = 0; k1 < rows.window; k1++) {
    for (let k2 = 0; k2 < cols.window; k2++) {
      for (let rh = 0; rh < sh; rh++) {
        const a = rows.tap(rh, k1);
        for (let rw = 0; rw < sw; rw++) {
          const b = cols.tap(rw, k2);
          if (a < 0 || b < 0) continue;
          for (let c = 0; c < cin; c++) {
            const from = ((a * kw + b) * cin + c) * cout;
            const to = (k1 * cols.window + k2) * cout * phases + (rh * sw + rw) * cin + c;
            for (let o = 0; o < cout; o++) gathered[to + o * phases] = weights[from + o];
          }
        }
      }
    }
  }
  const phaseFilter = s.make([rows.window, cols.window, cout, phases], gathered);
  // Enough output positions per phase to cover the input; surplus ones are cropped below.
  const [uh, uw] = [Math.ceil(h / sh), Math.ceil(w / sw)];
  const out = s.run(
    'Conv2D',
    { x: dy, filter: phaseFilter },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [rows.before, Math.max(0, uh + rows.window - 1 - oh - rows.before)],
        [cols.before, Math.max(0, uw + cols.window - 1 - ow - cols.before)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined,
    },
  );
  const [, ph, pw] = out.shape;
  // [n * ph, pw, sh, sw * cin] -> [n * ph, sh, pw, sw * cin] is [n, ph * sh, pw * sw, cin].
  let dx = s.run('Reshape', { x: out }, { shape: [n * ph, pw, sh, sw * cin] });
  if (sh !== 1) dx = s.run('Transpose', { x: dx }, { perm: [0, 2, 1, 3] });
  dx = s.run('Reshape', { x: dx }, { shape: [n, ph * sh, pw * sw, cin] });
  if (ph * sh !== h || pw * sw !== w) dx = s.run('Slice', { x: dx }, { begin: [0, 0, 0, 0], size: [n, h, w, cin] });
  return dx;
}

/** How the rewrite computes strided input gradients. */
export interface InputGradientOptions {
  /** Split strided gradients by stride phase (default) rather than insert zeros into dy. */
  stridePhases: boolean;
}

/** The input gradient dx of an NHWC conv2d, computed with `backendName`'s forward Conv2D. */
export function conv2DBackpropInputViaConv(
  backendName: string,
  args: KernelArgs,
  options: InputGradientOptions = { stridePhases: true },
): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { inputShape, strides, pad, dimRoundingMode } = args.attrs as unknown as Conv2DBackpropInputAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const [kh, kw] = filter.shape;
  const [, h, w] = inputShape;
  const sh = info.strideHeight;
  const sw = info.strideWidth;

  return withKernelScope(backendName, args.backend, (s) => {
    if (options.stridePhases && (sh !== 1 || sw !== 1)) {
      const byPhases = inputGradientByPhases(s, dy, filter, inputShape, info);
      if (byPhases !== null) return byPhases;
    }
    // Rotating the filter makes the correlation a convolution; swapping axes 2 and 3 maps
    // cout channels of dy to cin channels of dx.
    const reversed = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const rotated = s.run('Transpose', { x: reversed }, { perm: [0, 1, 3, 2] });
    const spread = sh === 1 && sw === 1 ? dy : insertZeros(s, dy, sh, sw);
    const [, lh, lw] = spread.shape;
    const padTop = kh - 1 - info.padInfo.top;
    const padLeft = kw - 1 - info.padInfo.left;
    const padBottom = h + kh - 1 - padTop - lh;
    const padRight = w + kw - 1 - padLeft - lw;
    // Negative padding (explicit forward padding wider than the kernel, or trailing inserted
    // zeros) is done by cropping the result instead, which the convolution cannot do itself.
    let dx = s.run(
      'Conv2D',
      { x: spread, filter: rotated },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [Math.max(0, padTop), Math.max(0, padBottom)],
          [Math.max(0, padLeft), Math.max(0, padRight)],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
        dimRoundingMode: undefined,
      },
    );
    const cropTop = Math.max(0, -padTop);
    const cropLeft = Math.max(0, -padLeft);
    if (cropTop !== 0 || cropLeft !== 0 || dx.shape[1] !== h || dx.shape[2] !== w) {
      dx = s.run('Slice', { x: dx }, { begin: [0, cropTop, cropLeft, 0], size: [...inputShape] });
    }
    return dx;
  });
}

/** Which calls a backend sends to the rewrite; all others run its stock kernel. */
export type BackpropInputPolicy = (dy: TensorInfo, attrs: Conv2DBackpropInputAttrs) => boolean;

/** NHWC float32 rank-4 calls: the only ones the rewrite handles. */
export function rewritable(dy: TensorInfo, attrs: Conv2DBackpropInputAttrs): boolean {
  return attrs.dataFormat === 'NHWC' && dy.dtype === 'float32' && dy.shape.length === 4;
}

/**
 * A Conv2DBackpropInput kernelFunc for `backendName` that uses the Conv2D rewrite where
 * `useRewrite` says so and the stock kernel (`stock`) everywhere else.
 */
export function makeConv2DBackpropInput(
  backendName: string,
  stock: tf.KernelFunc,
  useRewrite: BackpropInputPolicy,
  options: InputGradientOptions = { stridePhases: true },
): tf.KernelFunc {
  const kernelFunc = (args: KernelArgs) => {
    const { dy } = args.inputs as { dy: TensorInfo };
    const attrs = args.attrs as unknown as Conv2DBackpropInputAttrs;
    return rewritable(dy, attrs) && useRewrite(dy, attrs)
      ? conv2DBackpropInputViaConv(backendName, args, options)
      : stock(args as Parameters<tf.KernelFunc>[0]);
  };
  return kernelFunc as tf.KernelFunc;
}
