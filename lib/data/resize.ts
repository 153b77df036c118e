/**
 * Bilinear resampling of byte images, PIL's way (which is what torchvision's Resize and
 * RandomResizedCrop use on PIL images): a triangle filter whose support widens with the
 * downscale factor, so shrinking averages over the source instead of aliasing. Upscaling is
 * plain bilinear interpolation with half-pixel centers. Unlike PIL we keep floats between the
 * two passes and in the result (no rounding to bytes), a difference of under one gray level.
 */

/** A rectangle of the source image, in pixels. */
export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** One axis of a resampling: output index o reads source start[o] .. start[o] + count[o] - 1. */
interface AxisFilter {
  start: Int32Array;
  count: Int32Array;
  /** weights[o * taps + t] for t < count[o]; each row sums to 1. */
  weights: Float64Array;
  taps: number;
}

// PIL's precompute_coeffs for the bilinear filter (support 1), mapping [from, from + length)
// of an axis of `srcSize` pixels onto `outSize` pixels.
function axisFilter(srcSize: number, from: number, length: number, outSize: number): AxisFilter {
  const scale = length / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const center = from + (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), srcSize);
    let sum = 0;
    const n = Math.min(hi - lo, taps);
    for (let t = 0; t < n; t++) {
      const w = Math.max(0, 1 - Math.abs((t + lo - center + 0.5) / filterScale));
      weights[o * taps + t] = w;
      sum += w;
    }
    if (sum > 0) for (let t = 0; t < n; t++) weights[o * taps + t] /= sum;
    start[o] = lo;
    count[o] = n;
  }
  return { start, count, weights, taps };
}

/**
 * Resamples `box` of an HWC byte image (`srcWidth` x `srcHeight`, `channels` interleaved) to
 * `outWidth` x `outHeight`, and returns the `window` of that result (default: all of it) as
 * HWC floats in [0, 255]. The window lets "resize, then center-crop" resample only what is kept.
 */
export function resizeBilinear(
  src: Uint8Array,
  srcWidth: number,
  srcHeight: number,
  channels: number,
  box: Box,
  outWidth: number,
  outHeight: number,
  window: Box = { left: 0, top: 0, width: outWidth, height: outHeight },
): Float32Array {
  if (
    box.width <= 0 ||
    box.height <= 0 ||
    box.left < 0 ||
    box.top < 0 ||
    box.left + box.width > srcWidth ||
    box.top + box.height > srcHeight
  ) {
    throw new Error(`resizeBilinear: box ${JSON.stringify(box)} is not inside a ${srcWidth}x${srcHeight} image`);
  }
  if (
    window.left < 0 ||
    window.top < 0 ||
    window.left + window.width > outWidth ||
    window.top + window.height > outHeight
  ) {
    throw new Error(
      `resizeBilinear: window ${JSON.stringify(window)} is not inside the ${outWidth}x${outHeight} output`,
    );
  }
  const fx = axisFilter(srcWidth, box.left, box.width, outWidth);
  const fy = axisFilter(srcHeight, box.top, box.height, outHeight);
  // Source rows that the kept output rows read.
  const rowLo = fy.start[window.top];
  const last = window.top + window.height - 1;
  const rowHi = fy.start[last] + fy.count[last];
  // Horizontal pass: kept output columns of every needed source row.
  const ww = window.width;
  const tmp = new Float64Array((rowHi - rowLo) * ww * channels);
  for (let r = rowLo; r < rowHi; r++) {
    const rowBase = r * srcWidth * channels;
    for (let o = 0; o < ww; o++) {
      const ox = o + window.left;
      const s0 = fx.start[ox];
      const n = fx.count[ox];
      const wBase = ox * fx.taps;
      const t0 = ((r - rowLo) * ww + o) * channels;
      for (let t = 0; t < n; t++) {
        const w = fx.weights[wBase + t];
        const s = rowBase + (s0 + t) * channels;
        for (let c = 0; c < channels; c++) tmp[t0 + c] += w * src[s + c];
      }
    }
  }
  // Vertical pass.
  const out = new Float32Array(window.height * ww * channels);
  for (let o = 0; o < window.height; o++) {
    const oy = o + window.top;
    const s0 = fy.start[oy];
    const n = fy.count[oy];
    const wBase = oy * fy.taps;
    for (let x = 0; x < ww * channels; x++) {
      let v = 0;
      for (let t = 0; t < n; t++) v += fy.weights[wBase + t] * tmp[(s0 + t - rowLo) * ww * channels + x];
      out[o * ww * channels + x] = Math.min(255, Math.max(0, v));
    }
  }
  return out;
}
