/**
 * Named, hashed seed streams.
 *
 * Every source of randomness in lmc-lab draws from a stream named by what it is for
 * (`init`, `data-order`, `augmentation`, `pruning`, ...) plus integers that index it (a seed,
 * an epoch, a step). The stream's key is SHA-256 of that whole tuple, so `(seed 1, epoch 2)` and
 * `(seed 2, epoch 1)` are unrelated streams: seed + epoch arithmetic, which would make data-order
 * seeds s and s+1 the same orders shifted by one epoch, is impossible by construction.
 */
import { createHash } from 'node:crypto';
import seedrandom from 'seedrandom';

/** What a stream is for; each purpose is a separate family of streams. */
export type StreamPurpose =
  'init' | 'data-order' | 'augmentation' | 'pruning' | 'reinit' | 'bn-batches' | (string & {});

/** A deterministic source of uniform numbers in [0, 1). */
export interface Random {
  /** Next uniform float in [0, 1) with 53 bits of randomness. */
  uniform(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
}

/** The hex key of a stream: SHA-256 of the purpose and its integer indices. */
export function streamKey(purpose: StreamPurpose, ...indices: number[]): string {
  for (const i of indices) {
    if (!Number.isSafeInteger(i)) {
      throw new Error(
        `rng: stream '${purpose}' index ${i} is not an integer; seeds, epochs and steps must be whole numbers`,
      );
    }
  }
  return createHash('sha256')
    .update(JSON.stringify(['lmc-lab', purpose, ...indices]))
    .digest('hex');
}

/** A stream of random numbers keyed by hash(purpose, indices...). */
export function stream(purpose: StreamPurpose, ...indices: number[]): Random {
  // alea: fast, 32-bit state, and identical in every JS engine (seedrandom documents this).
  const prng = seedrandom.alea(streamKey(purpose, ...indices));
  let spare: number | null = null;
  return {
    uniform: () => prng.double(),
    int: (n: number) => Math.floor(prng.double() * n),
    normal: () => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = prng.double();
      const v = prng.double();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates) drawn from `rng`. */
export function permutation(n: number, rng: Random): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** The order in which epoch `epoch` visits the n training examples under data-order seed `seed`. */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  return permutation(n, stream('data-order', seed, epoch));
}

/** Fills an array with normal(0, std) draws, truncated to float32. */
export function normals(count: number, std: number, rng: Random): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal() * std;
  return out;
}
