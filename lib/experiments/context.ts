/**
 * The experiment context and its executor: every unit is asked for with `ctx.run(call)`, which
 * answers from the store, or runs the unit's dependencies and then computes it, in this thread or
 * on a worker thread (LMC_WORKERS), or hands it to an executor (a cluster, lib/cluster). Unit
 * modules never know which.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Dataset } from '../data/types';
import { FinishedUnit, openStore, type Store } from '../store';
import { backendInfo, initBackend } from '../backend';
import { datasetOrigin } from '../data/registry';
import type { TrainConfig } from '../train/config';
import { datasetFor, type StepContext, type TrainCallback, callbackFires, interruptSignal } from '../train/trainer';
import { datasetFingerprint } from './fingerprint';
import {
  POOLED_BACKENDS,
  defaultWorkers,
  sharedPool,
  type RemoteStep,
  type TaskSetup,
  type TaskSink,
  type WorkerDone,
} from './pool';
import { callConfig, describeCall, unitDefinition } from './registry';
import {
  anySignal,
  cachedUnit,
  forEachUnit,
  type ExperimentContext,
  type RunOptions,
  type UnitCall,
  type UnitEvent,
  type UnitExecutor,
  type UnitRef,
  type UnitResult,
} from './unit';

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
  /**
   * Computes every unit the store lacks elsewhere (a cluster, lib/cluster) instead of here; `workers` is then its
   * parallelism.
   */
  executor?: UnitExecutor;
}

/** Default iterations between resume checkpoints: a few seconds of LeNet, a few minutes of ResNet-20 on a CPU. */
export const DEFAULT_CHECKPOINT_EVERY = 500;

/** Builds the context of a set of experiments; every option has a default. */
export function experimentContext(options: ExperimentOptions = {}): ExperimentContext {
  const every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  if (!Number.isSafeInteger(every) || every < 1) {
    throw new Error(
      `experiments: checkpointEvery = ${JSON.stringify(every)} is invalid; give a whole number of iterations >= 1`,
    );
  }
  const store = options.store ?? openStore();
  const workers = options.executor?.parallel ?? options.workers ?? defaultWorkers();
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new Error(
      `experiments: workers = ${JSON.stringify(workers)} is invalid; ` +
        `give a whole number of worker threads >= 1 (1: compute in this thread)`,
    );
  }
  const ctx: ExperimentContext = {
    store,
    checkpointEvery: every,
    signal: options.signal,
    workers,
    dataset: (config) => {
      if (!options.dataset) return datasetFor(config);
      if (options.dataset.name !== config.dataset) {
        throw new Error(
          `experiments: the context's dataset is '${options.dataset.name}' but the config trains on ` +
            `'${config.dataset}'; give a context without a dataset, or one of '${config.dataset}'`,
        );
      }
      return options.dataset;
    },
    callbacks: (run) => options.callbacks?.(run) ?? [],
    emit: (event) => options.onUnit?.(event),
    run: (call, how) => run(ctx, options, call, how ?? {}),
  };
  return ctx;
}

/** Set while this thread computes a unit: a unit's own work never waits for the thread's turn. */
const computing = new AsyncLocalStorage<true>();
/** Units computed in this thread take turns: trainings started together would only interleave. */
let turn: Promise<unknown> = Promise.resolve();

/** `ctx.run(call)`: see ExperimentContext.run. */
async function run(
  ctx: ExperimentContext,
  options: ExperimentOptions,
  call: UnitCall,
  how: RunOptions,
): Promise<UnitResult> {
  const plan = unitDefinition(call).plan(ctx, call.spec);
  const ref: UnitRef = { kind: plan.kind, hash: ctx.store.identify(plan.kind, plan.key).hash, label: plan.label };
  const found = await ctx.store.get(plan.kind, plan.key);
  if (found) {
    ctx.emit({ ...ref, type: 'hit' });
    return { unit: found, ref };
  }
  if (options.executor) {
    // The executor chains the dependencies itself; the unit's check runs where it computes.
    const outcome = await options.executor.compute(ctx, call);
    const unit = await ctx.store.get(plan.kind, plan.key);
    if (!unit)
      throw new Error(
        `lmc-lab: the executor reported ${describeCall(call)} finished, but the store at ${ctx.store.root} lacks ` +
          `it; is the store on a filesystem every node shares?`,
      );
    for (const event of outcome.events) if (event.type === 'train') ctx.emit(event);
    ctx.emit({ ...ref, type: outcome.computed ? 'done' : 'hit' });
    return { unit: new FinishedUnit(unit.dir, unit.manifest, outcome.computed), ref };
  }
  // A caller that finished the dependencies ran the check before them (a worker's call).
  if (!how.dependenciesDone) await plan.check?.();
  const dependencies = how.dependenciesDone
    ? await Promise.all(plan.dependencies.map((d) => finished(ctx, d)))
    : await forEachUnit(ctx, plan.dependencies, (d) => ctx.run(d, { first: how.first }));
  const setup = workerSetup(ctx, call, await activeBackend());
  if (setup) {
    const done = await onWorker(ctx, options, call, setup, how.first ?? false);
    const unit = await ctx.store.get(plan.kind, plan.key);
    if (!unit)
      throw new Error(
        `lmc-lab: a worker thread reported ${describeCall(call)} finished, ` +
          `but the store at ${ctx.store.root} lacks it; rerun (finished units are kept)`,
      );
    // Computed by this process (on its worker) or found there: as the unit would say in this thread.
    return { unit: new FinishedUnit(unit.dir, unit.manifest, done.computed), ref };
  }
  const compute = () =>
    cachedUnit(ctx, plan.kind, plan.key, plan.label, (writer, unitRef) =>
      computing.run(true, () => plan.compute(writer, unitRef, dependencies)),
    );
  if (computing.getStore()) return compute();
  const mine = turn.then(compute);
  turn = mine.catch(() => undefined);
  return mine;
}

/** A dependency the caller already finished, read from the store without an event. */
async function finished(ctx: ExperimentContext, call: UnitCall): Promise<UnitResult> {
  const plan = unitDefinition(call).plan(ctx, call.spec);
  const unit = await ctx.store.get(plan.kind, plan.key);
  if (unit) return { unit, ref: { kind: plan.kind, hash: unit.hash, label: plan.label } };
  return ctx.run(call);
}

/**
 * The backend units compute on: the active one, or the best available started now (as the CLI and
 * the kernel start it), so that a script that never called initBackend does not train on tfjs's
 * slowest backend by default.
 */
export async function activeBackend(): Promise<TaskSetup['backend']> {
  try {
    return backendInfo().name;
  } catch {
    return (await initBackend()).name;
  }
}

/**
 * The worker setup of a call, or null when it runs in this thread
 * (one worker, a backend not pooled, a dataset not loaded by name).
 */
function workerSetup(ctx: ExperimentContext, call: UnitCall, backend: TaskSetup['backend']): TaskSetup | null {
  if (ctx.workers <= 1) return null;
  if (!POOLED_BACKENDS.includes(backend)) return null;
  return callSetup(ctx, call, backend);
}

/**
 * What another thread or process needs to make `call` as this one would (backend, dataset by name
 * and fingerprint, store, checkpoint interval), or null when the dataset was not loaded by name.
 */
export function callSetup(ctx: ExperimentContext, call: UnitCall, backend: TaskSetup['backend']): TaskSetup | null {
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

/** Computes `call` on a worker thread of the shared pool, its events and progress delivered here. */
async function onWorker(
  ctx: ExperimentContext,
  options: ExperimentOptions,
  call: UnitCall,
  setup: TaskSetup,
  first: boolean,
): Promise<WorkerDone> {
  const pool = sharedPool(ctx.workers);
  // A progress callback that throws stops the call, as it stops a training in this thread.
  const stop = new AbortController();
  // The kernel's per-cell interrupt lives in this thread's trainer: workers hear of it through the pool.
  const signal = anySignal(ctx.signal, interruptSignal(), stop.signal);
  let failure: unknown;
  const sink = progressSink(ctx, options, (e) => {
    failure ??= e;
    stop.abort(e);
  });
  let done: WorkerDone;
  try {
    done = await pool.run(call, setup, sink, signal, first);
  } catch (e) {
    // A cancellation is not the workers' doing: it is reported as one thread would report it.
    if (e instanceof Error && !e.message.includes('LMC_WORKERS') && failure === undefined && !signal?.aborted) {
      e.message =
        `${e.message} (while computing ${describeCall(call)} on a worker thread; ` +
        `LMC_WORKERS=1 computes in this thread)`;
    }
    throw failure ?? e;
  } finally {
    await sink.drained();
  }
  if (failure !== undefined) throw failure;
  return done;
}

/** Delivers a worker's events to the context, and its progress to the context's training callbacks. */
function progressSink(
  ctx: ExperimentContext,
  options: ExperimentOptions,
  fail: (e: unknown) => void,
): TaskSink & { drained(): Promise<void> } {
  const runs = new Map<number, { callbacks: readonly TrainCallback[]; config: TrainConfig }>();
  let chain: Promise<void> = Promise.resolve();
  const later = (f: () => void | Promise<void>) => {
    chain = chain.then(f).catch(fail);
  };
  return {
    unit: (event) => later(() => options.onUnit?.(event)),
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
          if (cb.onStep && callbackFires(cb, at.step, at.itersPerEpoch, at.endStep))
            await cb.onStep(remoteStep(at, r.config, ctx.workers));
        }
      });
    },
    drained: () => chain,
  };
}

/** A training callback's view of a run in a worker: its position, rate and loss; the model stays there. */
function remoteStep(at: RemoteStep, config: TrainConfig, workers: number): StepContext {
  const away = (what: string): never => {
    throw new Error(
      `lmc-lab: ${what} is not available to a progress callback of a unit trained on a worker thread ` +
        `(LMC_WORKERS=${workers}); only the step, epoch, learning rate, loss and config are. Set LMC_WORKERS=1 ` +
        '(or the context option workers: 1) for callbacks that read the model',
    );
  };
  return {
    step: at.step,
    epoch: at.epoch,
    itersPerEpoch: at.itersPerEpoch,
    startStep: at.startStep,
    endStep: at.endStep,
    lr: at.lr,
    config,
    loss: () => at.loss,
    get model() {
      return away('the model');
    },
    get optimizer() {
      return away('the optimizer');
    },
    get dataset() {
      return away('the dataset');
    },
    snapshot: () => away('snapshot()'),
  };
}
