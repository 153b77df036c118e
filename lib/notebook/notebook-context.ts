/**
 * The experiment context a notebook cell uses: the default store ($LMC_HOME/store), and one
 * progress display that shows whichever training run the units start (labelled with the unit,
 * e.g. "copy k=100 order=...") plus a running count of units computed and found in the store;
 * units training at once on worker threads (LMC_WORKERS) each show a block of that display.
 * In the lmc-lab kernel, make it once with `lmc.notebookContext(newDisplayHandle({ followCells: true }))`
 * so that each cell's trainings show their progress in that cell. With `{ cluster: {...} }` the units
 * run as Slurm jobs instead, and the display follows them (queued, running, done, failed) from the
 * shared store.
 */
import { experimentContext, type ExperimentOptions } from '../experiments/context';
import type { ExperimentContext, UnitEvent } from '../experiments/unit';
import { defaultWorkers } from '../experiments/pool';
import { progressBoard, type DisplayHandle } from '../display/progress';
import { SlurmExecutor, type SlurmExecutorOptions } from '../cluster/executor';
import { slurmClient } from '../cluster/slurm';
import { openStore } from '../store';
import { clusterBoard } from './cluster-board';

/** Options of `notebookContext`: those of experimentContext, less the callbacks it installs. */
export type NotebookContextOptions = Omit<ExperimentOptions, 'callbacks' | 'onUnit' | 'executor'> & {
  /**
   * Compute the units the store lacks as Slurm jobs (lib/cluster's SlurmExecutor with these options)
   * instead of here; the display then follows the jobs from the shared store.
   */
  cluster?: SlurmExecutorOptions;
};

/** Units a context computed and found in the store so far (`ctx.counts()`). */
export interface UnitCounts {
  computed: number;
  found: number;
}

/** Counts of a context's units, and the onUnit handler that keeps them. */
function unitCounter(): { counts: UnitCounts; onUnit(event: UnitEvent): void } {
  const counts = { computed: 0, found: 0 };
  return {
    counts,
    onUnit: (event) => {
      if (event.type === 'done') counts.computed++;
      if (event.type === 'hit') counts.found++;
    },
  };
}

/** A context whose training runs draw their progress into `handle` (a `newDisplayHandle()`). */
export function notebookContext(
  handle: DisplayHandle,
  options: NotebookContextOptions = {},
): ExperimentContext & { counts(): UnitCounts } {
  if (options.cluster) return clusterContext(handle, options, options.cluster);
  const { counts, onUnit } = unitCounter();
  // Units training at once on worker threads each get a block of the display.
  const board = progressBoard(handle, options.workers ?? defaultWorkers());
  const ctx = experimentContext({
    ...options,
    callbacks: (run) => [
      board.run({
        label: `${run.label} (units so far: ${counts.computed} computed, ${counts.found} found in the store)`,
      }),
    ],
    onUnit,
  });
  return Object.assign(ctx, { counts: () => ({ ...counts }) });
}

/** A context whose units run as Slurm jobs, each shown in `handle` as it is queued, runs and ends. */
function clusterContext(
  handle: DisplayHandle,
  options: NotebookContextOptions,
  cluster: SlurmExecutorOptions,
): ExperimentContext & { counts(): UnitCounts } {
  const store = options.store ?? openStore();
  const client = cluster.client ?? slurmClient();
  let board: ReturnType<typeof clusterBoard> | undefined;
  const executor = new SlurmExecutor({
    ...cluster,
    client,
    onJob: (event) => {
      cluster.onJob?.(event);
      board?.wake();
    },
  });
  const shown = clusterBoard(handle, store, client, executor.experiment);
  board = shown;
  const { counts, onUnit } = unitCounter();
  const ctx = experimentContext({ ...options, store, executor, onUnit });
  // A call returns once the display shows how its units ended, not a poll later.
  const run = ctx.run.bind(ctx);
  const follow: ExperimentContext['run'] = async (call, how) => {
    try {
      return await run(call, how);
    } finally {
      await shown.refresh().catch(() => undefined);
    }
  };
  return Object.assign(ctx, { run: follow, counts: () => ({ ...counts }) });
}
