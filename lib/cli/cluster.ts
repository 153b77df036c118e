/** `lmc status`, `lmc cancel` and `lmc plan`: an experiment's units on the cluster, from the terminal. */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultStoreRoot, openStore } from '../store';
import { slurmClient } from '../cluster/slurm';
import { cancelExperiment, experimentRecord, experimentStatus, type UnitStatus } from '../cluster/status';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';
import { formatSeconds } from './progress';
import { impCommand } from './imp';
import { instabilityCommand } from './instability';
import { quickstartCommand } from './quickstart';

const STORE_OPTION = {
  store: {
    type: 'string',
    value: '<folder>',
    description: 'the shared store the experiment was submitted to',
    defaultText: '$LMC_HOME/store',
  },
} as const;

/** The options of `lmc status`: what it parses and what its help lists. */
export const STATUS_OPTIONS = {
  ...STORE_OPTION,
  json: { type: 'boolean', default: false, description: 'print one JSON object instead of text' },
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help status`. */
export const STATUS_HELP = formatHelp({
  usage: ['lmc status [<experiment>] [options]'],
  about: `Shows each unit of an experiment submitted with --on slurm (the latest, or the one whose id
starts with <experiment>): stored (in the store before submission), pending (with Slurm's reason),
running (step and ETA, from the unit's progress record), done, cancelled, or failed with its log
and error. Exits 1 when a unit failed or was cancelled.`,
  options: STATUS_OPTIONS,
});

/** The options of `lmc cancel`: what it parses and what its help lists. */
export const CANCEL_OPTIONS = { ...STORE_OPTION, ...HELP_OPTIONS } as const;

/** The text of `lmc help cancel`. */
export const CANCEL_HELP = formatHelp({
  usage: ['lmc cancel [<experiment>] [options]'],
  about: `Cancels every job of an experiment submitted with --on slurm (the latest, or the one whose id
starts with <experiment>) that is pending or running. Finished units stay in the store; a
resubmission resumes a cancelled training from its last checkpoint.`,
  options: CANCEL_OPTIONS,
});

/** The options of `lmc plan` (the command's own follow it). */
export const PLAN_OPTIONS = { ...HELP_OPTIONS } as const;

/** The commands `lmc plan` plans. */
const PLANNED: Record<string, (args: string[]) => Promise<number>> = {
  quickstart: quickstartCommand,
  instability: instabilityCommand,
  imp: impCommand,
};

/** The text of `lmc help plan`. */
export const PLAN_HELP = formatHelp({
  usage: ['lmc plan <quickstart|instability|imp> [its options] --dry-run'],
  about: `Prints the Slurm jobs a command would submit with --on slurm, submitting nothing: one line per
unit (its job array task, kind, hash, inputs, optimizer steps, estimated time, CPUs, memory, GPUs,
time limit), the number of units per kind and of job arrays, the estimated compute (GPU-hours on
the gpu backend), the longest chain of inputs, and the sbatch arguments of one array (the first
with inputs). It is \`lmc <command> --on slurm --dry-run\`.`,
  options: PLAN_OPTIONS,
});

function storeOf(flag: string | undefined) {
  return openStore({ root: path.resolve(flag ?? defaultStoreRoot()), onEvent: () => undefined });
}

/** One line of `lmc status`. */
export function statusLine(row: UnitStatus): string {
  const where = `${row.hash.slice(0, 12)}  ${row.kind.padEnd(16)} ${row.label}`;
  const job = row.jobId === null ? '' : ` (job ${row.jobId})`;
  switch (row.state) {
    case 'running': {
      const at =
        row.step === undefined
          ? ''
          : ` step ${row.step}/${row.endStep}${row.etaSeconds == null ? '' : `, ETA ${formatSeconds(row.etaSeconds)}`}`;
      return `running${at}  ${where}${job}`;
    }
    case 'pending':
      return `pending (${row.reason || 'queued'})  ${where}${job}`;
    case 'done':
      return `done${row.seconds === undefined ? '' : ` in ${formatSeconds(row.seconds)}`}  ${where}${job}`;
    case 'stored':
      return `stored  ${where}`;
    default:
      return `${row.state.toUpperCase()}  ${where}${job}\n    error: ${row.error}\n    log: ${row.log}`;
  }
}

/** Runs `lmc status`; resolves to the exit code. */
export async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: parserOptions(STATUS_OPTIONS),
  });
  if (positionals.length > 1) throw new Error(`give at most one experiment id (got ${positionals.join(' ')})`);
  const store = storeOf(values.store);
  const record = experimentRecord(store, positionals[0]);
  const rows = await experimentStatus(store, slurmClient(), record);
  const count = (state: string) => rows.filter((r) => r.state === state).length;
  const bad = count('failed') + count('cancelled');
  if (values.json) {
    console.log(
      JSON.stringify({
        experiment: record.id,
        command: record.command,
        submittedAt: record.submittedAt,
        store: store.root,
        units: rows,
      }),
    );
    return bad > 0 ? 1 : 0;
  }
  console.log(`experiment ${record.id}: ${record.command} (submitted ${record.submittedAt}; store ${store.root})`);
  for (const row of rows) console.log(statusLine(row));
  const states = ['stored', 'done', 'running', 'pending', 'failed', 'cancelled']
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`);
  console.log(`${rows.length} unit(s): ${states.join(', ')}`);
  return bad > 0 ? 1 : 0;
}

/** Runs `lmc cancel`; resolves to the exit code. */
export async function cancelCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: parserOptions(CANCEL_OPTIONS),
  });
  if (positionals.length > 1) throw new Error(`give at most one experiment id (got ${positionals.join(' ')})`);
  const store = storeOf(values.store);
  const record = experimentRecord(store, positionals[0]);
  const cancelled = await cancelExperiment(store, slurmClient(), record);
  console.log(
    `experiment ${record.id}: cancelled ${cancelled.length} job(s)${
      cancelled.length > 0 ? ` (${cancelled.join(', ')})` : ''
    }; finished units stay in the store`,
  );
  return 0;
}

/** Runs `lmc plan <command> ...`: the command with --on slurm --dry-run. */
export async function planCommand(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  const run = command !== undefined && Object.hasOwn(PLANNED, command) ? PLANNED[command] : undefined;
  if (!run)
    throw new Error(`give the command to plan: lmc plan <${Object.keys(PLANNED).join('|')}> [its options] --dry-run`);
  if (!rest.includes('--dry-run'))
    throw new Error(
      `lmc plan submits nothing and says so: add --dry-run (to submit, run \`lmc ${command} --on slurm\`)`,
    );
  const on = rest.findIndex((a) => a === '--on' || a.startsWith('--on='));
  return run(on >= 0 ? rest : [...rest, '--on', 'slurm']);
}
