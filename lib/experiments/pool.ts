/**
 * A pool of worker threads that compute independent units in parallel: the two copies of an
 * instability pair, the pairs of a sweep, IMP runs at different k, the baselines of IMP levels.
 *
 * Each worker loads its own TensorFlow.js backend (the same kind as this thread's), its own copy
 * of the dataset (loaded the same way, checked by fingerprint) and opens the same store folder;
 * it runs a unit call (unit.ts) and reports the unit's events, its training progress and its
 * store's reports back here. The store's locks keep two threads from computing one unit: a unit
 * that a second worker needs while the first computes it is waited for, then found. A unit is
 * computed by the same code on a worker as in one thread, so results are the ones a serial run
 * computes, bit for bit (wasm and the pure-JS cpu backend are deterministic).
 *
 * Workers start on demand, stay for later calls, and never keep the process alive when idle.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DatasetOrigin } from '../data/registry';
import { readSetting, type BackendName } from '../settings';
import { StoreError, type LockTiming, type StoreErrorCode, type StoreEvent } from '../store';
import type { TrainConfig } from '../train/config';
import { TrainingCancelled, type StepContext } from '../train/trainer';
import { describeCall } from './registry';
import type { UnitCall, UnitEvent, UnitRef } from './unit';

/** Backends whose units run in worker threads; native TensorFlow already uses every core (and the one GPU). */
export const POOLED_BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

/** Worker threads by default: LMC_WORKERS, else one per core. Throws on a malformed LMC_WORKERS. */
export function defaultWorkers(env: Record<string, string | undefined> = process.env): number {
  return readSetting('workers', env) ?? Math.max(1, os.availableParallelism());
}

/** Everything a worker needs to make a call as this thread would. */
export interface TaskSetup {
  backend: BackendName;
  dataset: DatasetOrigin & { fingerprint: string };
  store: { root: string; keepCheckpoints: number; timing: LockTiming };
  checkpointEvery: number;
}

/** A training run's position as a worker reports it: a step context's numbers, with the loss read. */
export type RemoteStep = Pick<StepContext, 'step' | 'epoch' | 'itersPerEpoch' | 'startStep' | 'endStep' | 'lr'> & {
  loss: number;
};

/** What the pool delivers back to the caller while a call runs. */
export interface TaskSink {
  unit(event: UnitEvent): void;
  store(event: StoreEvent): void;
  /** A training run started (`run` numbers it within the task). */
  runStart(run: number, ref: UnitRef, at: RemoteStep, config: TrainConfig): void;
  runStep(run: number, at: RemoteStep): void;
}

/** Messages between the pool and its workers. */
export type ToWorker =
  { type: 'call'; id: number; call: UnitCall; setup: TaskSetup } | { type: 'abort'; id: number; reason: string };
export type FromWorker =
  | { type: 'unit'; id: number; event: UnitEvent }
  | { type: 'store'; id: number; event: StoreEvent }
  | { type: 'run-start'; id: number; run: number; ref: UnitRef; at: RemoteStep; config: TrainConfig }
  | { type: 'run-step'; id: number; run: number; at: RemoteStep }
  | { type: 'done'; id: number; hash: string; computed: boolean }
  | { type: 'failed'; id: number; error: WorkerError };

/** A call a worker finished: the unit's hash, and whether the worker computed it (else it found it in the store). */
export interface WorkerDone {
  hash: string;
  computed: boolean;
}

/** An error as it crosses from a worker: name, message, stack, and the fields callers test. */
export interface WorkerError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  /** A TrainingCancelled's position. */
  step?: number;
  endStep?: number;
  /** What it wraps (a store's COMPUTE_FAILED wraps the training's error). */
  cause?: WorkerError;
}

/** `e` as it can cross to another thread (its causes to a depth of 4). */
export function workerError(e: unknown, depth = 0): WorkerError {
  const error = (e instanceof Error ? e : new Error(String(e))) as Error & {
    code?: unknown;
    step?: unknown;
    endStep?: unknown;
  };
  const number = (v: unknown) => (typeof v === 'number' ? v : undefined);
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    code: error.code === undefined ? undefined : String(error.code),
    step: number(error.step),
    endStep: number(error.endStep),
    cause: error.cause !== undefined && depth < 4 ? workerError(error.cause, depth + 1) : undefined,
  };
}

interface Task {
  id: number;
  call: UnitCall;
  setup: TaskSetup;
  sink: TaskSink;
  signal?: AbortSignal;
  first: boolean;
  resolve(done: WorkerDone): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
  onAbort?: () => void;
}

/** A fixed-size pool of unit workers; see the module comment. */
export class UnitPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;

  constructor(readonly size: number) {
    if (!Number.isSafeInteger(size) || size < 1)
      throw new Error(`UnitPool: size = ${size}; give a whole number of workers >= 1`);
  }

  /** Runs `call` on a worker (`first`: ahead of the calls queued so far); resolves once the unit is in the store. */
  run(call: UnitCall, setup: TaskSetup, sink: TaskSink, signal?: AbortSignal, first = false): Promise<WorkerDone> {
    return new Promise<WorkerDone>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const task = { id: this.nextId++, call, setup, sink, signal, first, resolve, reject };
      // Calls queued first keep their own order among themselves.
      const at = first ? this.queue.findIndex((t) => !t.first) : -1;
      if (at < 0) this.queue.push(task);
      else this.queue.splice(at, 0, task);
      this.dispatch();
    });
  }

  /** Stops every worker (queued and running calls fail). */
  async close(): Promise<void> {
    const error = new Error('lmc-lab: the unit worker pool was closed');
    for (const task of this.queue.splice(0)) task.reject(error);
    await Promise.all(
      this.slots.splice(0).map((slot) => {
        slot.task?.reject(error);
        return slot.worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.task === null);
      if (!slot && this.slots.length < this.size) slot = this.spawn();
      if (!slot) return;
      const task = this.queue.shift()!;
      if (task.signal?.aborted) {
        task.reject(abortError(task.signal));
        continue;
      }
      this.start(slot, task);
    }
  }

  private start(slot: Slot, task: Task): void {
    slot.task = task;
    slot.worker.ref();
    if (task.signal) {
      const signal = task.signal;
      slot.onAbort = () =>
        slot.worker.postMessage({
          type: 'abort',
          id: task.id,
          reason: String(signal.reason ?? 'aborted'),
        } satisfies ToWorker);
      signal.addEventListener('abort', slot.onAbort, { once: true });
    }
    slot.worker.postMessage({ type: 'call', id: task.id, call: task.call, setup: task.setup } satisfies ToWorker);
  }

  private finish(slot: Slot): Task | null {
    const task = slot.task;
    if (task?.signal && slot.onAbort) task.signal.removeEventListener('abort', slot.onAbort);
    slot.task = null;
    slot.onAbort = undefined;
    slot.worker.unref();
    return task;
  }

  private spawn(): Slot {
    const worker = new Worker(path.join(__dirname, 'worker.js'));
    worker.unref();
    const slot: Slot = { worker, task: null };
    this.slots.push(slot);
    worker.on('message', (message: FromWorker) => this.receive(slot, message));
    const lost = (why: string) => {
      const index = this.slots.indexOf(slot);
      if (index < 0) return;
      this.slots.splice(index, 1);
      const task = this.finish(slot);
      task?.reject(
        new Error(
          `lmc-lab: the worker thread computing ${describeCall(task.call)} ${why}; ` +
            `the units it finished are in the store, a rerun continues from its last checkpoint`,
        ),
      );
      this.dispatch();
    };
    worker.on('error', (e) => lost(`failed: ${e.message}`));
    worker.on('exit', (code) => lost(`exited (code ${code})`));
    return slot;
  }

  private receive(slot: Slot, message: FromWorker): void {
    const task = slot.task;
    if (!task || task.id !== message.id) return;
    try {
      switch (message.type) {
        case 'unit':
          task.sink.unit(message.event);
          break;
        case 'store':
          task.sink.store(message.event);
          break;
        case 'run-start':
          task.sink.runStart(message.run, message.ref, message.at, message.config);
          break;
        case 'run-step':
          task.sink.runStep(message.run, message.at);
          break;
        case 'done':
          this.finish(slot);
          task.resolve({ hash: message.hash, computed: message.computed });
          this.dispatch();
          break;
        case 'failed':
          this.finish(slot);
          task.reject(reviveError(message.error));
          this.dispatch();
          break;
      }
    } catch (e) {
      // A sink that throws (a progress callback) stops the call, as it would stop a serial training.
      slot.worker.postMessage({
        type: 'abort',
        id: task.id,
        reason: `a callback failed: ${(e as Error).message}`,
      } satisfies ToWorker);
    }
  }
}

const shared = new Map<number, UnitPool>();

/** The process's pool of `size` workers, made on first use and kept (idle workers do not keep the process alive). */
export function sharedPool(size: number): UnitPool {
  let pool = shared.get(size);
  if (!pool) {
    pool = new UnitPool(size);
    shared.set(size, pool);
  }
  return pool;
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new Error(`lmc-lab: cancelled (${String(signal.reason ?? 'aborted')})`);
}

/**
 * The worker's error as an Error of this thread: a StoreError or
 * TrainingCancelled stays one; name, code, stack and cause are kept.
 */
function reviveError(e: WorkerError): Error {
  const cause = e.cause === undefined ? undefined : reviveError(e.cause);
  let error: Error;
  if (e.name === 'TrainingCancelled' && e.step !== undefined && e.endStep !== undefined)
    error = new TrainingCancelled(e.step, e.endStep);
  else if (e.name === 'StoreError' && e.code !== undefined)
    error = new StoreError(e.code as StoreErrorCode, e.message, { cause });
  else error = new Error(e.message, { cause });
  error.name = e.name;
  if (e.stack) error.stack = `${e.stack}\n    (in an lmc-lab worker thread)`;
  if (e.code !== undefined) (error as Error & { code?: string }).code = e.code;
  return error;
}
