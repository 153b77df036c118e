/**
 * What every unit of work shares: the store it is cached in, the dataset, cancellation, the
 * checkpoint interval, and the hooks through which a caller sees units being found, trained and
 * committed (progress bars, counting in tests).
 */
import { createHash } from 'node:crypto';
import type { Dataset } from '../data/types';
import { openStore, type FinishedUnit, type Json, type Store, type UnitWriter } from '../store';
import type { TrainConfig } from '../train/config';
import { datasetFor, type TrainCallback } from '../train/trainer';

/** The unit kinds of lib/experiments (folder names in the store). */
export type UnitKind = 'trunk' | 'copy' | 'imp-level' | 'instability-pair' | 'throughout' | 'mask';

/** Which unit an event or a training run belongs to. */
export interface UnitRef {
  kind: UnitKind;
  /** Full unit hash (its folder name). */
  hash: string;
  /** Short human label, e.g. "trunk k=500" or "imp level 3". */
  label: string;
}

/**
 * A unit's life as the caller sees it. 'hit': answered from the store (finished earlier, or by
 * another process while this one waited). 'start': this process computes it. 'train': it starts
 * a training run from `from` to `to` (`resumed` when `from` is not the run's start: `via` says
 * whether from a resume checkpoint of an interrupted attempt or from a finished shorter trunk).
 * 'done': computed and committed.
 */
export interface UnitEvent extends UnitRef {
  type: 'hit' | 'start' | 'train' | 'done';
  from?: number;
  to?: number;
  resumed?: boolean;
  via?: 'checkpoint' | 'shorter-trunk';
}

/** Options of `experimentContext`. */
export interface ExperimentOptions {
  /** The store (default openStore(): $LMC_HOME/store). */
  store?: Store;
  /** The dataset every unit uses (default: the one each config names, loaded once per process). */
  dataset?: Dataset;
  /** Iterations between resume checkpoints of a training unit (default 500). Not part of any unit's identity. */
  checkpointEvery?: number;
  /** Cancels cooperatively: checked before every optimizer update. */
  signal?: AbortSignal;
  /** Training callbacks (progress bars) for each training run a unit starts. */
  callbacks?(run: UnitRef): readonly TrainCallback[];
  /** Sees every unit found, started, trained and committed. */
  onUnit?(event: UnitEvent): void;
}

/** The resolved context that every unit function takes first. */
export interface ExperimentContext {
  readonly store: Store;
  readonly checkpointEvery: number;
  readonly signal?: AbortSignal;
  /** The dataset of a config (the context's own, if one was given). */
  dataset(config: TrainConfig): Dataset;
  callbacks(run: UnitRef): readonly TrainCallback[];
  emit(event: UnitEvent): void;
}

/** Default iterations between resume checkpoints: a few seconds of LeNet, a few minutes of ResNet-20 on a CPU. */
export const DEFAULT_CHECKPOINT_EVERY = 500;

/** Builds the context of a set of experiments; every option has a default. */
export function experimentContext(options: ExperimentOptions = {}): ExperimentContext {
  const every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  if (!Number.isSafeInteger(every) || every < 1) {
    throw new Error(`experiments: checkpointEvery = ${JSON.stringify(every)} is invalid; give a whole number of iterations >= 1`);
  }
  const store = options.store ?? openStore();
  return {
    store,
    checkpointEvery: every,
    signal: options.signal,
    dataset: (config) => {
      if (!options.dataset) return datasetFor(config);
      if (options.dataset.name !== config.dataset) {
        throw new Error(`experiments: the context's dataset is '${options.dataset.name}' but the config trains on '${config.dataset}'; give a context without a dataset, or one of '${config.dataset}'`);
      }
      return options.dataset;
    },
    callbacks: (run) => options.callbacks?.(run) ?? [],
    emit: (event) => options.onUnit?.(event),
  };
}

const fingerprints = new WeakMap<Dataset, string>();

/**
 * A short content fingerprint of a dataset, part of every unit's identity: the config names a
 * dataset ('mnist'), but the same name can mean the embedded 10k digits or the full set under
 * LMC_DATA_DIR, and a result computed on one must never be returned for the other. It hashes the
 * description, sizes, every label and a sample of normalized pixels (cheap: no full pass over the
 * images). Cached per dataset object.
 */
export function datasetFingerprint(dataset: Dataset): string {
  const known = fingerprints.get(dataset);
  if (known) return known;
  const hash = createHash('sha256');
  hash.update(JSON.stringify([dataset.name, dataset.description, dataset.numClasses, dataset.imageShape, dataset.train.size, dataset.test.size]));
  for (const split of [dataset.train, dataset.test]) {
    hash.update(new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.labels.byteLength));
    const samples = Math.min(32, split.size);
    const indices = Array.from({ length: samples }, (_, i) => Math.floor((i * split.size) / samples));
    const batch = split.read(indices, { augment: false });
    hash.update(new Uint8Array(batch.x.buffer, batch.x.byteOffset, batch.x.byteLength));
  }
  const fingerprint = `${dataset.name}:${hash.digest('hex').slice(0, 16)}`;
  fingerprints.set(dataset, fingerprint);
  return fingerprint;
}

/** One signal that fires when any of `signals` does (the caller's cancel, the store's lost lock). */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}

/** A unit as a unit function returns it: the finished store entry and who it is. */
export interface UnitResult {
  unit: FinishedUnit;
  ref: UnitRef;
}

/**
 * The finished unit of `kind` and `key`, computing it with `compute` if the store lacks it.
 * Emits 'start' when this process computes it, then 'done', or 'hit' when it came from the store.
 */
export async function cachedUnit(
  ctx: ExperimentContext, kind: UnitKind, key: Json, label: string, compute: (unit: UnitWriter, ref: UnitRef) => Promise<Json>,
): Promise<UnitResult> {
  const ref: UnitRef = { kind, hash: ctx.store.identify(kind, key).hash, label };
  const unit = await ctx.store.compute(kind, key, async (writer) => {
    ctx.emit({ ...ref, type: 'start' });
    return compute(writer, ref);
  });
  ctx.emit({ ...ref, type: unit.computed ? 'done' : 'hit' });
  return { unit, ref };
}
