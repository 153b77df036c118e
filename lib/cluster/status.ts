/**
 * Where an experiment's units stand on the cluster, read by any process that sees the shared
 * store: its record (which units, which jobs), each job's exit record, squeue for the rest, and a
 * running unit's progress record (step and ETA); and cancelling what has not finished.
 */
import { progressEtaSeconds, type Store } from '../store';
import { jobLogFile, readExit, readExperiment, type ExperimentRecord } from './files';
import { LIVE_STATES, type JobState, type SlurmClient } from './slurm';

/**
 * One unit's state: in the store before submission, done, failed, cancelled (an input failed, or scancel), pending,
 * running.
 */
export type UnitJobState = 'stored' | 'done' | 'failed' | 'cancelled' | 'pending' | 'running';

/** One row of `lmc status`. */
export interface UnitStatus {
  hash: string;
  kind: string;
  label: string;
  jobId: string | null;
  state: UnitJobState;
  /** Running: step and end step, and seconds left. */
  step?: number;
  endStep?: number;
  etaSeconds?: number | null;
  /** Pending: squeue's reason (Dependency, Priority, Resources...). */
  reason?: string;
  /** Failed or cancelled: why, and the job's log. */
  error?: string;
  log?: string;
  /** Done: seconds the job computed. */
  seconds?: number;
}

/** The record of experiment `id` (default the latest) in `store`; throws saying how to find one. */
export function experimentRecord(store: Store, id?: string): ExperimentRecord {
  const record = readExperiment(store.root, id);
  if (!record) {
    throw new Error(
      id === undefined
        ? `no experiment was submitted to the store at ${store.root}; run a command with --on slurm (or give --store)`
        : `no experiment ${id} in the store at ${store.root}; \`lmc status\` without an id shows the latest`,
    );
  }
  return record;
}

function describeEnded(state: JobState): { state: UnitJobState; error: string } {
  if (state.reason === 'DependencyNeverSatisfied')
    return { state: 'cancelled', error: 'cancelled by Slurm: the job of one of its inputs failed or was cancelled' };
  if (state.state === 'CANCELLED')
    return {
      state: 'cancelled',
      error: 'cancelled (scancel or lmc cancel) before it finished; a resubmission resumes it from its last checkpoint',
    };
  return {
    state: 'failed',
    error:
      `job ended ${state.state} (${state.reason}) without an exit record: killed, out of time or memory, or ` +
      `its node was lost`,
  };
}

/** The state of every unit of `record`. */
export async function experimentStatus(
  store: Store,
  client: SlurmClient,
  record: ExperimentRecord,
): Promise<UnitStatus[]> {
  const jobs = record.units.flatMap((u) =>
    u.jobId !== null && !readExit(store.root, u.hash, u.jobId) ? [u.jobId] : [],
  );
  const states = await client.states(jobs);
  // A unit another submission finished since (after this one's job was cancelled, say) is done.
  const finished = new Set((await store.list()).filter((u) => u.state === 'finished').map((u) => u.hash));
  const rows: UnitStatus[] = [];
  for (const unit of record.units) {
    const base = { hash: unit.hash, kind: unit.kind, label: unit.label, jobId: unit.jobId };
    if (unit.jobId === null) {
      rows.push({ ...base, state: 'stored' });
      continue;
    }
    const log = jobLogFile(store.root, unit.jobId);
    const exit = readExit(store.root, unit.hash, unit.jobId);
    if (exit) {
      const ended: UnitJobState = exit.ok
        ? 'done'
        : finished.has(unit.hash)
          ? 'done'
          : exit.cancelled
            ? 'cancelled'
            : 'failed';
      rows.push(
        ended === 'done'
          ? { ...base, state: 'done', seconds: exit.seconds }
          : { ...base, state: ended, error: exit.error, log },
      );
      continue;
    }
    const state = states.get(unit.jobId) ?? { state: 'GONE', reason: '' };
    if (!LIVE_STATES.has(state.state)) {
      rows.push(finished.has(unit.hash) ? { ...base, state: 'done' } : { ...base, ...describeEnded(state), log });
      continue;
    }
    if (state.state !== 'RUNNING') {
      rows.push({ ...base, state: 'pending', reason: state.reason });
      continue;
    }
    const info = await store.show(`${unit.kind}/${unit.hash}`).catch(() => null);
    const progress = info?.progress ?? null;
    rows.push({
      ...base,
      state: 'running',
      step: progress?.step,
      endStep: progress?.to,
      etaSeconds: progress ? progressEtaSeconds(progress) : null,
      log,
    });
  }
  return rows;
}

/** Cancels every job of `record` that may still run; resolves to their ids. */
export async function cancelExperiment(store: Store, client: SlurmClient, record: ExperimentRecord): Promise<string[]> {
  const rows = await experimentStatus(store, client, record);
  const live = rows.flatMap((r) =>
    r.jobId !== null && (r.state === 'pending' || r.state === 'running') ? [r.jobId] : [],
  );
  await client.cancel(live);
  return live;
}
