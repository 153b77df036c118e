/**
 * `lmc unit run <hash>...`: what a cluster job runs; computes exactly one unit into the shared store
 * (of several hashes, the one at the job array task's index).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { defaultStoreRoot, isUnitHash } from '../store';
import { runUnitJob } from '../cluster/unit-job';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';

/** The options of `lmc unit`: what it parses and what its help lists. */
export const UNIT_OPTIONS = {
  store: {
    type: 'string',
    value: '<folder>',
    description: 'the shared store the unit was submitted to',
    defaultText: '$LMC_HOME/store',
  },
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help unit`. */
export const UNIT_HELP = formatHelp({
  usage: ['lmc unit run <hash> [options]', 'lmc unit run <hash0> <hash1> ... [options]   (in a job array task)'],
  about: `Computes exactly one unit into the store, from the call its submitter wrote to
<store>/.cluster/units/<hash>/call.json: what each task of a Slurm job array of \`--on slurm\`
runs. Given several hashes, it computes the one at $SLURM_ARRAY_TASK_ID (0 is the first). The
unit's dependencies must already be in the store; a missing one fails the job, named. Writes
exit-<job>.json beside the call (ok, or the error) and exits 0 when the unit is in the store.`,
  options: UNIT_OPTIONS,
});

/** The hash a job array task computes: the only one, or the one at its task index. */
export function arrayTaskHash(hashes: readonly string[], task: string | undefined): string {
  if (hashes.length === 1) return hashes[0];
  const index = task === undefined ? NaN : Number(task);
  if (!Number.isSafeInteger(index) || index < 0 || index >= hashes.length) {
    throw new Error(
      `lmc unit run got ${hashes.length} hashes and SLURM_ARRAY_TASK_ID=${task ?? '(unset)'}; with several hashes it ` +
        `runs in a job array task 0 to ${hashes.length - 1} (sbatch --array); outside one, give one hash`,
    );
  }
  return hashes[index];
}

/** Runs `lmc unit ...`; resolves to the exit code. */
export async function unitCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: parserOptions(UNIT_OPTIONS),
  });
  const [verb, ...hashes] = positionals;
  if (verb !== 'run' || hashes.length === 0) {
    throw new Error(
      `give \`lmc unit run <hash>\` (got \`lmc unit ${positionals.join(' ')}\`); \`lmc unit --help\` says more`,
    );
  }
  for (const given of hashes)
    if (!isUnitHash(given))
      throw new Error(
        `unit hash ${JSON.stringify(given)} is not 64 hex digits; give the full hash of the unit's folder`,
      );
  const hash = arrayTaskHash(hashes, process.env.SLURM_ARRAY_TASK_ID);
  const root = path.resolve(values.store ?? defaultStoreRoot());
  const controller = new AbortController();
  // scancel sends SIGTERM first: stop at the next optimizer step, the last checkpoint kept.
  const stop = () => controller.abort(new Error('lmc-lab: cancelled by SIGTERM (scancel, or the node going down)'));
  process.once('SIGTERM', stop);
  try {
    const exit = await runUnitJob(root, hash, {
      signal: controller.signal,
      onUnit: (event) =>
        console.log(
          `${new Date().toISOString()} ${event.type} ${event.label}${
            event.type === 'train' ? ` from step ${event.from} to ${event.to}` : ''
          }`,
        ),
    });
    if (!exit.ok) {
      console.error(`lmc unit run ${hash}: ${exit.error}`);
      return 1;
    }
    console.log(
      `${new Date().toISOString()} unit ${hash} ${exit.computed ? 'computed' : 'found in the store'} in ` +
        `${exit.seconds.toFixed(1)} s`,
    );
    return 0;
  } finally {
    process.off('SIGTERM', stop);
  }
}
