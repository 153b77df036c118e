/**
 * The rewinding step a notebook calls stable, read off its own instability sweep: the smallest k
 * from which the mean instability stays below a threshold at every larger k measured. The paper
 * reads "instability ≈ 0" off its figures; a notebook that measures one pair per k on a shortened
 * training needs a number, and says which.
 */
import type { InstabilitySummary } from '../stability/tables';

/** Options of `stableK`. */
export interface StableKOptions {
  /** Largest mean instability (a fraction: 0.02 is 2 percentage points) still called stable. */
  below: number;
  /** The split whose instability decides (default 'test', as the paper's figures). */
  split?: 'train' | 'test';
}

/**
 * The smallest k of `summary` whose instability and every later k's are below the threshold, or null when the last is
 * not.
 */
export function stableK(summary: readonly InstabilitySummary[], options: StableKOptions): number | null {
  const { below, split = 'test' } = options;
  if (!(below > 0 && below < 1))
    throw new Error(`stableK: below = ${below}; give a fraction of error in (0, 1), e.g. 0.02 for 2 percentage points`);
  const sorted = [...summary].sort((a, b) => a.k - b.k);
  let found: number | null = null;
  for (let i = sorted.length - 1; i >= 0; i--) {
    const measure = sorted[i].instability[split];
    if (!measure)
      throw new Error(
        `stableK: the sweep measured no ${split} split at k = ${sorted[i].k}; measure it, or pass split: ` +
          `'${split === 'test' ? 'train' : 'test'}'`,
      );
    if (!(measure.mean < below)) break;
    found = sorted[i].k;
  }
  return found;
}
