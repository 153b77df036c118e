/**
 * How the notebooks prune a row of Table 1 to its density: iterative rows prune the preset's
 * fraction per round for the number of rounds whose density is nearest Table 1's (plus extra
 * rounds where a notebook wants to see past it); one-shot rows (ImageNet) prune once, removing
 * 1 − density of the weights in a single round.
 */
import { presetPruning } from '../prune/choices';
import { oneShotPruning, type PruningOptions } from '../prune/magnitude';
import { roundsToDensity } from '../train/presets';

/** A preset's pruning style and density, the options of each round, and the rounds. */
export interface PresetPruningPlan {
  mode: 'iterative' | 'one-shot';
  targetDensity: number;
  pruning: PruningOptions;
  /** IMP levels to run (rounds of pruning): 1 for one-shot rows. */
  levels: number;
}

/** The pruning plan of preset `name`; iterative rows get `extraLevels` rounds past its density, at most `maxLevels`. */
export function presetPruningPlan(
  name: string,
  options: { maxLevels?: number; extraLevels?: number } = {},
): PresetPruningPlan {
  const { options: each, targetDensity, mode } = presetPruning(name);
  // One round from the dense network straight to the density: the round impRun's oneShot prunes.
  if (mode === 'one-shot')
    return { mode, targetDensity, pruning: { ...each, ...oneShotPruning(each, 1, targetDensity) }, levels: 1 };
  const rounds = roundsToDensity(targetDensity, each.fraction) + (options.extraLevels ?? 0);
  return { mode, targetDensity, pruning: each, levels: Math.min(options.maxLevels ?? Infinity, rounds) };
}
