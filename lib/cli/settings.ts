/** `lmc settings`: every LMC_* environment variable, its value here, what it means and what it takes. */
import { parseArgs } from 'node:util';
import { reportSettings } from '../settings';
import { OUTPUT_OPTIONS } from './config-flags';
import { formatHelp, HELP_OPTIONS, parserOptions } from './options';

/** The options of `lmc settings`: what it parses and what its help lists. */
export const SETTINGS_OPTIONS = {
  json: {
    ...OUTPUT_OPTIONS.json,
    description: 'print one JSON array of {name, value, effect, problem, summary, valid}',
  },
  ...HELP_OPTIONS,
} as const;

/** The text of `lmc help settings`. */
export const SETTINGS_HELP = formatHelp({
  usage: ['lmc settings [options]'],
  about: `Lists every environment variable lmc-lab reads (LMC_HOME, LMC_DATA_DIR, LMC_SCALE, LMC_BACKEND,
LMC_WORKERS, ...): its value in this environment, what is in effect, what it controls and its
valid values. Exits 1 when any of them is malformed, naming it and the fix.`,
  options: SETTINGS_OPTIONS,
});

/** Runs `lmc settings`; returns the exit code. */
export function settingsCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: parserOptions(SETTINGS_OPTIONS),
    strict: true,
    allowPositionals: false,
  });
  const rows = reportSettings();
  if (values.json) {
    console.log(JSON.stringify(rows));
  } else {
    for (const row of rows) {
      console.log(`${row.name}=${row.value === null ? '' : JSON.stringify(row.value)}`);
      console.log(`    ${row.problem ?? `in effect: ${row.effect}`}`);
      console.log(`    ${row.summary}; valid: ${row.valid}`);
    }
  }
  const bad = rows.filter((row) => row.problem !== null);
  for (const row of bad) console.error(`lmc settings: ${row.problem}`);
  return bad.length > 0 ? 1 : 0;
}
