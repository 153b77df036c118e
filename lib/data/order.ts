/**
 * The data position at any step, as a pure function of (train size, batch size, data-order
 * seed, step), so that training from step k (rewinding) sees exactly the batches that the
 * original run saw from step k on. Epoch e is the permutation epochOrder(size, seed, e), cut into
 * consecutive batches; an epoch's last batch holds the remainder (it is smaller, not dropped or
 * padded), which is why iterations per epoch is ceil(size / batch).
 */
import { epochOrder, stream, type Random } from '../rng';

function checkWhole(what: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`data order: ${what} must be an integer >= ${min}, got ${value}`);
  }
}

/** Optimizer steps per pass over `size` examples in batches of `batch`: ceil(size / batch). */
export function iterationsPerEpoch(size: number, batch: number): number {
  checkWhole('dataset size', size, 1);
  checkWhole('batch size', batch, 1);
  return Math.ceil(size / batch);
}

/** Where step `step` falls: its epoch and its batch within that epoch. */
export function dataPosition(size: number, batch: number, step: number): { epoch: number; batchInEpoch: number } {
  const ipe = iterationsPerEpoch(size, batch);
  checkWhole('step', step, 0);
  return { epoch: Math.floor(step / ipe), batchInEpoch: step % ipe };
}

// A few recent permutations: consecutive steps share an epoch, and two interleaved runs (the two
// copies of an instability experiment) alternate between two seeds.
const CACHE_SIZE = 4;
const cache = new Map<string, Int32Array>();

function cachedEpochOrder(size: number, seed: number, epoch: number): Int32Array {
  const key = `${size}/${seed}/${epoch}`;
  let order = cache.get(key);
  if (order) {
    cache.delete(key); // re-insert: Map iteration order doubles as recency order
  } else {
    order = epochOrder(size, seed, epoch);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  cache.set(key, order);
  return order;
}

/** The example indices of step `step` under data-order seed `dataOrderSeed` (a fresh array). */
export function batchIndices(size: number, batch: number, dataOrderSeed: number, step: number): Int32Array {
  const { epoch, batchInEpoch } = dataPosition(size, batch, step);
  checkWhole('data-order seed', dataOrderSeed, 0);
  const order = cachedEpochOrder(size, dataOrderSeed, epoch);
  const start = batchInEpoch * batch;
  return order.slice(start, Math.min(start + batch, size));
}

/** The augmentation stream of step `step` under seed `seed`: hash('augmentation', seed, step). */
export function augmentationStream(seed: number, step: number): Random {
  checkWhole('augmentation seed', seed, 0);
  checkWhole('step', step, 0);
  return stream('augmentation', seed, step);
}
