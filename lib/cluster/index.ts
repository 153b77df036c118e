/**
 * Units as Slurm jobs on a shared store: an executor for `experimentContext({ executor })` that
 * submits every unit the store lacks as one task of a job array chained to its inputs' tasks, the
 * graph and arrays it submits, the sbatch arguments, and an experiment's status.
 *
 *   const executor = new lmc.cluster.SlurmExecutor({ site: { partition: 'gpu' } });
 *   const ctx = lmc.experiments.experimentContext({ executor });   // the store must be on a shared filesystem
 *   await executor.submit(ctx, await lmc.experiments.impRunCalls(ctx, config, { levels: 8, baselines: true }));
 *   const run = await lmc.impRun(ctx, config, { levels: 8, baselines: true });   // follows the jobs
 *
 * In a notebook, `lmc.notebookContext(newDisplayHandle({ followCells: true }), { cluster: { site } })`
 * does the same and shows every job's progress in the cell that waits for it.
 */
export { SlurmExecutor, type SlurmExecutorOptions, type JobEvent } from './executor';
export { unitDag, maskSource, type DagNode, type DagOptions } from './dag';
export { plannedArrays, MAX_ARRAY_TASKS, type JobArray } from './arrays';
export { sbatchArgs, slurmTime, type SlurmSite, type JobRequest } from './sbatch';
export { slurmClient, LIVE_STATES, type SlurmClient, type JobState } from './slurm';
export { unitResources, ASSUMED_STEP_SECONDS, type UnitResources, type UnitWork } from './resources';
export { experimentRecord, experimentStatus, cancelExperiment, type UnitStatus, type UnitJobState } from './status';
export { runUnitJob, type UnitJobOptions } from './unit-job';
export type { ExperimentRecord, ExperimentUnit, JobCall, JobExit, JobSubmission } from './files';
