/**
 * The flags that send a command's units to a cluster (`--on slurm`, `--detach`, `--dry-run`, the
 * site's partition, account, QOS and resources), read together with an optional JSON file of the
 * same settings ($LMC_HOME/slurm.json, or --slurm-config), and what a command does with them:
 * submit its whole graph, print the plan, or return after submitting.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SlurmExecutor, type JobEvent } from '../cluster/executor';
import type { DagNode } from '../cluster/dag';
import type { SlurmSite } from '../cluster/sbatch';
import type { UnitResources } from '../cluster/resources';
import type { ExperimentContext, UnitCall } from '../experiments';
import { readSetting } from '../settings';
import { decimalFlag, wholeNumberFlag } from './config-flags';
import type { OptionTable } from './options';
import { formatPlan } from './plan-format';

/** The flags of every command that can run on a cluster. */
export const CLUSTER_OPTIONS = {
  on: {
    type: 'string',
    value: '<where>',
    description: 'where units compute: local (this machine) or slurm (one job array task per unit, on a shared store)',
    defaultText: 'local',
  },
  detach: {
    type: 'boolean',
    default: false,
    description: 'with --on slurm: return once every job is submitted (lmc status follows them)',
  },
  'dry-run': {
    type: 'boolean',
    default: false,
    description: 'with --on slurm: print the jobs (units, inputs, estimated time, resources) and submit nothing',
  },
  partition: { type: 'string', value: '<name>', description: 'Slurm partition of every job' },
  account: { type: 'string', value: '<name>', description: 'Slurm account of every job' },
  qos: { type: 'string', value: '<name>', description: 'Slurm QOS of every job' },
  'sbatch-arg': {
    type: 'string',
    multiple: true,
    value: '<arg>',
    description: 'one more sbatch argument for every job (repeatable), e.g. --sbatch-arg=--constraint=a100',
  },
  cpus: {
    type: 'string',
    value: '<N>',
    description: 'CPUs per job',
    defaultText: '1 on wasm and cpu, 4 on the native backends',
  },
  mem: {
    type: 'string',
    value: '<MiB>',
    description: 'memory per job in MiB',
    defaultText: 'by network, 2048 for LeNet to 32768 for ImageNet',
  },
  gpus: {
    type: 'string',
    value: '<N>',
    description: 'GPUs per job (--gres=gpu:N)',
    defaultText: '1 on the gpu backend, else 0',
  },
  time: {
    type: 'string',
    value: '<minutes>',
    description: 'time limit per job',
    defaultText: 'twice the estimate plus 10 minutes',
  },
  'step-seconds': {
    type: 'string',
    value: '<s>',
    description: 'seconds per optimizer step for estimates and time limits',
    defaultText: "measured from the store's finished units, else assumed per network",
  },
  'slurm-config': {
    type: 'string',
    value: '<file>',
    description: 'JSON with any of partition, account, qos, sbatchArgs, cpus, mem, gpus, time',
    defaultText: '$LMC_HOME/slurm.json when present',
  },
} as const satisfies OptionTable;

/** The parsed values of CLUSTER_OPTIONS. */
export interface ClusterFlags {
  on?: string;
  detach?: boolean;
  'dry-run'?: boolean;
  partition?: string;
  account?: string;
  qos?: string;
  'sbatch-arg'?: string[];
  cpus?: string;
  mem?: string;
  gpus?: string;
  time?: string;
  'step-seconds'?: string;
  'slurm-config'?: string;
}

/** What a command runs its units on: here, or a Slurm executor with what to do after submitting. */
export interface ClusterChoice {
  executor: SlurmExecutor;
  detach: boolean;
  dryRun: boolean;
}

const CONFIG_FIELDS = ['partition', 'account', 'qos', 'sbatchArgs', 'cpus', 'mem', 'gpus', 'time', 'stepSeconds'];

/** The site settings file: --slurm-config, else $LMC_HOME/slurm.json when it exists. */
function readSiteFile(flag: string | undefined): Record<string, unknown> {
  const file = flag ?? path.join(readSetting('home') ?? path.join(os.homedir(), '.lmc'), 'slurm.json');
  if (flag === undefined && !fs.existsSync(file)) return {};
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(
      `--slurm-config ${file}: ${(e as Error).message}; give a JSON object with any of ${CONFIG_FIELDS.join(', ')}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`--slurm-config ${file}: not a JSON object; give one with any of ${CONFIG_FIELDS.join(', ')}`);
  const unknown = Object.keys(value).filter((k) => !CONFIG_FIELDS.includes(k));
  if (unknown.length > 0)
    throw new Error(
      `--slurm-config ${file}: unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the fields are ` +
        `${CONFIG_FIELDS.join(', ')}`,
    );
  return value as Record<string, unknown>;
}

/** The cluster choice of a command's flags, or null to compute here; `log` hears of every job. */
export function clusterFromFlags(
  values: ClusterFlags,
  command: string,
  log: (line: string) => void,
): ClusterChoice | null {
  const on = values.on ?? 'local';
  if (on !== 'local' && on !== 'slurm') throw new Error(`--on ${on}: use local or slurm`);
  if (on === 'local') {
    for (const flag of ['detach', 'dry-run'] as const)
      if (values[flag]) throw new Error(`--${flag} applies to --on slurm; add --on slurm, or drop --${flag}`);
    return null;
  }
  const file = readSiteFile(values['slurm-config']);
  const text = (flag: string | undefined, field: string): string | undefined =>
    flag ?? (file[field] === undefined ? undefined : String(file[field]));
  const whole = (name: string, value: string | undefined, min: number) =>
    value === undefined ? undefined : wholeNumberFlag(`--${name}`, value, min, 1e7);
  const resources: Partial<UnitResources> = {
    cpus: whole('cpus', text(values.cpus, 'cpus'), 1),
    memoryMB: whole('mem', text(values.mem, 'mem'), 1),
    gpus: whole('gpus', text(values.gpus, 'gpus'), 0),
    minutes: whole('time', text(values.time, 'time'), 1),
  };
  const fileArgs = file.sbatchArgs === undefined ? [] : file.sbatchArgs;
  if (!Array.isArray(fileArgs) || fileArgs.some((a) => typeof a !== 'string'))
    throw new Error('--slurm-config: sbatchArgs must be a list of strings, e.g. ["--constraint=a100"]');
  const site: SlurmSite = {
    partition: text(values.partition, 'partition'),
    account: text(values.account, 'account'),
    qos: text(values.qos, 'qos'),
    extraArgs: [...(fileArgs as string[]), ...(values['sbatch-arg'] ?? [])],
    resources: Object.fromEntries(Object.entries(resources).filter(([, v]) => v !== undefined)),
  };
  const stepText = text(values['step-seconds'], 'stepSeconds');
  const stepSeconds = stepText === undefined ? undefined : decimalFlag('--step-seconds', stepText, 'seconds per step');
  const onJob = (e: JobEvent) => {
    const what = `${e.label} (job ${e.jobId})`;
    if (e.type === 'reused') log(`${what}: already queued by another submission, waited on`);
    if (e.type === 'running') log(`${what}: running`);
    if (e.type === 'finished') log(`${what}: done`);
    if (e.type === 'failed') log(`${what}: FAILED: ${e.error} (log: ${e.log})`);
  };
  return {
    executor: new SlurmExecutor({ site, stepSeconds, command, onJob }),
    detach: values.detach ?? false,
    dryRun: values['dry-run'] ?? false,
  };
}

/**
 * Submits `calls` (the command's whole graph) with `cluster`, or prints the plan (--dry-run);
 * resolves to true when the command is done (dry run, or --detach), false when it goes on to
 * follow its units and print its tables.
 */
export async function submitGraph(
  ctx: ExperimentContext,
  cluster: ClusterChoice,
  calls: readonly UnitCall[],
  log: (line: string) => void,
  json = false,
): Promise<boolean> {
  if (cluster.dryRun) {
    console.log(formatPlan(ctx, cluster.executor, await cluster.executor.plan(ctx, calls)));
    return true;
  }
  const dag: DagNode[] = await cluster.executor.submit(ctx, calls);
  const jobs = dag.filter((n) => !n.stored).length;
  const experiment = cluster.executor.experiment;
  log(
    `submitted ${jobs} unit(s) as Slurm jobs (${dag.length - jobs} already in the store) as experiment ` +
      `${experiment}; \`lmc status ${experiment}\` follows them`,
  );
  if (cluster.detach && json)
    console.log(JSON.stringify({ experiment, store: ctx.store.root, jobs, stored: dag.length - jobs }));
  return cluster.detach;
}
