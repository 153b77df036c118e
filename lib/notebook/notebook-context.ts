/**
 * The experiment context a notebook cell uses: the default store ($LMC_HOME/store), and one
 * progress display that shows whichever training run the units start (labelled with the unit,
 * e.g. "copy k=100 order=...") plus a running count of units computed and found in the store;
 * units training at once on worker threads (LMC_WORKERS) each show a block of that display.
 * In the lmc-lab kernel, make it once with `lmc.notebookContext(newDisplayHandle({ followCells: true }))`
 * so that each cell's trainings show their progress in that cell.
 */
import { experimentContext, type ExperimentOptions } from '../experiments/context';
import type { ExperimentContext } from '../experiments/unit';
import { defaultWorkers } from '../experiments/pool';
import { progressBoard, type DisplayHandle } from '../display/progress';

/** Options of `notebookContext`: those of experimentContext, less the callbacks it installs. */
export type NotebookContextOptions = Omit<ExperimentOptions, 'callbacks' | 'onUnit'>;

/** A context whose training runs draw their progress into `handle` (a `newDisplayHandle()`). */
export function notebookContext(
  handle: DisplayHandle,
  options: NotebookContextOptions = {},
): ExperimentContext & { counts(): { computed: number; found: number } } {
  let trained = 0;
  let found = 0;
  // Units training at once on worker threads each get a block of the display.
  const board = progressBoard(handle, options.workers ?? defaultWorkers());
  const ctx = experimentContext({
    ...options,
    callbacks: (run) => [
      board.run({ label: `${run.label} (units so far: ${trained} computed, ${found} found in the store)` }),
    ],
    onUnit: (event) => {
      if (event.type === 'done') trained++;
      if (event.type === 'hit') found++;
    },
  });
  return Object.assign(ctx, { counts: () => ({ computed: trained, found }) });
}
