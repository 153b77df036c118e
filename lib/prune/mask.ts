/**
 * Pruning masks: one float32 tensor of 0s and 1s per prunable parameter (conv and dense kernels),
 * keyed by the parameter's name, in the model's parameter order. 1 keeps a weight, 0 prunes it.
 * Masks are float32 rather than bool because the trainer multiplies weights and gradients by
 * them on every step. Checkpoints store them as 'mask/<name>' (saveCheckpoint's `masks`).
 */
import { tf } from '../tf';
import type { Model } from '../models/types';
import type { TrainState } from '../train/state';

type Tensor = tf.Tensor;

/** Pruning masks by parameter name (1 keeps the weight, 0 prunes it). */
export type Masks = Map<string, Tensor>;

/** Weight counts of one masked tensor. */
export interface MaskCount {
  readonly name: string;
  readonly shape: readonly number[];
  /** Weights in the tensor. */
  readonly total: number;
  /** Weights the mask keeps. */
  readonly remaining: number;
}

/** All-ones masks for every prunable parameter of `model` (the mask m = 1^d of Algorithm 2, line 1). */
export function createMasks(model: Pick<Model, 'params' | 'info'>): Masks {
  const masks: Masks = new Map();
  for (const info of model.info.values()) {
    if (info.prunable) masks.set(info.name, tf.keep(tf.ones([...info.shape], 'float32')));
  }
  return masks;
}

/** Per-tensor counts of kept weights, in the masks' order (reads the masks from the device). */
export function maskCounts(masks: ReadonlyMap<string, Tensor>): MaskCount[] {
  return [...masks].map(([name, mask]) => ({ name, shape: mask.shape, total: mask.size, remaining: countOnes(mask) }));
}

/** Fraction of the masked weights that are kept: kept / total over every tensor in `masks`. */
export function maskDensity(masks: ReadonlyMap<string, Tensor>): number {
  let total = 0;
  let remaining = 0;
  for (const c of maskCounts(masks)) {
    total += c.total;
    remaining += c.remaining;
  }
  return total === 0 ? 1 : remaining / total;
}

/** Number of ones in a 0/1 mask. */
export function countOnes(mask: Tensor): number {
  const values = mask.dataSync() as Float32Array;
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] === 1) n++;
  return n;
}

/**
 * Checks masks against a model: every prunable parameter has a mask (unless `complete` is false),
 * every mask names a prunable parameter with the same shape, and every entry is 0 or 1.
 * Throws naming the tensor, what was wrong and what to do.
 */
export function validateMasks(
  model: Pick<Model, 'name' | 'info'>,
  masks: ReadonlyMap<string, Tensor>,
  options: { complete?: boolean } = {},
): void {
  for (const [name, mask] of masks) {
    const info = model.info.get(name);
    if (!info)
      throw new Error(
        `mask '${name}': ${model.name} has no parameter of that name; the mask was made for a different model`,
      );
    if (!info.prunable) throw new Error(`mask '${name}': ${info.role} parameters are never pruned; remove this mask`);
    if (mask.shape.join('x') !== info.shape.join('x')) {
      throw new Error(
        `mask '${name}': shape [${mask.shape}] does not match ${model.name}'s parameter shape [${info.shape}]; ` +
          `the mask was made for a different model`,
      );
    }
    const values = mask.dataSync();
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== 0 && values[i] !== 1)
        throw new Error(`mask '${name}': entry ${i} is ${values[i]}; masks hold only 0 (pruned) and 1 (kept)`);
    }
  }
  if (options.complete ?? true) {
    for (const info of model.info.values()) {
      if (info.prunable && !masks.has(info.name)) {
        throw new Error(
          `mask '${info.name}': missing; ` +
            `give a mask for every prunable parameter of ${model.name} (all ones to leave it dense)`,
        );
      }
    }
  }
}

/** True when `next` keeps no weight that `previous` pruned (masks only shrink), for the same tensors. */
export function isSubmask(next: ReadonlyMap<string, Tensor>, previous: ReadonlyMap<string, Tensor>): boolean {
  if (next.size !== previous.size) return false;
  for (const [name, p] of previous) {
    const n = next.get(name);
    if (!n || n.size !== p.size) return false;
    const a = n.dataSync();
    const b = p.dataSync();
    for (let i = 0; i < a.length; i++) if (a[i] === 1 && b[i] !== 1) return false;
  }
  return true;
}

/** Copies of the masks (the caller owns them). */
export function cloneMasks(masks: ReadonlyMap<string, Tensor>): Masks {
  return new Map([...masks].map(([name, m]) => [name, tf.keep(m.clone())]));
}

/** Frees every mask tensor. */
export function disposeMasks(masks: ReadonlyMap<string, Tensor>): void {
  for (const m of masks.values()) m.dispose();
}

/** A 0/1 float32 mask tensor from host values (kept: it survives enclosing tidy scopes). */
export function maskFromValues(values: Uint8Array | Float32Array, shape: readonly number[]): Tensor {
  return tf.keep(tf.tensor(Float32Array.from(values), [...shape], 'float32'));
}

/**
 * m ⊙ state: a copy of `state` whose masked weights, and the optimizer slots of those weights
 * ('<name>/momentum', '<name>/m', '<name>/v'), are zero where the mask is 0. Zeroing the slots
 * matters when the optimizer state at k is restored: the dense run's momentum of a pruned weight
 * would otherwise keep moving through the slot even though the weight itself is re-masked.
 */
export function maskState(state: TrainState, masks: ReadonlyMap<string, Tensor>): TrainState {
  const masked = (name: string, value: Tensor): Tensor => {
    const mask = masks.get(name);
    return tf.tidy(() => tf.keep(mask ? tf.mul(value, mask) : value.clone()));
  };
  const weights = new Map([...state.weights].map(([name, w]): [string, Tensor] => [name, masked(name, w)]));
  const optimizer = state.optimizer && {
    updates: state.optimizer.updates,
    slots: new Map(
      [...state.optimizer.slots].map(([slot, value]): [string, Tensor] => [
        slot,
        masked(slot.slice(0, slot.lastIndexOf('/')), value),
      ]),
    ),
  };
  return { step: state.step, weights, optimizer };
}
