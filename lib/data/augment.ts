/**
 * The standard CIFAR training augmentation (He et al. 2016; torchvision's
 * RandomCrop(32, padding=4) followed by RandomHorizontalFlip()).
 *
 * Padding is applied to raw pixels with value 0 (black) before normalization, exactly as
 * torchvision does when the transforms precede Normalize; a padded pixel therefore reads as
 * (0 - mean) / std, not as 0.
 */
import type { Random } from '../rng';
import type { Augmentation } from './in-memory';

/** Where one example is cropped from (in padded coordinates) and whether it is mirrored. */
export interface CropFlip {
  /** Top row of the crop in the padded image, in [0, 2 * pad]. */
  top: number;
  /** Left column of the crop in the padded image, in [0, 2 * pad]. */
  left: number;
  flip: boolean;
}

/** Draws one example's crop and flip; the order (top, left, flip) is part of reproducibility. */
export function drawCropFlip(rng: Random, pad: number): CropFlip {
  const top = rng.int(2 * pad + 1);
  const left = rng.int(2 * pad + 1);
  const flip = rng.uniform() < 0.5;
  return { top, left, flip };
}

/** Zero-pads by `pad`, crops back to the original size at a random offset, mirrors with p = 0.5. */
export function padCropFlip(pad: number): Augmentation {
  return (rng, layout, table, src, srcOffset, dst, dstOffset) => {
    applyCropFlip(drawCropFlip(rng, pad), pad, layout, table, src, srcOffset, dst, dstOffset);
  };
}

/** Writes the crop/flip `cf` of one HWC byte image, normalized through `table`. */
export function applyCropFlip(
  cf: CropFlip,
  pad: number,
  layout: { height: number; width: number; channels: number },
  table: Float32Array,
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
): void {
  const { height: h, width: w, channels: ch } = layout;
  let o = dstOffset;
  for (let y = 0; y < h; y++) {
    const sy = y + cf.top - pad;
    const rowInside = sy >= 0 && sy < h;
    for (let x = 0; x < w; x++) {
      // Crop first, then mirror the crop: output column x shows crop column w-1-x.
      const sx = (cf.flip ? w - 1 - x : x) + cf.left - pad;
      if (rowInside && sx >= 0 && sx < w) {
        const s = srcOffset + (sy * w + sx) * ch;
        for (let c = 0; c < ch; c++) dst[o++] = table[c * 256 + src[s + c]];
      } else {
        for (let c = 0; c < ch; c++) dst[o++] = table[c * 256];
      }
    }
  }
}
