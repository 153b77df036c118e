/**
 * Training inside a unit, resumable: every `checkpointEvery` iterations the full state (weights,
 * optimizer slots, step) goes to the unit's resume checkpoints, and a rerun of an interrupted
 * unit starts from the newest one. The trainer's data order and learning rate are functions of
 * (seed, step), so resuming with the optimizer state restored continues the very same run: the
 * result is bit-identical to an uninterrupted one on a deterministic backend.
 */
import type { Dataset } from '../data/types';
import type { Model } from '../models/types';
import type { UnitWriter } from '../store';
import { tf } from '../tf';
import type { TrainConfig } from '../train/config';
import { disposeState, type TrainState } from '../train/state';
import { trainFrom, type TrainCallback, type TrainResult } from '../train/trainer';
import { anySignal, type ExperimentContext, type UnitRef } from './unit';
import { decodeState, encodeState } from '../train/state-bytes';

const CHECKPOINT_FILE = 'state.safetensors';

/** What to train inside a unit. */
export interface ResumableRun {
  config: TrainConfig;
  /** The state training starts from when no checkpoint exists; null: the model's own W_0 at step 0. */
  start: TrainState | null;
  /** Stop here (iterations): k for a trunk, T for everything else. */
  to: number;
  model: Model;
  dataset: Dataset;
  masks?: ReadonlyMap<string, tf.Tensor>;
}

/**
 * Trains `run` inside `unit`, resuming from its newest checkpoint if an earlier attempt left one
 * (or from `shortcut`, a finished state of the same run at an earlier step, whichever is later).
 * The caller disposes the result; `run.start` and `shortcut` stay the caller's.
 */
export async function trainInUnit(
  ctx: ExperimentContext,
  unit: UnitWriter,
  ref: UnitRef,
  run: ResumableRun,
  shortcut: TrainState | null = null,
): Promise<TrainResult> {
  const startStep = run.start?.step ?? 0;
  const checkpoint = await unit.latestCheckpoint();
  let resumed: TrainState | null = null;
  if (checkpoint) {
    const bytes = checkpoint.files.get(CHECKPOINT_FILE);
    if (bytes) resumed = decodeState(bytes, `${checkpoint.dir}/${CHECKPOINT_FILE}`).state;
  }
  const usable = (s: TrainState | null) => s !== null && s.step > startStep && s.step <= run.to;
  // The later of the two: a checkpoint may be older than a shortcut finished since.
  const later =
    usable(resumed) && (!usable(shortcut) || resumed!.step >= shortcut!.step)
      ? resumed
      : usable(shortcut)
        ? shortcut
        : null;
  const from = later ?? run.start;
  const resuming = later !== null;
  // A resumed run continues its own optimizer state, whatever the policy at k says: the policy
  // is about rewinding to k, and this is the same run picking up where it stopped.
  const config: TrainConfig = resuming ? { ...run.config, optimizerStateAtK: 'restore' } : run.config;
  const every = ctx.checkpointEvery;
  const checkpointer: TrainCallback = {
    everySteps: every,
    onStep: async (step) => {
      if (step.step >= step.endStep) return; // the unit's outputs follow at once
      const state = step.snapshot();
      try {
        await unit.checkpoint(step.step, { [CHECKPOINT_FILE]: encodeState(state) }, { step: step.step });
      } finally {
        disposeState(state);
      }
    },
  };
  const fromStep = from?.step ?? 0;
  const reporter = progressReporter(unit, fromStep, run.to);
  ctx.emit({
    ...ref,
    type: 'train',
    from: fromStep,
    to: run.to,
    resumed: resuming,
    via: later === null ? undefined : later === resumed ? 'checkpoint' : 'shorter-trunk',
  });
  try {
    return await trainFrom(config, {
      from: from ?? undefined,
      to: run.to,
      model: run.model,
      dataset: run.dataset,
      masks: run.masks,
      signal: anySignal(ctx.signal, unit.signal),
      callbacks: [...ctx.callbacks(ref), checkpointer, reporter],
    });
  } finally {
    if (resumed) disposeState(resumed);
  }
}

/** Least time between two progress records of one unit. */
const PROGRESS_EVERY_MS = 1000;

/**
 * Keeps the unit's progress record (store/progress.ts) current: at the start, then at most once
 * a second, and at the last step, so other processes (the Runs panel, `lmc ls`) see the step and ETA.
 */
function progressReporter(unit: UnitWriter, from: number, to: number): TrainCallback {
  const startedAt = new Date().toISOString();
  let last = 0;
  const report = (step: number) => {
    last = Date.now();
    return unit.reportProgress({ step, from, to, startedAt, updatedAt: new Date(last).toISOString() });
  };
  return {
    everySteps: 1,
    onStart: () => report(from),
    onStep: (step) =>
      step.step >= step.endStep || Date.now() - last >= PROGRESS_EVERY_MS ? report(step.step) : undefined,
  };
}
