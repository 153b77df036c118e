/** The flags every experiment command shares: --config, --scale, --set. */
import { applySettings, SCALES, type Scale, type TrainConfig } from '../train/config';
import { isPlainDecimal } from '../io/plain-number';
import { readSetting } from '../settings';
import { visible } from '../io/visible';
import { getPreset, type Preset, presetConfig, presetNames } from '../train/presets';
import type { OptionSpec, OptionTable } from './options';
import { describeBackend, initBackend, type BackendInfo } from '../backend';
import { datasetFor } from '../train/trainer';
import type { Dataset } from '../data/types';

/** --scale of a command whose scale, when neither the flag nor $LMC_SCALE gives one, is `fallback` (see scaleFrom). */
export function scaleOption(fallback: Scale) {
  return {
    type: 'string',
    value: '<scale>',
    description: 'paper (Table 1 exactly), quick (short), smoke (seconds)',
    defaultText: `$LMC_SCALE, else ${fallback}`,
  } as const satisfies OptionSpec;
}

/** The shared flags of the commands that train a preset, spread into each one's option table. */
export const CONFIG_OPTIONS = {
  config: { type: 'string', value: '<preset>', description: `one of: ${presetNames().join(', ')}` },
  scale: scaleOption('paper'),
  set: {
    type: 'string',
    multiple: true,
    value: 'key=value',
    description: 'override a config field (repeatable), e.g. --set lr=0.01',
  },
} as const satisfies OptionTable;

/** The output flags the commands that train share: --json and --quiet. */
export const OUTPUT_OPTIONS = {
  json: { type: 'boolean', default: false, description: 'print one JSON object instead of text' },
  quiet: { type: 'boolean', default: false, description: 'no progress bars' },
} as const satisfies OptionTable;

/** The parsed values of the shared flags. */
export interface ConfigFlags {
  config?: string;
  scale?: string;
  set?: string[];
}

/** Scale from --scale, else $LMC_SCALE, else `fallback`; an unknown scale is an error naming where it came from. */
export function scaleFrom(flag: string | undefined, fallback: Scale): Scale {
  if (flag === undefined) return readSetting('scale') ?? fallback;
  if (!SCALES.includes(flag as Scale)) throw new Error(`--scale ${visible(flag)}: use one of ${SCALES.join(', ')}`);
  return flag as Scale;
}

/** The preset, scale and validated config that --config, --scale and --set describe. */
export function configFromFlags(values: ConfigFlags): {
  presetName: string;
  preset: Preset;
  scale: Scale;
  config: TrainConfig;
} {
  if (!values.config) throw new Error(`--config is required; choose one of ${presetNames().join(', ')}`);
  const scale = scaleFrom(values.scale, 'paper');
  const preset = getPreset(values.config);
  const config = applySettings(presetConfig(values.config, scale), values.set ?? []);
  return { presetName: values.config, preset, scale, config };
}

/**
 * The most of each count a command accepts, checked before anything is allocated or trained: far
 * above any experiment of the paper, far below what would exhaust memory.
 */
export const FLAG_LIMITS = {
  inits: 100,
  pairs: 100,
  kValues: 64,
  alphas: 1001,
  bnBatches: 10_000,
  levels: 100,
  baselineEvery: 100,
  /** A step count or interval in iterations (a value of k, --checkpoint-every). */
  steps: 1_000_000_000,
} as const;

/**
 * A whole number given as `flag text`: decimal digits only (no
 * sign, hex, exponent, Infinity or blank), from min to max.
 */
export function wholeNumberFlag(flag: string, text: string, min: number, max: number): number {
  const digits = text.trim();
  const n = Number(digits);
  if (!/^\d+$/.test(digits) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new Error(
      `${flag} ${JSON.stringify(text)}: give a whole number from ${min} to ${max.toLocaleString('en-US')}, ` +
        `in decimal digits`,
    );
  }
  return n;
}

/** A decimal number given as `flag text` (e.g. 0.035, 3.5e-2): no hex, Infinity, NaN or blank. */
export function decimalFlag(flag: string, text: string, what: string): number {
  if (!isPlainDecimal(text)) throw new Error(`${flag} ${JSON.stringify(text)}: not a decimal number; ${what}`);
  return Number(text.trim());
}

/** The comma-separated items of `flag text`, at most `max` of them (`what`: what an item is, for the error). */
export function listFlag(flag: string, text: string, max: number, what: string): string[] {
  const items = text.split(',');
  if (items.length > max) throw new Error(`${flag}: ${items.length} ${what}; give at most ${max}`);
  return items;
}

/** A density flag: the fraction of prunable weights kept, in (0, 1]. */
export function densityFlag(text: string): number {
  const what = 'a density is the fraction of prunable weights kept, in (0, 1], e.g. 0.035';
  const d = decimalFlag('--density', text, what);
  if (!(d > 0 && d <= 1)) throw new Error(`--density ${text}: ${what}`);
  return d;
}

/** The fields every command's JSON report opens with: the preset and scale that ran, on which backend and data. */
export function reportHeader(
  preset: string | undefined,
  scale: Scale,
  config: TrainConfig,
  backend: BackendInfo,
  dataset: Dataset,
) {
  return { preset, scale, config, backend: backend.name, device: backend.device, dataset: dataset.description };
}

/**
 * What a command that trains starts with: the backend and the
 * config's dataset, each described on stdout unless --json.
 */
export async function startCommand(
  config: TrainConfig,
  json: boolean | undefined,
): Promise<{ backend: BackendInfo; dataset: Dataset; log(line: string): void }> {
  const log = (line: string) => {
    if (!json) console.log(line);
  };
  const backend = await initBackend();
  log(describeBackend(backend));
  const dataset = datasetFor(config);
  log(`data: ${dataset.description} (${dataset.train.size} train / ${dataset.test.size} test) from ${dataset.source}`);
  return { backend, dataset, log };
}
