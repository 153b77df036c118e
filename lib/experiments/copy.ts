/**
 * The copy unit: A^{k->T} from a trunk's W_k under the copy's own data-order seed, optionally
 * as a subnetwork (a mask) and optionally from fresh weights (random reinitialization), then
 * evaluated on the test split. The copies of an instability pair and the baselines of an IMP
 * level are copy units; so is any "train this subnetwork from k" a notebook asks for.
 *
 * The start state is m ⊙ W_k with the optimizer slots of pruned weights zeroed too (maskState),
 * exactly as lib/prune's IMP starts its subnetworks, so a copy under an IMP mask with the IMP
 * seed is the IMP level's own training.
 */
import { validateConfig, type TrainConfig } from '../train/config';
import { evaluate } from '../train/evaluate';
import { disposeState, snapshot, type TrainState } from '../train/state';
import { buildModel } from '../train/trainer';
import { disposeMasks, maskDensity, maskState } from '../prune/mask';
import { freshWeights } from '../prune/random';
import { resolveConfig } from '../train/config';
import type { Json } from '../store';
import { cachedUnit, datasetFingerprint, type ExperimentContext, type UnitResult } from './context';
import { stepOf, trainKey, unitLabel, withoutDefaults } from './keys';
import { loadMask, maskKey, type MaskKey, type MaskSpec } from './masks';
import { trainInUnit } from './resumable';
import { encodeState } from '../train/state-bytes';
import { readState, trunk } from './trunk';

/** The file a copy keeps W_T in (weights only). */
export const FINAL_FILE = 'final.safetensors';

/** What to train. */
export interface CopySpec {
  /** The copy's config: its dataOrderSeed is the copy's SGD noise, its initSeed the trunk's W_0. */
  config: TrainConfig;
  /** Start step k: iterations, "500it" or "2ep". */
  k: number | string;
  /** Data-order seed of the trunk 0 -> k (default config.dataOrderSeed, as IMP trains its levels). */
  trunkSeed?: number;
  /** Train a subnetwork under this mask. */
  mask?: MaskSpec;
  /** Start from fresh weights of this init seed instead of W_k (random reinitialization; step and optimizer state stay W_k's). */
  reinit?: number;
  /** Earlier trunk steps the trunk may continue from (a sweep's other k); not part of the identity. */
  shortcuts?: readonly (number | string)[];
}

/** Test evaluation of a trained copy (its unit summary). */
export interface CopySummary {
  k: number;
  testAccuracy: number;
  testError: number;
  testLoss: number;
  /** Fraction of prunable weights kept (null: dense). */
  density: number | null;
}

/** A finished copy. */
export interface CopyResult extends UnitResult {
  summary: CopySummary;
  /** W_T (weights and buffers, no optimizer state); the caller disposes it. */
  loadFinal(): Promise<TrainState>;
}

/** The store config of a copy. */
export function copyKey(config: TrainConfig, data: string, k: number, trunkSeed: number, mask: MaskKey | undefined, reinit: number | undefined) {
  return withoutDefaults({
    train: trainKey(config), data, k,
    trunkSeed: trunkSeed === config.dataOrderSeed ? undefined : trunkSeed,
    mask, reinit,
  });
}

/** Trains (or finds) the copy `spec`: its trunk first, then k -> T. */
export async function copy(ctx: ExperimentContext, spec: CopySpec): Promise<CopyResult> {
  const config = validateConfig({ ...spec.config });
  const dataset = ctx.dataset(config);
  const data = datasetFingerprint(dataset);
  const k = stepOf(config, dataset, spec.k, 'copy k');
  const trunkSeed = spec.trunkSeed ?? config.dataOrderSeed;
  if (!Number.isSafeInteger(trunkSeed) || trunkSeed < 0) throw new Error(`copy: trunkSeed = ${JSON.stringify(spec.trunkSeed)}; seeds are whole numbers >= 0`);
  if (spec.reinit !== undefined && !(Number.isSafeInteger(spec.reinit) && spec.reinit >= 0)) throw new Error(`copy: reinit = ${JSON.stringify(spec.reinit)}; give the init seed of the fresh weights, a whole number >= 0`);
  const mask = spec.mask === undefined ? undefined : maskKey(spec.mask, config);
  const key = copyKey(config, data, k, trunkSeed, mask, spec.reinit);
  // The trunk is requested only when the copy must be computed: a finished copy answers at once.
  const found = await ctx.store.get('copy', key);
  // The mask is loaded before the trunk trains, so that a mask missing from the store fails at once.
  let masks = found || !mask ? undefined : await loadMask(ctx, mask, config);
  const trunkOf = () => trunk(ctx, { ...config, dataOrderSeed: trunkSeed }, k, { shortcuts: spec.shortcuts });
  const trunkResult = found ? null : await trunkOf().catch((err: unknown) => {
    if (masks) disposeMasks(masks);
    throw err;
  });
  const { unit, ref } = await cachedUnit(ctx, 'copy', key as unknown as Json, unitLabel('copy', key as unknown as Json), async (writer, unitRef) => {
    const { model } = buildModel(config, dataset);
    const owned: TrainState[] = [];
    masks ??= mask ? await loadMask(ctx, mask, config) : undefined;
    try {
      const atK = await (trunkResult ?? (await trunkOf())).loadState();
      owned.push(atK);
      let start = atK;
      if (spec.reinit !== undefined) {
        start = { step: atK.step, weights: freshWeights(config, dataset, spec.reinit), optimizer: atK.optimizer };
        // The optimizer state is atK's and is freed with it; only the fresh weights are this state's own.
        owned.push({ step: start.step, weights: start.weights, optimizer: null });
      }
      if (masks) {
        start = maskState(start, masks);
        owned.push(start);
      }
      const T = resolveConfig(config, dataset.train.size).totalIterations;
      const result = await trainInUnit(ctx, writer, unitRef, { config, start, to: T, model, dataset, masks });
      try {
        const test = evaluate(model, dataset.test, { batchSize: config.evalBatchSize, limit: config.evalExamples });
        const final = snapshot(model, result.step, null);
        try {
          await writer.writeFile(FINAL_FILE, encodeState(final));
        } finally {
          disposeState(final);
        }
        const summary: CopySummary = { k, testAccuracy: test.accuracy, testError: test.error, testLoss: test.loss, density: masks ? maskDensity(masks) : null };
        return { ...summary };
      } finally {
        result.dispose();
      }
    } finally {
      owned.forEach(disposeState);
      if (masks) disposeMasks(masks);
      masks = undefined;
      model.dispose();
    }
  }).finally(() => {
    // Another process may have computed the unit while this one waited: the loaded mask was not needed.
    if (masks) disposeMasks(masks);
  });
  return { unit, ref, summary: unit.summary as unknown as CopySummary, loadFinal: () => readState(unit, FINAL_FILE) };
}
