/**
 * A Slurm experiment's units, live in a notebook cell. The jobs are other processes, so the board
 * reads what `lmc status` reads (the experiment's record and each job's exit record in the shared
 * store, squeue, a running unit's progress record) every `intervalMs` while a unit is queued or
 * running, and redraws one display: a block per unit, queued, running with step and ETA, done, or
 * failed with its error and log. It sleeps when nothing is left to follow; a new submission wakes it.
 */
import { readExperiment } from '../cluster/files';
import type { SlurmClient } from '../cluster/slurm';
import { experimentStatus, type UnitStatus } from '../cluster/status';
import type { DisplayHandle } from '../display/progress';
import { unitBoardBundle, type UnitBoardRow } from '../display/unit-board';
import type { Store } from '../store';

/** How a board follows its experiment. */
export interface ClusterBoard {
  /** Starts following (again), e.g. after a submission; a no-op while it follows. */
  wake(): void;
  /** Reads the units' states now and redraws; resolves to the rows drawn. */
  refresh(): Promise<UnitBoardRow[]>;
  /** Stops following. */
  stop(): void;
}

/** The board's row of a unit of `lmc status`; null for a unit the store held before the submission. */
export function boardRow(unit: UnitStatus): UnitBoardRow | null {
  const job = unit.jobId === null ? '' : `job ${unit.jobId}`;
  switch (unit.state) {
    case 'stored':
      return null;
    case 'pending':
      return { label: unit.label, state: 'queued', detail: unit.reason ? `${job}, waiting: ${unit.reason}` : job };
    case 'running':
      return {
        label: unit.label,
        state: 'running',
        step: unit.step,
        endStep: unit.endStep,
        etaSeconds: unit.etaSeconds,
        detail: job,
      };
    case 'done':
      return { label: unit.label, state: 'done', detail: job };
    default:
      return {
        label: unit.label,
        state: 'failed',
        detail: `${unit.state}: ${unit.error ?? 'no exit record'}${unit.log ? `; log ${unit.log}` : ''}`,
      };
  }
}

/** A board of experiment `experiment` of `store`, drawn into `handle` (a `newDisplayHandle()`). */
export function clusterBoard(
  handle: DisplayHandle,
  store: Store,
  client: SlurmClient,
  experiment: string,
  intervalMs = 1000,
): ClusterBoard {
  let timer: NodeJS.Timeout | undefined;
  let drawn = '';
  let ticking = false;
  const read = async (): Promise<UnitBoardRow[]> => {
    const record = readExperiment(store.root, experiment);
    if (!record) return [];
    const units = await experimentStatus(store, client, record);
    const rows = units.flatMap((u) => boardRow(u) ?? []);
    const bundle = unitBoardBundle(rows);
    const text = String(bundle['text/plain']);
    if (text !== drawn) {
      drawn = text;
      handle.update(bundle);
    }
    if (!units.some((u) => u.state === 'pending' || u.state === 'running')) stop();
    return rows;
  };
  // One read at a time, in order: a slow read started earlier never draws over a later one.
  let reading: Promise<UnitBoardRow[]> = Promise.resolve([]);
  const refresh = (): Promise<UnitBoardRow[]> => (reading = reading.catch(() => []).then(read));
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
  };
  const tick = () => {
    if (ticking) return;
    ticking = true;
    void refresh()
      .catch(() => undefined)
      .finally(() => (ticking = false));
  };
  return {
    wake: () => {
      if (timer) return;
      timer = setInterval(tick, intervalMs);
      timer.unref();
      tick();
    },
    refresh,
    stop,
  };
}
