/**
 * What a unit of work is, as every unit module and every executor sees it: its kind and hash, the
 * events of its life, a call (a unit asked for as data, so that it can cross to a worker thread or
 * a cluster job), a unit's plan (identity, dependencies, computation) and the context every unit
 * function takes first. A leaf of lib/experiments: it imports no unit module.
 */
import type { Dataset } from '../data/types';
import type { FinishedUnit, Json, Store, UnitWriter } from '../store';
import type { TrainConfig } from '../train/config';
import type { TrainCallback } from '../train/trainer';

/** The unit kinds of lib/experiments (folder names in the store). */
export type UnitKind = 'trunk' | 'copy' | 'imp-level' | 'instability-pair' | 'throughout' | 'mask';
/** Every kind of unit the experiments store. */
export const UNIT_KINDS: readonly UnitKind[] = ['trunk', 'copy', 'imp-level', 'instability-pair', 'throughout', 'mask'];
/** The kinds a call can ask for (a stored mask is made from tensors in memory, so it is no call). */
export type CallKind = Exclude<UnitKind, 'mask'>;

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

/** A unit as a unit function returns it: the finished store entry and who it is. */
export interface UnitResult {
  unit: FinishedUnit;
  ref: UnitRef;
}

/**
 * A unit asked for as data: its kind and a spec that survives structured cloning (no functions,
 * no tensors; masks by their key). Each unit module builds its calls (`copyCall`, `pairCall`, ...).
 */
export interface UnitCall {
  unit: CallKind;
  spec: unknown;
}

/** How a unit is computed, resolved from its call: identity, the units it needs, and the work. */
export interface UnitPlan {
  kind: CallKind;
  /** The unit's config in the store (its identity). */
  key: Json;
  label: string;
  /** Units that must be finished before this one computes, in the order `compute` receives them. */
  dependencies: readonly UnitCall[];
  /** Checks what must exist before any dependency trains (e.g. the mask a copy trains under). */
  check?(): Promise<void>;
  /** Computes the unit into `writer` from its finished dependencies; resolves to its summary. */
  compute(writer: UnitWriter, ref: UnitRef, dependencies: readonly UnitResult[]): Promise<Json>;
}

/** A kind of unit: how its calls are planned, described and which config they train under. */
export interface UnitDefinition<Spec> {
  kind: CallKind;
  plan(ctx: ExperimentContext, spec: Spec): UnitPlan;
  /** A short description for messages, e.g. "copy k=100 order=7". */
  describe(spec: Spec): string;
  /** The config the call trains under (which dataset a worker loads). */
  config(spec: Spec): TrainConfig;
}

/**
 * What an executor reports of a unit it computed elsewhere: whether that computed it (else found it), and the unit's
 * events there.
 */
export interface ExecutorOutcome {
  computed: boolean;
  /** The unit's own events where it ran ('train' events among them), re-emitted by the context. */
  events: readonly UnitEvent[];
}

/**
 * Computes units outside this process (a cluster): the context hands it every call the store
 * lacks, and reads the unit from the store once it resolves. It submits the call's missing
 * dependencies itself (a cluster chains them), so the context neither checks nor runs them.
 */
export interface UnitExecutor {
  /** Units it computes at once: forEachUnit starts every item when this is above 1. */
  readonly parallel: number;
  /** Computes `call` and whatever of its dependencies the store lacks; resolves once `call` is in the store. */
  compute(ctx: ExperimentContext, call: UnitCall): Promise<ExecutorOutcome>;
}

/** Options of `ExperimentContext.run`. */
export interface RunOptions {
  /** Ahead of the calls already waiting for a worker (the critical path, e.g. IMP's next level). */
  first?: boolean;
  /** The caller ran the unit's check and made sure its dependencies are finished: they are read, not reported again. */
  dependenciesDone?: boolean;
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
  /** Units this context computes at once: worker threads, or an executor's parallelism (1: this thread only). */
  readonly workers: number;
  /**
   * The finished unit of `call`: from the store, or computed after its dependencies, in this
   * thread or on a worker, whichever the context has; the same bits either way. Independent
   * units are concurrent calls.
   */
  run(call: UnitCall, options?: RunOptions): Promise<UnitResult>;
}

/**
 * Applies `f` to every item: all at once when the context computes on worker threads, else one
 * after the other (in one thread, trainings started together would only interleave). `inOrder`
 * sees each result in the items' order as soon as it and every one before it are in.
 */
export async function forEachUnit<T, R>(
  ctx: ExperimentContext,
  items: readonly T[],
  f: (item: T, index: number) => Promise<R>,
  inOrder?: (result: R, index: number) => void | Promise<void>,
): Promise<R[]> {
  const started = ctx.workers > 1 ? items.map(f) : null;
  started?.forEach((p) => p.catch(() => undefined)); // each is awaited below, in order
  const out: R[] = [];
  for (const [i, item] of items.entries()) {
    out.push(await (started ? started[i] : f(item, i)));
    await inOrder?.(out[i], i);
  }
  return out;
}

/** One signal that fires when any of `signals` does (the caller's cancel, the store's lost lock). */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}

/**
 * The finished unit of `kind` and `key`, computing it with `compute` if the store lacks it.
 * Emits 'start' when this process computes it, then 'done', or 'hit' when it came from the store.
 */
export async function cachedUnit(
  ctx: ExperimentContext,
  kind: UnitKind,
  key: Json,
  label: string,
  compute: (unit: UnitWriter, ref: UnitRef) => Promise<Json>,
): Promise<UnitResult> {
  const ref: UnitRef = { kind, hash: ctx.store.identify(kind, key).hash, label };
  const unit = await ctx.store.compute(kind, key, async (writer) => {
    ctx.emit({ ...ref, type: 'start' });
    return compute(writer, ref);
  });
  ctx.emit({ ...ref, type: unit.computed ? 'done' : 'hit' });
  return { unit, ref };
}
