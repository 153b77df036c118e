/**
 * The two baselines of Section 4: random pruning and random reinitialization. Each is a small
 * function with typed arguments; IMP trains their results exactly like its own subnetworks.
 *
 * - Random pruning draws a mask uniformly at random with the same number of kept weights per
 *   tensor as the IMP mask (or, 'global', the same total across the pool). It is applied to the
 *   *unmasked* W_k, so the kept weights are W_k's values at random positions (the reference code
 *   applied it to already-masked weights, leaving many kept weights at zero).
 * - Random reinitialization keeps the IMP mask and replaces W_k by freshly initialized weights
 *   from a seeded stream (the reference code drew them unseeded).
 */
import { tf } from '../tf';
import { stream, streamKey, type Random } from '../rng';
import type { Dataset } from '../data/types';
import type { TrainConfig } from '../train/config';
import { buildModel } from '../train/trainer';
import { copyWeights } from '../train/state';
import { countOnes, maskFromValues, type Masks } from './mask';

type Tensor = tf.Tensor;

/** Options of `randomPruneMask`. */
export interface RandomPruneOptions {
  /** 'layerwise' (default): same kept count per tensor as the given mask. 'global': same total over the pool. */
  scope?: 'layerwise' | 'global';
  /** Tensors the global variant leaves as they are (e.g. those pruning excludes). */
  exclude?: readonly string[];
}

/** The stream a random-pruning baseline draws from: stream('pruning', seed, level). */
export function randomPruningStream(seed: number, level: number): Random {
  return stream('pruning', seed, level);
}

/**
 * A random mask with the same kept counts as `mask`: per tensor ('layerwise'), or in total over
 * every tensor not in `exclude` ('global'). Positions are a uniform random subset drawn from
 * `rng` (a partial Fisher-Yates shuffle), tensors in the masks' order. Returns new masks.
 */
export function randomPruneMask(
  mask: ReadonlyMap<string, Tensor>,
  rng: Random,
  options: RandomPruneOptions = {},
): Masks {
  const scope = options.scope ?? 'layerwise';
  if (scope !== 'layerwise' && scope !== 'global')
    throw new Error(`random pruning: scope = ${JSON.stringify(scope)} is invalid; use "layerwise" or "global"`);
  const excluded = new Set(options.exclude ?? []);
  const out: Masks = new Map();
  const sizes = [...mask].map(([name, m]) => ({ name, shape: m.shape, size: m.size, kept: countOnes(m) }));
  if (scope === 'layerwise') {
    for (const t of sizes) out.set(t.name, maskFromValues(randomSubset(t.size, t.kept, rng), t.shape));
    return out;
  }
  const pool = sizes.filter((t) => !excluded.has(t.name));
  const total = pool.reduce((a, t) => a + t.size, 0);
  const chosen = randomSubset(
    total,
    pool.reduce((a, t) => a + t.kept, 0),
    rng,
  );
  let offset = 0;
  const fromPool = new Map<string, Uint8Array>();
  for (const t of pool) {
    fromPool.set(t.name, chosen.subarray(offset, offset + t.size));
    offset += t.size;
  }
  for (const [name, m] of mask) {
    const values = fromPool.get(name);
    out.set(name, values ? maskFromValues(values, m.shape) : tf.keep(m.clone()));
  }
  return out;
}

/** Indicator of `k` positions out of `n`, uniformly random. */
function randomSubset(n: number, k: number, rng: Random): Uint8Array {
  const keep = new Uint8Array(n);
  if (k === n) return keep.fill(1);
  const positions = new Int32Array(n);
  for (let i = 0; i < n; i++) positions[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = positions[i];
    positions[i] = positions[j];
    positions[j] = t;
    keep[positions[i]] = 1;
  }
  return keep;
}

/**
 * The initialization seed of the reinitialization baseline at `level` of an IMP run whose W_0
 * came from `initSeed`: the first 48 bits of hash('reinit', initSeed, level), as an integer.
 * The fresh weights are createModel(..., { seed }) = stream('init', seed): the same initializer
 * as W_0, from a seed that is a hash, so it is unrelated to initSeed and to every seed a person
 * picks by hand (as seeds s and s + 1 would not be).
 */
export function reinitSeed(initSeed: number, level: number): number {
  return parseInt(streamKey('reinit', initSeed, level).slice(0, 12), 16);
}

/**
 * Fresh weights (parameters and buffers) for `config`'s model, initialized from init seed `seed`
 * (see reinitSeed). BatchNorm statistics are fresh too. The caller owns the tensors.
 */
export function freshWeights(config: TrainConfig, dataset: Dataset, seed: number): Map<string, Tensor> {
  const { model } = buildModel({ ...config, initSeed: seed }, dataset);
  try {
    return copyWeights(model);
  } finally {
    model.dispose();
  }
}
