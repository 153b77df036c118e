/**
 * Seeds of an instability experiment, each derived by hashing what it is for and where it sits
 * (initialization, pair, copy). Never seed + 1 arithmetic: data-order seeds s and s + 1 would
 * still be unrelated streams (rng hashes them), but a hashed derivation also keeps the seeds of
 * different experiments, inits and pairs from ever coinciding by construction.
 */
import { streamKey } from '../rng';

/** A seed in [0, 2^48) from the SHA-256 of (purpose, indices): a whole number every trainer accepts. */
export function deriveSeed(purpose: string, ...indices: number[]): number {
  // 48 bits stay well inside Number.MAX_SAFE_INTEGER (2^53) and make collisions negligible.
  return parseInt(streamKey(purpose, ...indices).slice(0, 12), 16);
}

/** The seeds of one initialization: its W_0 and the SGD noise of its trunk (0 -> k). */
export interface InitSeeds {
  /** Index of the initialization within the experiment (0, 1, 2, ...). */
  init: number;
  /** Seed of W_0 (config.initSeed of the trunk). */
  initSeed: number;
  /** Data-order seed of the trunk run 0 -> k. */
  trunkSeed: number;
}

/**
 * Init seeds for `inits` initializations under a base config: hashed from the config's own
 * initSeed and the init index, unless explicit `initSeeds` are given.
 */
export function initSeedsFor(
  baseInitSeed: number,
  baseDataOrderSeed: number,
  inits: number,
  explicit?: readonly number[],
): InitSeeds[] {
  if (explicit) {
    explicit.forEach((s, i) => {
      if (!Number.isSafeInteger(s) || s < 0) throw new Error(`initSeeds[${i}] = ${s}: seeds are whole numbers >= 0`);
    });
    if (new Set(explicit).size !== explicit.length)
      throw new Error(`initSeeds [${explicit.join(', ')}] repeat a seed; each initialization needs its own`);
  } else if (!Number.isSafeInteger(inits) || inits < 1) {
    throw new Error(`inits = ${inits}: give a whole number of initializations >= 1`);
  }
  const seeds = explicit ?? Array.from({ length: inits }, (_, i) => deriveSeed('instability-init', baseInitSeed, i));
  return seeds.map((initSeed, init) => ({
    init,
    initSeed,
    trunkSeed: deriveSeed('instability-trunk-order', baseDataOrderSeed, initSeed),
  }));
}

/**
 * Data-order seed of copy `copy` (1 or 2) of pair `pair` spawned from initialization `initSeed`:
 * hash(base data-order seed, initSeed, pair, copy). The same for every k, so a sweep over k
 * compares starting points under common SGD noise.
 */
export function copySeed(baseDataOrderSeed: number, initSeed: number, pair: number, copy: 1 | 2): number {
  return deriveSeed('instability-copy-order', baseDataOrderSeed, initSeed, pair, copy);
}
