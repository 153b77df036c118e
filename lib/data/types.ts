/**
 * What every dataset reader returns. Pixels stay on the host (as bytes for in-memory sets,
 * as files for ImageNet); a batch is assembled on the host from example indices, so that the
 * data seen at any step is a pure function of (data-order seed, step) on every backend.
 */
import type { Hash } from 'node:crypto';
import type { Random } from '../rng';

/** One batch, ready to become tensors: images NHWC float32 (normalized), labels int32. */
export interface Batch {
  /** Normalized pixels, length = indices.length * height * width * channels, NHWC order. */
  x: Float32Array;
  /** Shape of x: [n, height, width, channels]. */
  shape: [number, number, number, number];
  /** Class indices in [0, numClasses). */
  y: Int32Array;
}

/** Options for reading a batch. */
export interface ReadOptions {
  /** Apply the training augmentation (crop/flip) drawn from `rng`; evaluation never augments. */
  augment: boolean;
  /** The augmentation stream for this batch (required when augment is true). */
  rng?: Random;
}

/** A train or test split. */
export interface Split {
  /** Number of examples. */
  readonly size: number;
  /** All labels, in example order. */
  readonly labels: Int32Array;
  /** Assembles the examples at `indices` (in that order) into a batch. */
  read(indices: ArrayLike<number>, options: ReadOptions): Batch;
  /**
   * Feeds the split's whole content to `hash` (for the dataset's fingerprint, part of every
   * result's identity): what differs between two splits must differ here. Absent, the fingerprint
   * reads every example.
   */
  digest?(hash: Hash): void;
}

/** A dataset: two splits plus what a display needs to name it honestly. */
export interface Dataset {
  /** Registry name: 'mnist', 'fashion-mnist', 'cifar10', 'imagenet'. */
  readonly name: string;
  /** Human label shown wherever results are shown, e.g. "MNIST subset (10k digits)". */
  readonly description: string;
  /** Where it was read from (folder or package), for reports. */
  readonly source: string;
  readonly numClasses: number;
  /** [height, width, channels] of one example as the model sees it. */
  readonly imageShape: [number, number, number];
  readonly train: Split;
  readonly test: Split;
}
