/**
 * What every unit of work shares: the store it is cached in, the dataset, cancellation, the
 * checkpoint interval, and the hooks through which a caller sees units being found, trained and
 * committed (progress bars, counting in tests).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Dataset } from '../data/types';
import { openStore, type FinishedUnit, type Json, type Store, type UnitWriter } from '../store';
import { backendInfo, initBackend } from '../backend';
import { datasetOrigin } from '../data/registry';
import type { TrainConfig } from '../train/config';
import { datasetFor, type StepContext, type TrainCallback } from '../train/trainer';
import type { UnitCall } from './calls';
import { POOLED_BACKENDS, callConfig, defaultWorkers, describeCall, sharedPool, type RemoteStep, type TaskSetup, type TaskSink } from './pool';
import { callbackFires, interruptSignal } from '../train/trainer';

/** The unit kinds of lib/experiments (folder names in the store). */
export type UnitKind = 'trunk' | 'copy' | 'imp-level' | 'instability-pair' | 'throughout' | 'mask';
/** Every kind of unit the experiments store. */
export const UNIT_KINDS: readonly UnitKind[] = ['trunk', 'copy', 'imp-level', 'instability-pair', 'throughout', 'mask'];

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
  /**
   * Worker threads that compute independent units in parallel (default LMC_WORKERS, else one per
   * core; 1: everything in this thread). Used on the wasm and cpu backends, with a dataset loaded
   * by name (loadDataset, or the config's); results are the same bits either way.
   */
  workers?: number;
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
  /** Worker threads this context computes on (1: this thread only). */
  readonly workers: number;
  /**
   * Computes these units in parallel on the worker threads, when this context has them and they
   * can run there (else does nothing); resolves once all are in the store. Unit functions call
   * it for their independent parts and then make the same calls themselves, finding the units.
   */
  prefetch(calls: readonly UnitCall[], options?: PrefetchOptions): Promise<void>;
}

/** Options of `prefetch`. */
export interface PrefetchOptions {
  /** Queue these calls ahead of those already waiting (the critical path, e.g. IMP's next level). */
  first?: boolean;
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
  const workers = options.workers ?? defaultWorkers();
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new Error(`experiments: workers = ${JSON.stringify(workers)} is invalid; give a whole number of worker threads >= 1 (1: compute in this thread)`);
  }
  // Units a worker computed: this thread's own lookup of them afterwards is not reported as a store hit.
  const fromWorkers = new Set<string>();
  const ctx: ExperimentContext = {
    store,
    checkpointEvery: every,
    signal: options.signal,
    workers,
    dataset: (config) => {
      if (!options.dataset) return datasetFor(config);
      if (options.dataset.name !== config.dataset) {
        throw new Error(`experiments: the context's dataset is '${options.dataset.name}' but the config trains on '${config.dataset}'; give a context without a dataset, or one of '${config.dataset}'`);
      }
      return options.dataset;
    },
    callbacks: (run) => options.callbacks?.(run) ?? [],
    emit: (event) => {
      if (event.type === 'hit' && fromWorkers.delete(event.hash)) return;
      options.onUnit?.(event);
    },
    prefetch: (calls, how) => prefetch(ctx, options, calls, fromWorkers, how?.first ?? false),
  };
  return ctx;
}

/** The worker setup of a call, or null when it cannot run in a worker (a dataset not loaded by name). */
function setupOf(ctx: ExperimentContext, backend: TaskSetup['backend'], call: UnitCall): TaskSetup | null {
  const dataset = ctx.dataset(callConfig(call));
  const origin = datasetOrigin(dataset);
  if (!origin) return null;
  return {
    backend,
    dataset: { ...origin, fingerprint: datasetFingerprint(dataset) },
    store: { root: ctx.store.root, keepCheckpoints: ctx.store.keepCheckpoints, timing: ctx.store.timing },
    checkpointEvery: ctx.checkpointEvery,
  };
}

async function prefetch(ctx: ExperimentContext, options: ExperimentOptions, calls: readonly UnitCall[], fromWorkers: Set<string>, first: boolean): Promise<void> {
  if (ctx.workers <= 1 || calls.length === 0) return;
  let backend: TaskSetup['backend'];
  try {
    backend = backendInfo().name;
  } catch {
    backend = (await initBackend()).name;
  }
  if (!POOLED_BACKENDS.includes(backend)) return;
  const setups = calls.map((call) => setupOf(ctx, backend, call));
  if (setups.some((s) => s === null)) return;
  const pool = sharedPool(ctx.workers);
  // A progress callback that throws stops the calls, as it stops a training in this thread.
  const stop = new AbortController();
  // The kernel's per-cell interrupt lives in this thread's trainer: workers hear of it through the pool.
  const signal = anySignal(ctx.signal, interruptSignal(), stop.signal);
  const failures: unknown[] = [];
  const settled = await Promise.allSettled(calls.map(async (call, i) => {
    const sink = progressSink(ctx, options, fromWorkers, (e) => {
      failures.push(e);
      stop.abort(e);
    });
    try {
      await pool.run(call, setups[i]!, sink, signal, first);
    } finally {
      await sink.drained();
    }
  }));
  const failed = failures[0] ?? settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason;
  if (failed !== undefined) {
    // A cancellation is not the workers' doing: it is reported as one thread would report it.
    if (failed instanceof Error && !failed.message.includes('LMC_WORKERS') && failures.length === 0 && !signal?.aborted) {
      failed.message = `${failed.message} (while computing ${describeCall(calls[settled.findIndex((s) => s.status === 'rejected')])} on a worker thread; LMC_WORKERS=1 computes in this thread)`;
    }
    throw failed;
  }
}

/** Delivers a worker's events to the context, and its progress to the context's training callbacks. */
function progressSink(ctx: ExperimentContext, options: ExperimentOptions, fromWorkers: Set<string>, fail: (e: unknown) => void): TaskSink & { drained(): Promise<void> } {
  const runs = new Map<number, { callbacks: readonly TrainCallback[]; config: TrainConfig }>();
  let chain: Promise<void> = Promise.resolve();
  const later = (f: () => void | Promise<void>) => {
    chain = chain.then(f).catch(fail);
  };
  return {
    unit: (event) => {
      if (event.type === 'done') fromWorkers.add(event.hash);
      // What a worker finds in the store is not reported: this thread reports the units it finds
      // itself when it makes the same calls (a unit is then counted once, not once per thread).
      if (event.type === 'hit') return;
      later(() => options.onUnit?.(event));
    },
    store: (event) => ctx.store.relay(event),
    runStart: (run, ref, at, config) => {
      const callbacks = ctx.callbacks(ref);
      runs.set(run, { callbacks, config });
      later(async () => {
        for (const cb of callbacks) await cb.onStart?.(remoteStep(at, config, ctx.workers));
      });
    },
    runStep: (run, at) => {
      const r = runs.get(run);
      if (!r || r.callbacks.length === 0) return;
      later(async () => {
        for (const cb of r.callbacks) {
          if (cb.onStep && callbackFires(cb, at.step, at.itersPerEpoch, at.endStep)) await cb.onStep(remoteStep(at, r.config, ctx.workers));
        }
      });
    },
    drained: () => chain,
  };
}

/** A training callback's view of a run in a worker: its position, rate and loss; the model stays there. */
function remoteStep(at: RemoteStep, config: TrainConfig, workers: number): StepContext {
  const away = (what: string): never => {
    throw new Error(`lmc-lab: ${what} is not available to a progress callback of a unit trained on a worker thread ` +
      `(LMC_WORKERS=${workers}); only the step, epoch, learning rate, loss and config are. Set LMC_WORKERS=1 ` +
      '(or the context option workers: 1) for callbacks that read the model');
  };
  return {
    step: at.step, epoch: at.epoch, itersPerEpoch: at.itersPerEpoch, startStep: at.startStep, endStep: at.endStep, lr: at.lr, config,
    loss: () => at.loss,
    get model() { return away('the model'); },
    get optimizer() { return away('the optimizer'); },
    get dataset() { return away('the dataset'); },
    snapshot: () => away('snapshot()'),
  };
}

const fingerprints = new WeakMap<Dataset, string>();

/**
 * A content fingerprint of a dataset, part of every unit's identity: the config names a dataset
 * ('mnist'), but the same name can mean the embedded 10k digits or the full set under
 * LMC_DATA_DIR, and a result computed on one must never be returned for the other, nor for the same
 * files after one pixel changed. It hashes the description, sizes and each split's whole content
 * (Split.digest: the bytes of every image held in memory, ImageNet's file list with sizes and
 * times; else every example read). Cached per dataset object.
 */
export function datasetFingerprint(dataset: Dataset): string {
  const known = fingerprints.get(dataset);
  if (known) return known;
  const hash = createHash('sha256');
  hash.update(JSON.stringify([dataset.name, dataset.description, dataset.numClasses, dataset.imageShape, dataset.train.size, dataset.test.size]));
  for (const split of [dataset.train, dataset.test]) {
    hash.update(new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.labels.byteLength));
    if (split.digest) split.digest(hash);
    else digestEveryExample(split, hash);
  }
  const fingerprint = `${dataset.name}:${hash.digest('hex').slice(0, 16)}`;
  fingerprints.set(dataset, fingerprint);
  return fingerprint;
}

/** Feeds every example of `split`, as read for evaluation, to `hash`. */
function digestEveryExample(split: Dataset['train'], hash: Hash): void {
  const chunk = 1024;
  for (let start = 0; start < split.size; start += chunk) {
    const indices = Array.from({ length: Math.min(chunk, split.size - start) }, (_, i) => start + i);
    const batch = split.read(indices, { augment: false });
    hash.update(new Uint8Array(batch.x.buffer, batch.x.byteOffset, batch.x.byteLength));
  }
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
