/**
 * Crop geometry of the ImageNet transforms, following torchvision exactly (including Python's
 * round-half-to-even and int() truncation), so that a crop drawn here is the crop torchvision
 * would draw from the same uniforms.
 */
import type { Random } from '../rng';
import type { Box } from './resize';

/** Python 3's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision RandomResizedCrop's defaults. */
export const RRC_SCALE: [number, number] = [0.08, 1];
/** torchvision RandomResizedCrop's default aspect-ratio range. */
export const RRC_RATIO: [number, number] = [3 / 4, 4 / 3];

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 tries of a random area fraction in
 * `scale` and a log-uniform aspect ratio in `ratio`; if none fits, the largest centered crop
 * whose ratio is within range.
 */
export function randomResizedCropBox(
  rng: Random,
  width: number,
  height: number,
  scale: [number, number] = RRC_SCALE,
  ratio: [number, number] = RRC_RATIO,
): Box {
  const area = width * height;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + rng.uniform() * (scale[1] - scale[0]));
    const aspect = Math.exp(logLo + rng.uniform() * (logHi - logLo));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { left, top, width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) {
    h = roundHalfEven(w / Math.min(...ratio));
  } else if (inRatio > Math.max(...ratio)) {
    w = roundHalfEven(h * Math.max(...ratio));
  }
  return { left: Math.trunc((width - w) / 2), top: Math.trunc((height - h) / 2), width: w, height: h };
}

/** torchvision Resize(shorter): the size with the shorter side `shorter`, the longer truncated. */
export function resizeShorterSide(width: number, height: number, shorter: number): { width: number; height: number } {
  if (width <= height) return { width: shorter, height: Math.trunc((shorter * height) / width) };
  return { width: Math.trunc((shorter * width) / height), height: shorter };
}

/** torchvision CenterCrop(size) of a width x height image (the image must be at least size). */
export function centerCropBox(width: number, height: number, size: number): Box {
  return {
    left: roundHalfEven((width - size) / 2),
    top: roundHalfEven((height - size) / 2),
    width: size,
    height: size,
  };
}
