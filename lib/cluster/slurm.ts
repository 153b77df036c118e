/**
 * The Slurm client commands lmc-lab uses, run as child processes: sbatch (submit), squeue
 * (job states while the controller holds them) and scancel. They read $SLURM_CONF or the
 * cluster's own configuration, as on any login node.
 */
import { execFile } from 'node:child_process';
import { arrayOf } from './arrays';

/**
 * A job's state as squeue reports it: e.g. PENDING, RUNNING, COMPLETED, FAILED, CANCELLED; GONE when the controller
 * no longer knows it. Jobs are array tasks, `<array>_<index>`.
 */
export interface JobState {
  state: string;
  /** squeue's reason, e.g. Dependency, DependencyNeverSatisfied, NonZeroExitCode. */
  reason: string;
}

/** States in which a job may still run the unit. */
export const LIVE_STATES: ReadonlySet<string> = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'REQUEUED',
  'REQUEUE_FED',
  'REQUEUE_HOLD',
  'RESIZING',
  'SUSPENDED',
  'SIGNALING',
  'STAGE_OUT',
]);

/** What the executor asks of Slurm; tests give a fake. */
export interface SlurmClient {
  /** Submits with `args` (which include --parsable); resolves to the job id. */
  sbatch(args: readonly string[]): Promise<string>;
  /** The states of `ids`; an id the controller forgot is GONE. */
  states(ids: readonly string[]): Promise<Map<string, JobState>>;
  cancel(ids: readonly string[]): Promise<void>;
}

function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, encoding: 'utf8', maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') {
        reject(
          new Error(
            `${command} is not on PATH: running units on Slurm needs the Slurm client commands (sbatch, squeue, ` +
              `scancel), as on a login node of the cluster`,
          ),
        );
        return;
      }
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/**
 * The state of job `id` among the lines squeue printed for its array (by printed id). A task
 * cancelled before it started leaves no line of its own (Slurm drops it from the pending array),
 * nor does the array's last pending task once cancelled (the array's record then has no task
 * index): the first is inferred from its siblings' lines, the second read from the array's.
 */
export function taskState(id: string, printed: ReadonlyMap<string, JobState>): JobState {
  const own = printed.get(id);
  if (own) return own;
  const array = arrayOf(id);
  const whole = printed.get(array);
  if (whole && array !== id) return whole;
  if (array !== id && [...printed.keys()].some((p) => arrayOf(p) === array))
    return { state: 'CANCELLED', reason: 'gone from its array: cancelled before it started' };
  return { state: 'GONE', reason: 'not known to the controller (finished long ago, or never submitted)' };
}

/** The client that runs the real commands with `env` (default this process's environment). */
export function slurmClient(env: NodeJS.ProcessEnv = process.env): SlurmClient {
  // By array: squeue -r lists each task of the arrays on its own line.
  const query = async (arrays: readonly string[]): Promise<Map<string, JobState> | null> => {
    const out = await run('squeue', ['-h', '-r', '-t', 'all', '-j', arrays.join(','), '-o', '%i|%T|%r'], env);
    if (out.code !== 0) return null;
    const states = new Map<string, JobState>();
    for (const line of out.stdout.split('\n')) {
      const [id, state, reason] = line.trim().split('|');
      if (id && state) states.set(id, { state, reason: reason ?? '' });
    }
    return states;
  };
  return {
    sbatch: async (args) => {
      const out = await run('sbatch', args, env);
      const id = out.stdout.trim().split(';')[0];
      if (out.code !== 0 || !/^\d+$/.test(id))
        throw new Error(
          `sbatch refused the job (exit ${out.code}): ${out.stderr.trim() || out.stdout.trim()}; its arguments: ` +
            `${args.join(' ')}`,
        );
      return id;
    },
    states: async (ids) => {
      const all = new Map<string, JobState>();
      if (ids.length === 0) return all;
      // squeue fails on the whole list when one array is unknown to the controller: then ask array by array.
      const together = await query([...new Set(ids.map(arrayOf))]);
      const alone = new Map<string, Map<string, JobState>>();
      for (const id of ids) {
        let printed = together;
        if (!printed) {
          const array = arrayOf(id);
          if (!alone.has(array)) alone.set(array, (await query([array])) ?? new Map());
          printed = alone.get(array)!;
        }
        all.set(id, taskState(id, printed));
      }
      return all;
    },
    cancel: async (ids) => {
      if (ids.length === 0) return;
      const out = await run('scancel', [...ids], env);
      if (out.code !== 0) throw new Error(`scancel ${ids.join(' ')} failed (exit ${out.code}): ${out.stderr.trim()}`);
    },
  };
}
