/**
 * What the cluster keeps beside the units in a shared store, under `<store>/.cluster/` (the store's
 * own listings and gc skip it): per unit hash, the call a job computes (`units/<hash>/call.json`),
 * its latest submission (`submitted.json`) and one exit record per job (`exit-<job>.json`); one log
 * per job (`logs/<job>.txt`, a job being an array task `<array>_<index>`); per experiment, the units
 * it submitted (`experiments/<id>.json`). Every record is written atomically, so a reader on another
 * node sees a whole record or none.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic-write';
import type { TaskSetup } from '../experiments/pool';
import type { UnitCall, UnitEvent } from '../experiments';

/** The cluster's folder inside a store. */
export const CLUSTER_DIR = '.cluster';
const CALL_FORMAT = 'lmc-lab unit call 1';

/** A unit as a job computes it: the call and everything a process needs to make it as the submitter would. */
export interface JobCall {
  format: typeof CALL_FORMAT;
  kind: string;
  hash: string;
  label: string;
  call: UnitCall;
  setup: TaskSetup;
}

/** A unit's latest submission. */
export interface JobSubmission {
  jobId: string;
  submittedAt: string;
  /** Job ids it waits for (afterok). */
  after: string[];
  /** The experiment that submitted it. */
  experiment: string;
}

/** How a job ended, written by the job itself as its last act. */
export interface JobExit {
  jobId: string;
  ok: boolean;
  /** The job computed the unit (false: found it in the store, e.g. another job had). */
  computed: boolean;
  /** The error's message when not ok. */
  error?: string;
  /** Not ok because the job was told to stop (SIGTERM: scancel, a time limit, a node going down). */
  cancelled?: boolean;
  /** The unit's events in the job ('train' among them). */
  events: UnitEvent[];
  seconds: number;
  /** When the job's process began computing and when it wrote this record (ISO 8601). */
  startedAt: string;
  finishedAt: string;
  host: string;
}

/** One unit of an experiment's record. */
export interface ExperimentUnit {
  hash: string;
  kind: string;
  label: string;
  /** Its job, or null when the store had it at submission. */
  jobId: string | null;
  /** Hashes of the units it waits for. */
  after: string[];
  /** Estimated seconds of compute. */
  estimate: number;
}

/** What `lmc status` and `lmc cancel` read: an experiment's units and jobs. */
export interface ExperimentRecord {
  id: string;
  command: string;
  submittedAt: string;
  units: ExperimentUnit[];
}

/** The folder of unit `hash`'s job files. */
export function unitJobDir(root: string, hash: string): string {
  return path.join(root, CLUSTER_DIR, 'units', hash);
}

/** The log file of job `jobId` (`%A_%a` for sbatch's own pattern of an array task). */
export function jobLogFile(root: string, jobId: string): string {
  return path.join(root, CLUSTER_DIR, 'logs', `${jobId}.txt`);
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, Buffer.from(`${JSON.stringify(value, null, 1)}\n`));
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** Writes the call of a unit (before its job is submitted). */
export async function writeJobCall(root: string, job: Omit<JobCall, 'format'>): Promise<void> {
  await writeJson(path.join(unitJobDir(root, job.hash), 'call.json'), { format: CALL_FORMAT, ...job });
}

/** The call of unit `hash`; throws naming the file when it is absent or not a call. */
export function readJobCall(root: string, hash: string): JobCall {
  const file = path.join(unitJobDir(root, hash), 'call.json');
  const job = readJson<JobCall>(file);
  if (!job || job.format !== CALL_FORMAT || job.hash !== hash) {
    throw new Error(
      `unit ${hash}: no unit call at ${file}; a submitter writes it before it submits the unit's job ` +
        '(check --store names the store the job was submitted for, and that this node sees that folder)',
    );
  }
  return job;
}

export async function writeSubmission(root: string, hash: string, submission: JobSubmission): Promise<void> {
  await writeJson(path.join(unitJobDir(root, hash), 'submitted.json'), submission);
}

export function readSubmission(root: string, hash: string): JobSubmission | null {
  return readJson<JobSubmission>(path.join(unitJobDir(root, hash), 'submitted.json'));
}

export async function writeExit(root: string, hash: string, exit: JobExit): Promise<void> {
  await writeJson(path.join(unitJobDir(root, hash), `exit-${exit.jobId}.json`), exit);
}

export function readExit(root: string, hash: string, jobId: string): JobExit | null {
  return readJson<JobExit>(path.join(unitJobDir(root, hash), `exit-${jobId}.json`));
}

function experimentsDir(root: string): string {
  return path.join(root, CLUSTER_DIR, 'experiments');
}

export async function writeExperiment(root: string, record: ExperimentRecord): Promise<void> {
  await writeJson(path.join(experimentsDir(root), `${record.id}.json`), record);
}

/** The experiment `id` (a unique prefix will do), or the latest one when `id` is undefined; null when there is none. */
export function readExperiment(root: string, id?: string): ExperimentRecord | null {
  let names: string[];
  try {
    names = fs
      .readdirSync(experimentsDir(root))
      .filter((n) => n.endsWith('.json'))
      .sort();
  } catch {
    return null;
  }
  const matches = id === undefined ? names.slice(-1) : names.filter((n) => n.startsWith(id));
  if (matches.length > 1)
    throw new Error(
      `experiment ${id}: ${matches.length} experiments start so (${matches.slice(0, 4).join(', ')}); give more of ` +
        `the id`,
    );
  return matches.length === 0 ? null : readJson<ExperimentRecord>(path.join(experimentsDir(root), matches[0]));
}
