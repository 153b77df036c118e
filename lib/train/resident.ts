/**
 * Batches assembled on the device. On a GPU, copying each batch from the host costs a transfer
 * per step (and per evaluation batch); a split that is not augmented can instead be held on the
 * device once, as the very floats the host reader produces, and each batch gathered there. The
 * values are the host batches' bit for bit, so results do not depend on where batches are built.
 *
 * Policy (LMC_RESIDENT_DATA): 'auto' (default) holds splits on the device on the native
 * TensorFlow backends (GPU or CPU), where a host batch is a copy across a boundary; 'always' on
 * every backend (tests); 'never'. Augmented training splits (CIFAR-10's crops and flips, drawn on the
 * host) and splits over LMC_RESIDENT_MAX_MB (default 2048) of floats stay on the host.
 */
import { tf } from '../tf';
import type { Split } from '../data/types';
import { settingOrDefault } from '../settings';

/** A split held on the device. */
export interface ResidentSplit {
  /**
   * The examples at `indices` as [n, h, w, c] floats and int32
   * labels, gathered on the device (the caller disposes).
   */
  read(indices: Int32Array): { x: tf.Tensor4D; y: tf.Tensor1D };
  /** The examples start..start+count-1 (evaluation's contiguous batches). */
  slice(start: number, count: number): { x: tf.Tensor4D; y: tf.Tensor1D };
}

/** Whether splits are held on the device on the active backend; throws on a malformed setting. */
export function residentPolicy(env: Record<string, string | undefined> = process.env): boolean {
  const policy = settingOrDefault('residentData', env);
  return policy === 'auto' ? tf.getBackend() === 'tensorflow' : policy === 'always';
}

/** Largest split held on the device, in bytes of floats. */
function maxBytes(env: Record<string, string | undefined> = process.env): number {
  return settingOrDefault('residentMaxMb', env) * 2 ** 20;
}

/** Device copies by split and backend: made once, kept for the life of the split. */
const held = new WeakMap<Split, Map<string, ResidentSplit>>();

/**
 * The split held on the device when the policy says so and it fits, else null (read on the host).
 * `augmented`: the caller reads it with augmentation, which only the host reader does.
 */
export function residentSplit(split: Split, augmented: boolean): ResidentSplit | null {
  if (augmented || !residentPolicy()) return null;
  const first = split.read([0], { augment: false });
  const [, h, w, c] = first.shape;
  const stride = h * w * c;
  if (split.size * stride * 4 > maxBytes()) return null;
  const backend = tf.getBackend();
  const known = held.get(split)?.get(backend);
  if (known) return known;
  // The host reader's own floats, read in chunks so the host never holds a second copy at once.
  const all = new Float32Array(split.size * stride);
  const chunk = 4096;
  for (let start = 0; start < split.size; start += chunk) {
    const count = Math.min(chunk, split.size - start);
    const batch = split.read(
      Int32Array.from({ length: count }, (_, i) => start + i),
      { augment: false },
    );
    all.set(batch.x, start * stride);
  }
  const x = tf.keep(tf.tensor2d(all, [split.size, stride]));
  const y = tf.keep(tf.tensor1d(split.labels, 'int32'));
  const resident: ResidentSplit = {
    read: (indices) =>
      tf.tidy(() => {
        const at = tf.tensor1d(indices, 'int32');
        return {
          x: tf.reshape(tf.gather(x, at), [indices.length, h, w, c]) as tf.Tensor4D,
          y: tf.gather(y, at) as tf.Tensor1D,
        };
      }),
    slice: (start, count) =>
      tf.tidy(() => ({
        x: tf.reshape(tf.slice(x, [start, 0], [count, stride]), [count, h, w, c]) as tf.Tensor4D,
        y: tf.slice(y, [start], [count]) as tf.Tensor1D,
      })),
  };
  const byBackend = held.get(split) ?? new Map<string, ResidentSplit>();
  byBackend.set(backend, resident);
  held.set(split, byBackend);
  return resident;
}
