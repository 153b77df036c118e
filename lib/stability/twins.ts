/**
 * Training the two copies of an instability experiment from one state W_k: A^{k->T}(W_k, u1)
 * and A^{k->T}(W_k, u2). When the caller wants the copies compared during training (Figure 4:
 * instability and L2 distance at every epoch), the two runs proceed in lockstep and meet at
 * each checkpoint step: the later arrival calls `onMeet` with both models at that step while
 * the other waits, so no trajectory has to be stored. Without checkpoints they run one after
 * the other.
 */
import type { Model } from '../models/types';
import type { Dataset } from '../data/types';
import { tf } from '../tf';
import type { TrainConfig } from '../train/config';
import type { TrainState } from '../train/state';
import { trainFrom, type StepContext, type TrainCallback, type TrainResult } from '../train/trainer';

/** When the two copies meet during training. */
export interface Checkpoints {
  /** At every epoch boundary. */
  everyEpoch?: boolean;
  /** Every n steps (counted from step 0, like the trainer's callbacks). */
  everySteps?: number;
}

/** Options of `trainTwins`. */
export interface TwinOptions {
  /** W_k, with the schedule position and optimizer state at k. */
  from: TrainState;
  /** Data-order seeds of copy 1 and copy 2. */
  seeds: readonly [number, number];
  /** The two models to train in place (reused across pairs; their weights are replaced by `from`). */
  models: readonly [Model, Model];
  dataset: Dataset;
  masks?: ReadonlyMap<string, tf.Tensor>;
  /** Meet at these steps and call `onMeet`; absent: train one copy after the other. */
  checkpoints?: Checkpoints;
  /** Called with [copy 1, copy 2] at each checkpoint, both models at the same step. */
  onMeet?(step: number, epoch: number, models: readonly [Model, Model]): void | Promise<void>;
  /** Callbacks for every run (progress, counting). */
  callbacks?: readonly TrainCallback[];
  /** Called before each copy starts training. */
  onStart?(copy: 1 | 2): void;
  signal?: AbortSignal;
}

/** Trains both copies to T; the caller disposes both results (the models stay the caller's). */
export async function trainTwins(config: TrainConfig, options: TwinOptions): Promise<[TrainResult, TrainResult]> {
  const run = (copy: 0 | 1, extra: readonly TrainCallback[], signal?: AbortSignal): Promise<TrainResult> => {
    options.onStart?.((copy + 1) as 1 | 2);
    return trainFrom(config, {
      from: options.from,
      dataOrderSeed: options.seeds[copy],
      masks: options.masks,
      model: options.models[copy],
      dataset: options.dataset,
      signal,
      callbacks: [...(options.callbacks ?? []), ...extra],
    });
  };
  const checkpoints = options.checkpoints;
  if (!checkpoints || (!checkpoints.everyEpoch && !checkpoints.everySteps)) {
    const first = await run(0, [], options.signal);
    try {
      return [first, await run(1, [], options.signal)];
    } catch (err) {
      first.dispose();
      throw err;
    }
  }
  return trainInLockstep(options, checkpoints, run);
}

/** A copy waiting at a checkpoint for the other one. */
interface Waiting {
  copy: 0 | 1;
  step: number;
  model: Model;
  resolve(): void;
  reject(err: unknown): void;
}

async function trainInLockstep(
  options: TwinOptions,
  checkpoints: Checkpoints,
  run: (copy: 0 | 1, extra: readonly TrainCallback[], signal?: AbortSignal) => Promise<TrainResult>,
): Promise<[TrainResult, TrainResult]> {
  // One controller stops both copies: when either fails, the other must not wait forever.
  const controller = new AbortController();
  const relay = (): void => controller.abort();
  if (options.signal?.aborted) controller.abort();
  options.signal?.addEventListener('abort', relay);
  const state: { waiting: Waiting | null; failure: unknown } = { waiting: null, failure: null };

  const fail = (err: unknown): void => {
    if (state.failure === null) state.failure = err;
    controller.abort();
    const w = state.waiting;
    state.waiting = null;
    w?.reject(err);
  };
  const meet = async (copy: 0 | 1, ctx: StepContext): Promise<void> => {
    if (state.failure !== null) throw state.failure;
    const other = state.waiting;
    if (!other) {
      await new Promise<void>((resolve, reject) => {
        state.waiting = { copy, step: ctx.step, model: ctx.model, resolve, reject };
      });
      return;
    }
    state.waiting = null;
    try {
      if (other.step !== ctx.step || other.copy === copy) {
        throw new Error(
          `instability: copies met out of step (copy ${other.copy + 1} at ${other.step}, ` +
            `copy ${copy + 1} at ${ctx.step})`,
        );
      }
      const models: [Model, Model] = copy === 0 ? [ctx.model, other.model] : [other.model, ctx.model];
      await options.onMeet?.(ctx.step, ctx.epoch, models);
      other.resolve();
    } catch (err) {
      other.reject(err);
      throw err;
    }
  };
  const meeting = (copy: 0 | 1): TrainCallback => ({
    everyEpoch: checkpoints.everyEpoch,
    everySteps: checkpoints.everySteps,
    onStep: (ctx) => meet(copy, ctx),
  });
  const start = (copy: 0 | 1): Promise<TrainResult> =>
    run(copy, [meeting(copy)], controller.signal).catch((err: unknown) => {
      fail(err);
      throw err;
    });
  try {
    const settled = await Promise.allSettled([start(0), start(1)]);
    if (settled[0].status === 'fulfilled' && settled[1].status === 'fulfilled')
      return [settled[0].value, settled[1].value];
    for (const s of settled) if (s.status === 'fulfilled') s.value.dispose();
    // The first failure is the cause; the other copy only stopped because of it.
    throw state.failure;
  } finally {
    options.signal?.removeEventListener('abort', relay);
  }
}
