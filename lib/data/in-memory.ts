/**
 * A split whose pixels all sit in host memory as bytes (MNIST, Fashion-MNIST, CIFAR-10).
 * Bytes rather than floats: a quarter of the memory, and normalization through a 256-entry
 * table per channel costs one lookup per pixel when a batch is assembled.
 */
import type { Random } from '../rng';
import type { Batch, ReadOptions, Split } from './types';

/** Per-channel mean and standard deviation of pixels scaled to [0, 1]. */
export interface Normalization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** Table t[c * 256 + v] = (v / 255 - mean[c]) / std[c], so normalizing a byte is one lookup. */
export function normalizationTable(norm: Normalization, channels: number): Float32Array {
  if (norm.mean.length !== channels || norm.std.length !== channels) {
    throw new Error(`normalization has ${norm.mean.length} means and ${norm.std.length} stds for ${channels} channels`);
  }
  const table = new Float32Array(256 * channels);
  for (let c = 0; c < channels; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - norm.mean[c]) / norm.std[c];
  }
  return table;
}

/** Geometry of one HWC byte image inside a larger buffer. */
export interface ImageLayout {
  height: number;
  width: number;
  channels: number;
}

/**
 * Writes one augmented, normalized example: reads the HWC bytes at `src[srcOffset..]`, writes
 * floats at `dst[dstOffset..]` through `table`, drawing whatever it needs from `rng`.
 */
export type Augmentation = (
  rng: Random,
  layout: ImageLayout,
  table: Float32Array,
  src: Uint8Array,
  srcOffset: number,
  dst: Float32Array,
  dstOffset: number,
) => void;

/** What an in-memory split is made of. */
export interface InMemorySplitSpec extends ImageLayout {
  /** For error messages, e.g. "cifar10 train". */
  name: string;
  /** HWC bytes of every example, one after another. */
  pixels: Uint8Array;
  labels: Int32Array;
  normalization: Normalization;
  /** The training augmentation; datasets without one (MNIST) read the same either way. */
  augmentation?: Augmentation;
}

/** Checks that every index names an example of a split of `size`; shared by all readers. */
export function checkIndices(name: string, size: number, indices: ArrayLike<number>): void {
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    if (!Number.isInteger(k) || k < 0 || k >= size) {
      throw new Error(
        `${name}: index ${k} at batch position ${i} is not an example (split has ${size}, indices 0..${size - 1})`,
      );
    }
  }
}

/** Checks the contract that an augmented read brings its own stream. */
export function checkReadOptions(name: string, options: ReadOptions): void {
  if (options.augment && !options.rng) {
    throw new Error(
      `${name}: read with augment: true needs options.rng (the augmentation stream of this step, ` +
        `see augmentationStream)`,
    );
  }
}

/** A Split over bytes held in memory. */
export function inMemorySplit(spec: InMemorySplitSpec): Split {
  const { name, pixels, labels, height, width, channels, augmentation } = spec;
  const size = labels.length;
  const stride = height * width * channels;
  if (pixels.length !== size * stride) {
    throw new Error(`${name}: ${pixels.length} pixel bytes for ${size} labels of ${height}x${width}x${channels}`);
  }
  const table = normalizationTable(spec.normalization, channels);
  const layout: ImageLayout = { height, width, channels };
  return {
    size,
    labels,
    read(indices: ArrayLike<number>, options: ReadOptions): Batch {
      checkReadOptions(name, options);
      checkIndices(name, size, indices);
      const n = indices.length;
      const x = new Float32Array(n * stride);
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const k = indices[i];
        y[i] = labels[k];
        if (options.augment && augmentation) {
          augmentation(options.rng as Random, layout, table, pixels, k * stride, x, i * stride);
        } else {
          const src = k * stride;
          const dst = i * stride;
          for (let p = 0; p < stride; p++) x[dst + p] = table[(p % channels) * 256 + pixels[src + p]];
        }
      }
      return { x, shape: [n, height, width, channels], y };
    },
    digest(hash) {
      // Every byte of every image, every label, and how they are read.
      hash.update(
        JSON.stringify({
          height,
          width,
          channels,
          normalization: spec.normalization,
          augmented: augmentation !== undefined,
        }),
      );
      hash.update(new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength));
      hash.update(pixels);
    },
  };
}
