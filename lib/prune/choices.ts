/**
 * How each network of Table 1 is pruned, as data. The paper prunes 20% per round, globally
 * across the conv and dense kernels (Section 4.1); biases and BatchNorm parameters are never
 * masked. The one per-tensor choice is LeNet's output layer, which Frankle & Carbin (2019)
 * prune at half the rate of the hidden layers (10% per round): it is small (1,000 weights) and
 * each of its weights feeds a class logit directly. open_lth instead leaves the output layer out of
 * pruning for every network ('fc.weight' in pruning_layers_to_ignore); pass
 * `tensors: { 'fc.kernel': 'exclude' }` for that reading.
 *
 * Consequence for LeNet: after n rounds the density is (265,200 x 0.8^n + 1,000 x 0.9^n) / 266,200,
 * slightly above 0.8^n (3.58% rather than 3.52% after 15 rounds).
 */
import { getPreset } from '../train/presets';
import { DEFAULT_PRUNING, type PruningOptions } from './magnitude';

/** The pruning options the presets use, by model name; a model not listed uses DEFAULT_PRUNING. */
export const MODEL_PRUNING: Readonly<Record<string, PruningOptions>> = Object.freeze({
  lenet_300_100: { scope: 'global', fraction: 0.2, tensors: { 'fc.kernel': 0.1 } },
});

/** The pruning options for a model (the presets' choice). */
export function pruningFor(model: string): PruningOptions {
  const choice = MODEL_PRUNING[model] ?? DEFAULT_PRUNING;
  return { ...choice, tensors: { ...choice.tensors } };
}

/** The pruning a preset of Table 1 uses: its options, its target density and iterative or one-shot. */
export function presetPruning(name: string): {
  options: PruningOptions;
  targetDensity: number;
  mode: 'iterative' | 'one-shot';
} {
  const preset = getPreset(name);
  return { options: pruningFor(preset.config.model!), targetDensity: preset.targetDensity, mode: preset.pruning };
}
