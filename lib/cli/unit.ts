/** `lmc unit run <hash>`: what a cluster job runs; computes exactly one unit into the shared store. */
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
  usage: ['lmc unit run <hash> [options]'],
  about: `Computes exactly one unit into the store, from the call its submitter wrote to
<store>/.cluster/units/<hash>/call.json: what each Slurm job of \`--on slurm\` runs. Its
dependencies must already be in the store; a missing one fails the job, named. Writes
exit-<job>.json beside the call (ok, or the error) and exits 0 when the unit is in the store.`,
  options: UNIT_OPTIONS,
});

/** Runs `lmc unit ...`; resolves to the exit code. */
export async function unitCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: parserOptions(UNIT_OPTIONS),
  });
  const [verb, hash, ...extra] = positionals;
  if (verb !== 'run' || hash === undefined || extra.length > 0) {
    throw new Error(
      `give \`lmc unit run <hash>\` (got \`lmc unit ${positionals.join(' ')}\`); \`lmc unit --help\` says more`,
    );
  }
  if (!isUnitHash(hash))
    throw new Error(`unit hash ${JSON.stringify(hash)} is not 64 hex digits; give the full hash of the unit's folder`);
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
