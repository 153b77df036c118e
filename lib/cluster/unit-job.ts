/**
 * What a cluster job runs (`lmc unit run <hash>`): computes exactly one unit into the shared store
 * from the call its submitter wrote there, on the submitter's backend and dataset (checked by
 * fingerprint), then writes its exit record. Its dependencies must already be in the store (the
 * scheduler ran their jobs first): a missing one fails the job, naming it, instead of computing it.
 */
import * as os from 'node:os';
import { initBackend } from '../backend';
import { loadDataset } from '../data/registry';
import { openStore, type Store } from '../store';
import { datasetFingerprint, experimentContext, type ExperimentContext, type UnitEvent } from '../experiments';
import { describeCall, unitDefinition } from '../experiments/registry';
import { taskId } from './arrays';
import { readJobCall, writeExit, type JobCall, type JobExit } from './files';

/** Options of `runUnitJob`. */
export interface UnitJobOptions {
  /** The job's id in its exit record (default this process's Slurm job, slurmJobId; else `pid<pid>`). */
  jobId?: string;
  /** Sees the unit's events (the CLI prints them to the job's log). */
  onUnit?(event: UnitEvent): void;
  /** Cancels the training cooperatively (SIGTERM from scancel). */
  signal?: AbortSignal;
}

/** This process's Slurm job as squeue names it: `<array>_<index>` for an array task, else the job id; null outside. */
export function slurmJobId(env: NodeJS.ProcessEnv = process.env): string | null {
  const { SLURM_ARRAY_JOB_ID: array, SLURM_ARRAY_TASK_ID: task, SLURM_JOB_ID: job } = env;
  if (array && task) return taskId(array, Number(task));
  return job || null;
}

/** Fails naming every dependency of `job` that the store lacks. */
async function checkDependencies(ctx: ExperimentContext, job: JobCall): Promise<void> {
  const plan = unitDefinition(job.call).plan(ctx, job.call.spec);
  const missing: string[] = [];
  for (const dependency of plan.dependencies) {
    const needed = unitDefinition(dependency).plan(ctx, dependency.spec);
    if (!(await ctx.store.get(needed.kind, needed.key)))
      missing.push(`${describeCall(dependency)} (${needed.kind}/${ctx.store.identify(needed.kind, needed.key).hash})`);
  }
  if (missing.length > 0) {
    throw new Error(
      `${job.label} needs ${missing.join(', ')}, which the store at ${ctx.store.root} lacks: a unit job computes ` +
        `one unit only. ` +
        "Submit it after its inputs' jobs (afterok), or run `lmc unit run` on those first",
    );
  }
}

/** Computes unit `hash` of the store at `root` as its call says; writes the exit record; resolves to it (ok or not). */
export async function runUnitJob(root: string, hash: string, options: UnitJobOptions = {}): Promise<JobExit> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const times = () => ({
    seconds: (performance.now() - started) / 1000,
    startedAt,
    finishedAt: new Date().toISOString(),
    host: os.hostname(),
  });
  const jobId = options.jobId ?? slurmJobId() ?? `pid${process.pid}`;
  const events: UnitEvent[] = [];
  let exit: JobExit;
  try {
    const job = readJobCall(root, hash);
    const { setup } = job;
    // JSON carries an infinite wait as null: such a field keeps the store's default.
    const timing = Object.fromEntries(Object.entries(setup.store.timing).filter(([, v]) => typeof v === 'number'));
    const store: Store = openStore({ root, keepCheckpoints: setup.store.keepCheckpoints, ...timing });
    await initBackend(setup.backend);
    const dataset = loadDataset(setup.dataset.name, {
      dataDir: setup.dataset.dataDir,
      imageSize: setup.dataset.imageSize,
    });
    const here = datasetFingerprint(dataset);
    if (here !== setup.dataset.fingerprint) {
      throw new Error(
        `dataset '${setup.dataset.name}' from ${setup.dataset.dataDir} reads as ${here} on ${os.hostname()} but as ` +
          `${setup.dataset.fingerprint} where the unit was submitted; ` +
          'every node must see the same data (set LMC_DATA_DIR to a shared folder)',
      );
    }
    const ctx = experimentContext({
      store,
      dataset,
      workers: 1,
      checkpointEvery: setup.checkpointEvery,
      signal: options.signal,
      onUnit: (event) => {
        events.push(event);
        options.onUnit?.(event);
      },
    });
    const planned = ctx.store.identify(job.kind, unitDefinition(job.call).plan(ctx, job.call.spec).key).hash;
    if (planned !== hash)
      throw new Error(
        `the call in ${hash}'s folder plans unit ${planned} here (a different lmc-lab version or dataset?); ` +
          `resubmit from this version`,
      );
    await checkDependencies(ctx, job);
    const { unit } = await ctx.run(job.call, { dependenciesDone: true });
    exit = { jobId, ok: true, computed: unit.computed, events, ...times() };
  } catch (e) {
    exit = {
      jobId,
      ok: false,
      computed: false,
      error: (e as Error).message,
      cancelled: options.signal?.aborted ?? false,
      events,
      ...times(),
    };
  }
  await writeExit(root, hash, exit);
  return exit;
}
