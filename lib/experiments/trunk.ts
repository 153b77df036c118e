/**
 * The trunk unit: W_k = A^{0->k}(W_0), trained once under config.dataOrderSeed and kept with the
 * optimizer state at k (rewinding under optimizerStateAtK 'restore' needs it). Every copy, IMP
 * level and instability pair that starts at k reads it from here.
 *
 * A trunk to k continues from the trunk of the same run at the largest earlier k' of its
 * `shortcuts` (a sweep's other k), a dependency computed first: data order and learning rate
 * depend on (seed, step) only, so 0 -> k' -> k is the same run as 0 -> k, and a sweep over k
 * trains nothing before the largest k twice, serially or on worker threads.
 */
import type { FinishedUnit } from '../store';
import { validateConfig, type TrainConfig } from '../train/config';
import { copyWeights, disposeState, snapshot, type TrainState } from '../train/state';
import { buildModel } from '../train/trainer';
import { datasetFingerprint } from './fingerprint';
import type { ExperimentContext, UnitCall, UnitDefinition, UnitResult } from './unit';
import { stepOf, trainKey, unitLabel } from './keys';
import { trainInUnit } from './resumable';
import { decodeState, encodeState } from '../train/state-bytes';

/** The file a trunk unit keeps W_k in (weights, then 'optimizer/...' slots when k > 0). */
export const TRUNK_STATE_FILE = 'state.safetensors';

/** A finished trunk. */
export interface TrunkResult extends UnitResult {
  /** k in iterations. */
  k: number;
  /** W_k with the optimizer state at k (null at k = 0); the caller disposes it (disposeState). */
  loadState(): Promise<TrainState>;
}

/** Options of `trunk`. */
export interface TrunkOptions {
  /** Earlier steps whose finished trunks (same config) this one may continue from. */
  shortcuts?: readonly (number | string)[];
}

/** The store config of the trunk of `config` to step k (iterations). */
export function trunkKey(config: TrainConfig, data: string, k: number) {
  return { train: trainKey(config), data, k };
}

/** The spec of a trunk call: `config` trained under its dataOrderSeed to step k. */
export interface TrunkSpec extends TrunkOptions {
  config: TrainConfig;
  k: number | string;
}

/** The call of `trunk(ctx, config, k, options)`. */
export function trunkCall(config: TrainConfig, k: number | string, options: TrunkOptions = {}): UnitCall {
  return { unit: 'trunk', spec: { config, k, shortcuts: options.shortcuts } satisfies TrunkSpec };
}

/** The trunk unit: after the trunk at its largest shortcut below k (if any), training from there to k. */
export const TRUNK_UNIT: UnitDefinition<TrunkSpec> = {
  kind: 'trunk',
  describe: (spec) => `trunk k=${spec.k}`,
  config: (spec) => spec.config,
  plan: (ctx, spec) => {
    const config = validateConfig({ ...spec.config });
    const dataset = ctx.dataset(config);
    const k = stepOf(config, dataset, spec.k, 'trunk k');
    const key = trunkKey(config, datasetFingerprint(dataset), k);
    const shorter = Math.max(
      0,
      ...(spec.shortcuts ?? []).map((s) => stepOf(config, dataset, s, 'trunk shortcut')).filter((s) => s < k),
    );
    return {
      kind: 'trunk',
      key,
      label: unitLabel('trunk', key),
      dependencies: shorter > 0 ? [trunkCall(config, shorter, { shortcuts: spec.shortcuts })] : [],
      compute: async (writer, unitRef, [shorterTrunk]) => {
        const { model } = buildModel(config, dataset);
        let shortcut: TrainState | null = null;
        try {
          let state: TrainState;
          if (k === 0) {
            state = { step: 0, weights: copyWeights(model), optimizer: null };
          } else {
            shortcut = shorterTrunk ? await trunkResult(shorterTrunk).loadState() : null;
            const result = await trainInUnit(
              ctx,
              writer,
              unitRef,
              { config, start: null, to: k, model, dataset },
              shortcut,
            );
            try {
              state = snapshot(model, k, result.optimizer.state);
            } finally {
              result.dispose();
            }
          }
          try {
            await writer.writeFile(TRUNK_STATE_FILE, encodeState(state));
          } finally {
            disposeState(state);
          }
          return { k };
        } finally {
          if (shortcut) disposeState(shortcut);
          model.dispose();
        }
      },
    };
  },
};

/** A finished trunk unit as a TrunkResult. */
export function trunkResult({ unit, ref }: UnitResult): TrunkResult {
  return { unit, ref, k: (unit.summary as { k: number }).k, loadState: () => readState(unit, TRUNK_STATE_FILE) };
}

/** W_k of `config` (trained under its dataOrderSeed), from the store or trained now. */
export async function trunk(
  ctx: ExperimentContext,
  config: TrainConfig,
  k: number | string,
  options: TrunkOptions = {},
): Promise<TrunkResult> {
  return trunkResult(await ctx.run(trunkCall(config, k, options)));
}

/** Reads a state file of a finished unit (verified against its manifest). */
export async function readState(unit: FinishedUnit, file: string): Promise<TrainState> {
  return decodeState(await unit.readFile(file), `${unit.dir}/${file}`).state;
}
