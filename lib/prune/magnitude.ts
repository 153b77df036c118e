/**
 * Magnitude pruning as a pure function: (weights, mask, options) -> new mask. It removes the
 * lowest-magnitude weights among those the mask still keeps, so masks only shrink.
 *
 * Exact counts: a group of tensors pruned together with fraction f loses exactly
 * round(f x remaining) weights (Math.round: halves round up). open_lth uses a ">" threshold
 * instead, which removes every tied weight and so a varying number of weights; ours does not.
 *
 * Ties: among weights of equal magnitude, the one earlier in the group's order is pruned first,
 * where the order is the masks' tensor order (the model's parameter order) and then the row-major
 * flat index within each tensor. So results depend on nothing but the values and that order.
 */
import { tf } from '../tf';
import { maskFromValues, type Masks } from './mask';

type Tensor = tf.Tensor;

/** What one tensor does differently from the default: never pruned, or pruned alone at its own fraction. */
export type TensorPruning = 'exclude' | number;

/** How a round of magnitude pruning chooses weights. */
export interface PruningOptions {
  /**
   * 'global' (the paper's default): one magnitude ranking across every tensor without an
   * override. 'layerwise': each tensor loses `fraction` of its own remaining weights.
   */
  scope: 'global' | 'layerwise';
  /** Fraction of the remaining weights removed per round (0.2 in the paper). */
  fraction: number;
  /**
   * Per-tensor overrides by parameter name: 'exclude' keeps the tensor as it is; a number is
   * that tensor's own fraction, applied to it alone (outside the global ranking).
   */
  tensors: Readonly<Record<string, TensorPruning>>;
}

/** Global pruning of 20% per round, no overrides. */
export const DEFAULT_PRUNING: PruningOptions = Object.freeze({
  scope: 'global',
  fraction: 0.2,
  tensors: Object.freeze({}),
});

/** Fills in defaults and checks every field against the masked tensors; errors name the field. */
export function resolvePruningOptions(options: Partial<PruningOptions>, tensorNames: Iterable<string>): PruningOptions {
  const resolved: PruningOptions = { ...DEFAULT_PRUNING, ...options, tensors: { ...(options.tensors ?? {}) } };
  const checkFraction = (field: string, value: unknown) => {
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new Error(
        `pruning: ${field} = ${JSON.stringify(value)} is invalid; a fraction of the remaining weights is a ` +
          `number in [0, 1], e.g. 0.2`,
      );
    }
  };
  if (resolved.scope !== 'global' && resolved.scope !== 'layerwise') {
    throw new Error(`pruning: scope = ${JSON.stringify(resolved.scope)} is invalid; use "global" or "layerwise"`);
  }
  checkFraction('fraction', resolved.fraction);
  const names = new Set(tensorNames);
  for (const [name, rule] of Object.entries(resolved.tensors)) {
    if (!names.has(name))
      throw new Error(
        `pruning: tensors['${name}'] names no masked tensor; masked tensors are ${[...names].join(', ')}`,
      );
    if (rule !== 'exclude') checkFraction(`tensors['${name}']`, rule);
  }
  return resolved;
}

/** The number of weights a round removes from `remaining`: round(fraction x remaining). */
export function prunedCount(remaining: number, fraction: number): number {
  return Math.round(fraction * remaining);
}

/**
 * Prunes the lowest-magnitude surviving weights. `weights` holds at least every tensor that
 * `mask` names (other entries are ignored); returns new masks (the caller owns them) with the
 * same tensors in the same order. Pure: reads its inputs, changes none of them.
 */
export function magnitudePrune(
  weights: ReadonlyMap<string, Tensor>,
  mask: ReadonlyMap<string, Tensor>,
  options: Partial<PruningOptions> = {},
): Masks {
  const opts = resolvePruningOptions(options, mask.keys());
  const kept = new Map<string, Uint8Array>();
  const magnitudes = new Map<string, Float32Array>();
  for (const [name, m] of mask) {
    const w = weights.get(name);
    if (!w)
      throw new Error(
        `pruning: no weights for masked tensor '${name}'; pass the trained weights of every masked tensor`,
      );
    if (w.shape.join('x') !== m.shape.join('x'))
      throw new Error(`pruning: weights '${name}' have shape [${w.shape}] but its mask has shape [${m.shape}]`);
    const keep = Uint8Array.from(m.dataSync() as Float32Array, (v) => (v === 1 ? 1 : 0));
    const values = w.dataSync() as Float32Array;
    const mags = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      if (keep[i] && Number.isNaN(values[i]))
        throw new Error(
          `pruning: weights '${name}' hold NaN at index ${i}; training diverged, so magnitudes mean nothing`,
        );
      mags[i] = Math.abs(values[i]);
    }
    kept.set(name, keep);
    magnitudes.set(name, mags);
  }

  const pool = [...mask.keys()].filter((name) => opts.tensors[name] === undefined);
  const groups: { names: string[]; fraction: number }[] =
    opts.scope === 'global'
      ? [{ names: pool, fraction: opts.fraction }]
      : pool.map((name) => ({ names: [name], fraction: opts.fraction }));
  for (const [name, rule] of Object.entries(opts.tensors)) {
    if (rule !== 'exclude') groups.push({ names: [name], fraction: rule });
  }
  for (const group of groups)
    pruneGroup(
      group.names.map((n) => ({ keep: kept.get(n)!, magnitudes: magnitudes.get(n)! })),
      group.fraction,
    );

  return new Map([...mask].map(([name, m]): [string, Tensor] => [name, maskFromValues(kept.get(name)!, m.shape)]));
}

/**
 * Removes round(fraction x remaining) survivors of the group,
 * lowest magnitude first, earlier position first among ties.
 */
function pruneGroup(tensors: { keep: Uint8Array; magnitudes: Float32Array }[], fraction: number): void {
  let remaining = 0;
  for (const t of tensors) for (let i = 0; i < t.keep.length; i++) remaining += t.keep[i];
  const n = prunedCount(remaining, fraction);
  if (n === 0) return;
  const survivors = new Float32Array(remaining);
  let j = 0;
  for (const t of tensors) for (let i = 0; i < t.keep.length; i++) if (t.keep[i]) survivors[j++] = t.magnitudes[i];
  // The n-th smallest surviving magnitude is the threshold: everything below it goes, and
  // of the weights exactly at it, only as many as are still needed, in position order.
  survivors.sort();
  const threshold = survivors[n - 1];
  let below = 0;
  while (below < n && survivors[below] < threshold) below++;
  let ties = n - below;
  for (const t of tensors) {
    for (let i = 0; i < t.keep.length; i++) {
      if (!t.keep[i]) continue;
      const m = t.magnitudes[i];
      if (m < threshold) t.keep[i] = 0;
      else if (m === threshold && ties > 0) {
        t.keep[i] = 0;
        ties--;
      }
    }
  }
}

/**
 * Options for one-shot pruning from density `from` to density `to`: the pool loses 1 - to/from
 * of its weights in one round, which is n = log(to/from) / log(1 - fraction) rounds of
 * `fraction` (n need not be whole). A tensor with its own fraction r gets the density n rounds
 * would give it, (1 - r)^n; excluded tensors stay excluded. With no per-tensor overrides the
 * result has density `to` (to the nearest weight).
 */
export function oneShotPruning(options: Partial<PruningOptions>, from: number, to: number): Partial<PruningOptions> {
  if (!(to > 0 && to <= from && from <= 1))
    throw new Error(`pruning: cannot prune one-shot from density ${from} to ${to}; the target must be in (0, ${from}]`);
  const fraction = options.fraction ?? DEFAULT_PRUNING.fraction;
  const poolKeep = to / from;
  const rounds = fraction > 0 && fraction < 1 ? Math.log(poolKeep) / Math.log(1 - fraction) : 1;
  const tensors: Record<string, TensorPruning> = {};
  for (const [name, rule] of Object.entries(options.tensors ?? {})) {
    tensors[name] = rule === 'exclude' ? rule : 1 - Math.pow(1 - rule, rounds);
  }
  return { ...options, fraction: 1 - poolKeep, tensors };
}
