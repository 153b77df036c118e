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
import { lsCommand, showCommand, gcCommand, LS_HELP, SHOW_HELP, GC_HELP } from './store';
import { settingsCommand, SETTINGS_HELP } from './settings';
import { labCommand, LAB_HELP } from './lab';
import { unitCommand, UNIT_HELP } from './unit';
import { cancelCommand, planCommand, statusCommand, CANCEL_HELP, PLAN_HELP, STATUS_HELP } from './cluster';
import { reportSettings, settingOrDefault } from '../settings';
import { defaultStoreRoot, storeRootProblem } from '../store';
import { formatColumns, formatHelp, formatParagraphs, HELP_OPTIONS, parserOptions } from './options';

/** Commands that write units to the store: its folder is checked before they load data or train. */
const STORE_WRITERS = new Set(['train', 'imp', 'instability', 'quickstart']);

/** The options of `lmc backend`: what it parses and what its help lists. */
const BACKEND_OPTIONS = { ...HELP_OPTIONS } as const;

const BACKEND_HELP = formatHelp({
  usage: ['lmc backend'],
  about: `Prints the TensorFlow.js backend lmc-lab would use here and its device: $LMC_BACKEND when set,
else the first of gpu (@tensorflow/tfjs-node-gpu), tensorflow (@tensorflow/tfjs-node), wasm and cpu
that starts, with the reason each one before it was skipped.`,
  options: BACKEND_OPTIONS,
});

/** Every command: its line in `lmc help` and its own help, which `lmc <command> --help` prints. */
export const COMMANDS: Readonly<Record<string, { summary: string; help: string }>> = {
  train: { summary: 'train one network of Table 1 and report its errors (a unit of the run store)', help: TRAIN_HELP },
  imp: { summary: 'iterative magnitude pruning with rewinding, and its random baselines', help: IMP_HELP },
  instability: {
    summary: 'instability analysis at one or more k, of the network or a subnetwork',
    help: INSTABILITY_HELP,
  },
  quickstart: {
    summary: 'instability and IMP of LeNet-300-100 on the embedded MNIST digits; writes out/quickstart/report.html',
    help: QUICKSTART_HELP,
  },
  notebooks: { summary: 'execute the notebooks headless into executed .ipynb and offline HTML', help: NOTEBOOKS_HELP },
  ls: { summary: 'the units in the run store ($LMC_HOME/store)', help: LS_HELP },
  show: { summary: 'one unit of the store in full (a unique hash prefix will do)', help: SHOW_HELP },
  gc: { summary: 'remove unfinished units and the leftovers of interrupted attempts', help: GC_HELP },
  backend: { summary: 'print the backend lmc-lab would use here', help: BACKEND_HELP },
  settings: {
    summary: "the LMC_* environment variables: each one's value, meaning and valid values",
    help: SETTINGS_HELP,
  },
  kernel: {
    summary: 'install or remove the Jupyter kernel "TypeScript (lmc-lab)" and its JupyterLab extension',
    help: KERNEL_HELP,
  },
  lab: { summary: "JupyterLab on notebooks/ with both (yours, else the project's .venv)", help: LAB_HELP },
  plan: {
    summary: 'the Slurm jobs of quickstart, instability or imp: units, inputs, estimates (--dry-run)',
    help: PLAN_HELP,
  },
  status: {
    summary: "the units of an experiment submitted with --on slurm: each one's state, step, ETA or error",
    help: STATUS_HELP,
  },
  cancel: {
    summary: 'cancel the pending and running jobs of an experiment submitted with --on slurm',
    help: CANCEL_HELP,
  },
  unit: { summary: 'compute exactly one unit into a shared store (what a cluster job runs)', help: UNIT_HELP },
};

/** The help of command `name`, or undefined when there is no such command (`constructor` included). */
export function commandHelp(name: string | undefined): string | undefined {
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name].help : undefined;
}

/** The text of `lmc help`: the commands, one line each. */
export const HELP = [
  'lmc: instability analysis and lottery tickets on TensorFlow.js',
  '',
  'Usage: lmc <command> [options]',
  '',
  'Commands:',
  ...formatColumns([
    ...Object.entries(COMMANDS).map(([name, command]) => [name, command.summary] as const),
    ['help', "this text, or a command's: lmc help <command> (or lmc <command> --help)"],
  ]),
  '',
  ...formatParagraphs(`Environment: LMC_HOME (run store in <folder>/store, default ~/.lmc), LMC_DATA_DIR, LMC_SCALE,
LMC_BACKEND, LMC_WORKERS and more: \`lmc settings\` lists them all.`),
].join('\n');

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  let debug = false;
  try {
    // Help first: reading how to fix a setting must not need the setting fixed.
    // `lmc <command> --help` is `lmc help <command>`, for every command.
    const help = commandHelp(command);
    if (help !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
      console.log(help);
      return 0;
    }
    // Every setting is checked before any command does work: a malformed one is named at once,
    // not after the data is loaded or a model trained.
    if (command !== 'settings' && command !== 'help' && command !== undefined) {
      const problems = reportSettings().flatMap((row) => (row.problem === null ? [] : [row.problem]));
      if (problems.length > 0) throw new Error(`${problems.join('\n')}\n(\`lmc settings\` lists every setting)`);
      debug = settingOrDefault('debug') === 'on';
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
      case 'unit':
        return await unitCommand(rest);
      case 'plan':
        return await planCommand(rest);
      case 'status':
        return await statusCommand(rest);
      case 'cancel':
        return await cancelCommand(rest);
      case 'backend': {
        parseArgs({ args: rest, options: parserOptions(BACKEND_OPTIONS), strict: true });
        const info = await initBackend();
        console.log(describeBackend(info));
        return 0;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(commandHelp(rest[0]) ?? HELP);
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
