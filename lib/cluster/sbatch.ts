/**
 * The sbatch arguments of a job array, as data: one task per unit (task i runs the i-th hash of
 * its command), resources, afterok dependencies on its inputs' jobs (killed, not left pending,
 * when an input fails), one log per task in the shared store, and the site's partition, account,
 * QOS and extra arguments. Pure: `lmc plan` and the tests read them without a cluster.
 */
import * as path from 'node:path';
import { jobLogFile } from './files';
import type { UnitResources } from './resources';

/** The site's choices, from flags or a config file (every field optional). */
export interface SlurmSite {
  partition?: string;
  account?: string;
  qos?: string;
  /** More sbatch arguments, passed as given (e.g. --constraint=a100). */
  extraArgs?: string[];
  /** Overrides of every unit's resources. */
  resources?: Partial<UnitResources>;
  /**
   * The command a job runs before `unit run <hash>... --store <root>` (default: this node and this checkout's
   * bin/lmc.js).
   */
  lmc?: string[];
}

/** One job array to submit. */
export interface JobRequest {
  kind: string;
  /** The units, one task each, in task order. */
  hashes: readonly string[];
  storeRoot: string;
  /** Job ids (array tasks, `<array>_<index>`) that must end OK first. */
  after: readonly string[];
  /** What each task asks for. */
  resources: UnitResources;
}

/**
 * This checkout's `lmc`, as a job runs it: the same node binary and bin/lmc.js (jobs inherit PATH and the
 * environment).
 */
export function defaultLmcCommand(): string[] {
  return [process.execPath, path.resolve(__dirname, '..', '..', '..', 'bin', 'lmc.js')];
}

/** `word` quoted for sh. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Slurm's time format for `minutes`: D-HH:MM:00. */
export function slurmTime(minutes: number): string {
  const whole = Math.max(1, Math.ceil(minutes));
  const days = Math.floor(whole / 1440);
  const hours = Math.floor((whole % 1440) / 60);
  const mins = whole % 60;
  return `${days}-${String(hours).padStart(2, '0')}:${String(mins).padStart(2, '0')}:00`;
}

/** The full sbatch argument list of `job` at `site`. */
export function sbatchArgs(job: JobRequest, site: SlurmSite = {}): string[] {
  const r = job.resources;
  const first = job.hashes[0];
  if (first === undefined) throw new Error(`a ${job.kind} job array with no unit; give at least one hash`);
  for (const [field, value] of Object.entries(r)) {
    if (!Number.isSafeInteger(value) || value < 0 || (field !== 'gpus' && value < 1)) {
      throw new Error(
        `unit ${first}: resources.${field} = ${JSON.stringify(value)}; give a whole number >= ` +
          `${field === 'gpus' ? 0 : 1}`,
      );
    }
  }
  const command = [...(site.lmc ?? defaultLmcCommand()), 'unit', 'run', ...job.hashes, '--store', job.storeRoot];
  const tasks = job.hashes.length;
  return [
    '--parsable',
    `--job-name=lmc-${job.kind}-${first.slice(0, 12)}${tasks > 1 ? `-x${tasks}` : ''}`,
    `--array=${tasks > 1 ? `0-${tasks - 1}` : '0'}`,
    `--output=${jobLogFile(job.storeRoot, '%A_%a')}`,
    '--open-mode=append',
    '--kill-on-invalid-dep=yes',
    ...(job.after.length > 0 ? [`--dependency=afterok:${job.after.join(':')}`] : []),
    '--nodes=1',
    '--ntasks=1',
    `--cpus-per-task=${r.cpus}`,
    `--mem=${r.memoryMB}M`,
    `--time=${slurmTime(r.minutes)}`,
    ...(r.gpus > 0 ? [`--gres=gpu:${r.gpus}`] : []),
    ...(site.partition ? [`--partition=${site.partition}`] : []),
    ...(site.account ? [`--account=${site.account}`] : []),
    ...(site.qos ? [`--qos=${site.qos}`] : []),
    ...(site.extraArgs ?? []),
    `--wrap=exec ${command.map(shellQuote).join(' ')}`,
  ];
}
