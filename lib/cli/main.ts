/**
 * The `lmc` command. Each subcommand parses its flags with node's util.parseArgs (strict, so
 * a misspelt flag is an error, not silently ignored) and calls the library.
 */
import { parseArgs } from 'node:util';
import { initBackend, describeBackend } from '../backend';
import { trainCommand, TRAIN_HELP } from './train';
import { kernelCommand, KERNEL_HELP } from './kernel';
import { impCommand, IMP_HELP } from './imp';
import { instabilityCommand, INSTABILITY_HELP } from './instability';
import { quickstartCommand, QUICKSTART_HELP } from './quickstart';
import { notebooksCommand, NOTEBOOKS_HELP } from './notebooks';
import { lsCommand, showCommand, gcCommand, STORE_HELP } from './store';
import { settingsCommand, SETTINGS_HELP } from './settings';
import { labCommand, LAB_HELP } from './lab';
import { readSetting, reportSettings } from '../settings';
import { defaultStoreRoot, storeRootProblem } from '../store';

/** Commands that write units to the store: its folder is checked before they load data or train. */
const STORE_WRITERS = new Set(['train', 'imp', 'instability', 'quickstart']);

const HELP = `lmc: instability analysis and lottery tickets on TensorFlow.js

Usage:
  lmc train --config <preset> [--scale paper|quick|smoke] [--set key=value ...] [--steps 300it] [--checkpoint-every N] [--json]
  lmc imp --config <preset> --rewind <k> --levels <N> [--oneshot] [--density D] [--baselines] [--scale ...] [--json]
  lmc instability --config <preset> --k <step>[,<step>...] [--inits N] [--pairs N] [--alphas 30] [--bn interpolate|recompute] [--sparse imp|random-prune|reinit --density D] [--throughout epoch] [--json]
  lmc quickstart [--scale quick|smoke|paper] [--out <folder>] [--export csv,json,arrow] [--json]   instability and IMP of LeNet-300-100 on the embedded MNIST digits; writes out/quickstart/report.html
  lmc notebooks [--scale quick|smoke|paper] [--only 01,03] [--out out/notebooks]   execute the notebooks headless into executed .ipynb + offline HTML
  lmc ls [--kind <kind>] [--verify] [--json]   units in the run store ($LMC_HOME/store)
  lmc show <hash> [--json]  one unit of the store in full (a unique hash prefix will do)
  lmc gc [--dry-run]        remove unfinished units and leftovers of interrupted attempts
  lmc backend               print the backend lmc-lab would use here
  lmc settings [--json]     the LMC_* environment variables: each one's value, meaning and valid values
  lmc kernel install|uninstall [--user|--sys-prefix|--prefix P]   the Jupyter kernel "TypeScript (lmc-lab)" and its JupyterLab extension
  lmc lab [<folder>] [--port N] [--no-browser]   JupyterLab on notebooks/ with both (yours, else the project's .venv)
  lmc help [command]

Environment: LMC_HOME (run store in <folder>/store, default ~/.lmc), LMC_DATA_DIR, LMC_SCALE, LMC_BACKEND, LMC_WORKERS
and more: \`lmc settings\` lists them all.
`;

const COMMAND_HELP: Record<string, string> = {
  train: TRAIN_HELP,
  imp: IMP_HELP,
  instability: INSTABILITY_HELP,
  kernel: KERNEL_HELP,
  quickstart: QUICKSTART_HELP,
  notebooks: NOTEBOOKS_HELP,
  ls: STORE_HELP,
  show: STORE_HELP,
  gc: STORE_HELP,
  settings: SETTINGS_HELP,
  lab: LAB_HELP,
};

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let debug = false;
  try {
    // Help first: reading how to fix a setting must not need the setting fixed.
    // `lmc <command> --help` is `lmc help <command>` for every command that has its own page.
    if (command !== undefined && COMMAND_HELP[command] && (rest.includes('--help') || rest.includes('-h'))) {
      console.log(COMMAND_HELP[command]);
      return 0;
    }
    // Every setting is checked before any command does work: a malformed one is named at once,
    // not after the data is loaded or a model trained.
    if (command !== 'settings' && command !== 'help' && command !== undefined) {
      const problems = reportSettings().flatMap((row) => (row.problem === null ? [] : [row.problem]));
      if (problems.length > 0) throw new Error(`${problems.join('\n')}\n(\`lmc settings\` lists every setting)`);
      debug = readSetting('debug') === 'on';
      const storeProblem = STORE_WRITERS.has(command) ? await storeRootProblem(defaultStoreRoot()) : null;
      if (storeProblem !== null) throw new Error(storeProblem);
    }
    switch (command) {
      case 'train':
        return await trainCommand(rest);
      case 'imp':
        return await impCommand(rest);
      case 'instability':
        return await instabilityCommand(rest);
      case 'kernel':
        return await kernelCommand(rest);
      case 'quickstart':
        return await quickstartCommand(rest);
      case 'notebooks':
        return await notebooksCommand(rest);
      case 'ls':
        return await lsCommand(rest);
      case 'show':
        return await showCommand(rest);
      case 'gc':
        return await gcCommand(rest);
      case 'settings':
        return settingsCommand(rest);
      case 'lab':
        return await labCommand(rest);
      case 'backend': {
        parseArgs({ args: rest, options: {}, strict: true });
        const info = await initBackend();
        console.log(describeBackend(info));
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(COMMAND_HELP[rest[0]] ?? HELP);
        return 0;
      default:
        console.error(`lmc: unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (err) {
    console.error(`lmc ${command}: ${(err as Error).message}`);
    if (debug) console.error((err as Error).stack);
    return 1;
  }
}
