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
import { validateConfig, type TrainConfig, resolveConfig } from '../train/config';
import { evaluate } from '../train/evaluate';
import { disposeState, snapshot, type TrainState } from '../train/state';
import { buildModel } from '../train/trainer';
import { disposeMasks, maskDensity, maskState } from '../prune/mask';
import { freshWeights } from '../prune/random';
import type { Json } from '../store';
import { datasetFingerprint } from './fingerprint';
import type { ExperimentContext, UnitCall, UnitDefinition, UnitResult } from './unit';
import { stepOf, trainKey, unitLabel, withoutDefaults } from './keys';
import { loadMask, maskKey, type MaskKey, type MaskSpec } from './masks';
import { trainInUnit } from './resumable';
import { encodeState } from '../train/state-bytes';
import { readState, trunkCall, trunkResult } from './trunk';

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
  /**
   * Start from fresh weights of this init seed instead of W_k
   * (random reinitialization; step and optimizer state stay W_k's).
   */
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
export function copyKey(
  config: TrainConfig,
  data: string,
  k: number,
  trunkSeed: number,
  mask: MaskKey | undefined,
  reinit: number | undefined,
) {
  return withoutDefaults({
    train: trainKey(config),
    data,
    k,
    trunkSeed: trunkSeed === config.dataOrderSeed ? undefined : trunkSeed,
    mask,
    reinit,
  });
}

/** A copy as a call carries it: the mask by its key. */
export type CopyCallSpec = Omit<CopySpec, 'mask'> & { mask?: MaskKey };

/** The call of `copy(ctx, spec)`, its mask given by key. */
export function copyCall(spec: CopySpec): UnitCall {
  const mask = spec.mask === undefined ? undefined : maskKey(spec.mask, validateConfig({ ...spec.config }));
  return { unit: 'copy', spec: { ...spec, mask } satisfies CopyCallSpec };
}

/** The copy unit: its trunk first, then k -> T from W_k (masked, or from fresh weights). */
export const COPY_UNIT: UnitDefinition<CopyCallSpec> = {
  kind: 'copy',
  describe: (spec) => `copy k=${spec.k} order=${spec.config.dataOrderSeed}`,
  config: (spec) => spec.config,
  plan: (ctx, spec) => {
    const config = validateConfig({ ...spec.config });
    const dataset = ctx.dataset(config);
    const k = stepOf(config, dataset, spec.k, 'copy k');
    const trunkSeed = spec.trunkSeed ?? config.dataOrderSeed;
    if (!Number.isSafeInteger(trunkSeed) || trunkSeed < 0)
      throw new Error(`copy: trunkSeed = ${JSON.stringify(spec.trunkSeed)}; seeds are whole numbers >= 0`);
    if (spec.reinit !== undefined && !(Number.isSafeInteger(spec.reinit) && spec.reinit >= 0))
      throw new Error(
        `copy: reinit = ${JSON.stringify(spec.reinit)}; give the init seed of the fresh weights, a whole number >= 0`,
      );
    const mask = spec.mask;
    const key = copyKey(config, datasetFingerprint(dataset), k, trunkSeed, mask, spec.reinit) as unknown as Json;
    return {
      kind: 'copy',
      key,
      label: unitLabel('copy', key),
      dependencies: [trunkCall({ ...config, dataOrderSeed: trunkSeed }, k, { shortcuts: spec.shortcuts })],
      // A mask missing from the store fails before the trunk trains.
      check: async () => {
        if (mask) disposeMasks(await loadMask(ctx, mask, config));
      },
      compute: async (writer, unitRef, [trunkUnit]) => {
        const { model } = buildModel(config, dataset);
        const owned: TrainState[] = [];
        const masks = mask ? await loadMask(ctx, mask, config) : undefined;
        try {
          const atK = await trunkResult(trunkUnit).loadState();
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
            const summary: CopySummary = {
              k,
              testAccuracy: test.accuracy,
              testError: test.error,
              testLoss: test.loss,
              density: masks ? maskDensity(masks) : null,
            };
            return { ...summary };
          } finally {
            result.dispose();
          }
        } finally {
          owned.forEach(disposeState);
          if (masks) disposeMasks(masks);
          model.dispose();
        }
      },
    };
  },
};

/** A finished copy unit as a CopyResult. */
export function copyResult({ unit, ref }: UnitResult): CopyResult {
  return { unit, ref, summary: unit.summary as unknown as CopySummary, loadFinal: () => readState(unit, FINAL_FILE) };
}

/** Trains (or finds) the copy `spec`: its trunk first, then k -> T. */
export async function copy(ctx: ExperimentContext, spec: CopySpec): Promise<CopyResult> {
  return copyResult(await ctx.run(copyCall(spec)));
}
