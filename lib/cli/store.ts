/** `lmc ls`, `lmc show <hash>` and `lmc gc`: the run store from the terminal. */
import { parseArgs } from 'node:util';
import {
  formatGcReport,
  formatUnitDetails,
  formatUnitList,
  openStore,
  unitEtaSeconds,
  type Store,
  type UnitInfo,
} from '../store';
import { describeUnit, unitLabel } from '../experiments/keys';
import { UNIT_KINDS } from '../experiments/unit';
import { visible } from '../io/visible';
import { OUTPUT_OPTIONS } from './config-flags';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';

/** --store, which every store command takes. */
const STORE_OPTIONS = {
  store: { type: 'string', value: '<folder>', description: 'another store than $LMC_HOME/store' },
} as const;

/** What every store command's help says of the store. */
const ABOUT_STORE = `The run store holds every unit of work (trunks, copies, IMP levels, instability pairs), named by
the hash of its config, in $LMC_HOME/store (default ~/.lmc/store).`;

/** The options of `lmc ls`: what it parses and what its help lists. */
export const LS_OPTIONS = {
  ...STORE_OPTIONS,
  kind: { type: 'string', value: '<kind>', description: `only this kind: ${UNIT_KINDS.join(', ')}` },
  verify: {
    type: 'boolean',
    default: false,
    description:
      'hash every file (without it: sizes only); exit 1 when a unit is corrupt, naming each damaged ' +
      'file (the next run that needs it recomputes it)',
  },
  json: OUTPUT_OPTIONS.json,
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help ls`. */
export const LS_HELP = formatHelp({
  usage: ['lmc ls [options]'],
  about: `Lists the units of the run store, one line each: hash prefix, kind, state (a running unit's
step: running@340/1000), size, when, what it is.

${ABOUT_STORE}`,
  options: LS_OPTIONS,
});

/** The options of `lmc show`: what it parses and what its help lists. */
export const SHOW_OPTIONS = { ...STORE_OPTIONS, json: OUTPUT_OPTIONS.json, ...HELP_OPTIONS } as const;

/** The text of `lmc help show`. */
export const SHOW_HELP = formatHelp({
  usage: ['lmc show <hash> [options]'],
  about: `Shows one unit in full: config, summary, files with checksums (verified), and a running unit's
step and ETA; a unique hash prefix will do. Exits 1 when the unit is corrupt.

${ABOUT_STORE}`,
  options: SHOW_OPTIONS,
});

/** The options of `lmc gc`: what it parses and what its help lists. */
export const GC_OPTIONS = {
  ...STORE_OPTIONS,
  'dry-run': { type: 'boolean', default: false, description: 'say what would be removed, remove nothing' },
  corrupt: {
    type: 'boolean',
    default: false,
    description: 'also remove corrupt units (kept for inspection without it)',
  },
  'keep-resumable': {
    type: 'boolean',
    default: false,
    description: 'keep unfinished units that have a resume checkpoint',
  },
  json: OUTPUT_OPTIONS.json,
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help gc`. */
export const GC_HELP = formatHelp({
  usage: ['lmc gc [options]'],
  about: `Removes unfinished units and the leftovers of interrupted attempts; never a finished unit.

${ABOUT_STORE}`,
  options: GC_OPTIONS,
});

function storeFrom(dir: string | undefined): Store {
  return openStore(dir ? { root: dir } : {});
}

/** Units with their config replaced by the fields that tell them apart, for the listing. */
function described(units: readonly UnitInfo[]): UnitInfo[] {
  return units.map((u) => ({ ...u, config: u.config === null ? null : describeUnit(u.kind, u.config) }));
}

/** A unit as --json prints it (dates as ISO strings, no internal fields). */
function unitJson(u: UnitInfo) {
  return {
    kind: u.kind,
    hash: u.hash,
    state: u.state,
    label: unitLabel(u.kind, u.config),
    bytes: u.bytes,
    modified: u.modified.toISOString(),
    checkpointStep: u.checkpointStep,
    owner: u.owner,
    progress: u.progress,
    etaSeconds: unitEtaSeconds(u),
    problems: u.problems,
    config: u.config,
    summary: u.summary,
    dir: u.dir,
  };
}

/** Runs `lmc ls`; resolves to the exit code. */
export async function lsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: parserOptions(LS_OPTIONS),
  });
  if (positionals.length > 0)
    throw new Error(`unexpected argument "${positionals[0]}"; to see one unit use \`lmc show ${positionals[0]}\``);
  if (values.kind !== undefined && !(UNIT_KINDS as readonly string[]).includes(values.kind)) {
    throw new Error(`--kind ${visible(values.kind)}: no such kind of unit; use one of ${UNIT_KINDS.join(', ')}`);
  }
  const store = storeFrom(values.store);
  const units = await store.list({ kind: values.kind, verify: values.verify ? 'checksums' : 'sizes' });
  if (values.json) console.log(JSON.stringify({ store: store.root, units: units.map(unitJson) }));
  else process.stdout.write(`store ${store.root}\n${formatUnitList(described(units))}`);
  const corrupt = units.filter((unit) => unit.state === 'corrupt');
  if (values.verify && !values.json)
    for (const unit of corrupt) for (const problem of unit.problems) console.error(`lmc ls: ${problem}`);
  return values.verify && corrupt.length > 0 ? 1 : 0;
}

/** Runs `lmc show <hash>`; resolves to the exit code. */
export async function showCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: parserOptions(SHOW_OPTIONS),
  });
  if (positionals.length !== 1)
    throw new Error('give one unit hash (or a unique prefix of it, as `lmc ls` prints), e.g. `lmc show 3fa4c2`');
  const info = await storeFrom(values.store).show(positionals[0]);
  if (values.json) console.log(JSON.stringify({ ...unitJson(info), manifest: info.manifest }));
  else process.stdout.write(`what      ${unitLabel(info.kind, info.config)}\n${formatUnitDetails(info)}`);
  return info.state === 'corrupt' ? 1 : 0;
}

/** Runs `lmc gc`; resolves to the exit code. */
export async function gcCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: parserOptions(GC_OPTIONS),
  });
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"; gc takes only flags`);
  const store = storeFrom(values.store);
  const report = await store.gc({
    dryRun: values['dry-run'],
    corrupt: values.corrupt,
    keepResumable: values['keep-resumable'],
  });
  if (values.json) console.log(JSON.stringify({ store: store.root, dryRun: values['dry-run'], ...report }));
  else process.stdout.write(`store ${store.root}\n${formatGcReport(report, values['dry-run'])}`);
  return 0;
}
