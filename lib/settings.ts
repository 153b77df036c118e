/**
 * Every environment variable lmc-lab reads, in one table: its meaning, its valid values, what
 * unset means, and one parser. A malformed value is an error that names the variable, shows the
 * value (invisible characters made visible) and says what to give instead; it is never taken as
 * something else or silently replaced by the default. `lmc settings` prints this table.
 *
 * Read a setting where it is used, with `readSetting` (each read sees the environment as it is
 * then, so a notebook cell that sets `process.env.LMC_DATA_DIR` takes effect for later reads).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { visible } from './io/visible';
import { isPlainDecimal } from './io/plain-number';

/** How much of a preset's training a run does: the paper's, a shortened one, or a seconds-long check. */
export type Scale = 'paper' | 'quick' | 'smoke';
export const SCALES: readonly Scale[] = ['paper', 'quick', 'smoke'];

/** The backends lmc-lab can run on, fastest first. */
export type BackendName = 'gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['gpu', 'tensorflow', 'wasm', 'cpu'];

/** Where data stays on a native backend: on the device ('auto' on native TensorFlow), always, never. */
export type ResidentPolicy = 'auto' | 'always' | 'never';

/** One environment variable: what it means and how its text becomes a value. */
export interface Setting<T> {
  name: `LMC_${string}`;
  /** One line: what it controls. */
  summary: string;
  /** The valid values, as the error states them ("a whole number from 1 to 256"). */
  valid: string;
  /** What happens when it is unset or blank (default: the text of `fallback`). */
  unset?: string;
  /** The value in effect when it is unset or blank, where one value is (settingOrDefault reads it). */
  fallback?: T;
  /** The value of `text` (trimmed, not blank), or undefined when `text` is not valid. */
  parse(text: string): T | undefined;
}

/** What unset means for `setting`, as errors and `lmc settings` say it. */
function unsetText(setting: Setting<unknown>): string {
  return setting.unset ?? String(setting.fallback);
}

/** A malformed setting: names the variable and its value. */
export class SettingError extends Error {
  constructor(
    readonly variable: string,
    readonly value: string,
    message: string,
  ) {
    super(message);
    this.name = 'SettingError';
  }
}

function wholeNumber(min: number, max: number): (text: string) => number | undefined {
  return (text) => {
    const n = Number(text);
    return /^\d+$/.test(text) && Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
  };
}

function decimalAtLeast(min: number, max: number): (text: string) => number | undefined {
  return (text) => {
    const n = Number(text);
    return isPlainDecimal(text) && n >= min && n <= max ? n : undefined;
  };
}

function oneOf<T extends string>(
  choices: readonly T[],
  aliases: Record<string, T> = {},
): (text: string) => T | undefined {
  return (text) => {
    const key = text.toLowerCase();
    if ((choices as readonly string[]).includes(key)) return key as T;
    return aliases[key];
  };
}

const ON_OFF = oneOf<'on' | 'off'>(['on', 'off'], {
  '1': 'on',
  true: 'on',
  yes: 'on',
  '0': 'off',
  false: 'off',
  no: 'off',
});

function folder(text: string): string {
  return path.resolve(text);
}

/** The settings, by the name the code uses. */
export const SETTINGS = {
  home: {
    name: 'LMC_HOME',
    summary: 'folder of the run store (<folder>/store) and other per-user state',
    valid: 'a folder path (relative paths resolve against the working directory)',
    unset: `~/.lmc (${path.join(os.homedir(), '.lmc')})`,
    parse: folder,
  },
  dataDir: {
    name: 'LMC_DATA_DIR',
    summary: 'folder that holds the datasets (mnist/, fashion-mnist/, cifar10/, imagenet/)',
    valid: 'a folder path',
    unset:
      `~/.lmc/data (${path.join(os.homedir(), '.lmc', 'data')}); MNIST falls back to the 10,000 embedded digits ` +
      `only when mnist/ is absent there`,
    parse: folder,
  },
  systemData: {
    name: 'LMC_SYSTEM_DATA',
    summary:
      'whether a dataset absent from LMC_DATA_DIR is read where a system package installs it (Fashion-MNIST: ' +
      "Debian's dataset-fashion-mnist in /usr/share/datasets/fashion-mnist)",
    valid: 'on or off (also 1/0, true/false, yes/no)',
    fallback: 'on' as const,
    parse: ON_OFF,
  },
  scale: {
    name: 'LMC_SCALE',
    summary: 'scale of runs when no --scale is given (notebooks read it too)',
    valid: `one of ${SCALES.join(', ')}`,
    unset: "each command's default (paper for lmc train, quick for the quick start and notebooks)",
    parse: oneOf(SCALES),
  },
  backend: {
    name: 'LMC_BACKEND',
    summary: 'the TensorFlow.js backend to use',
    valid: `one of ${BACKEND_NAMES.join(', ')}`,
    unset: 'the fastest available, in that order',
    parse: oneOf(BACKEND_NAMES),
  },
  workers: {
    name: 'LMC_WORKERS',
    summary: 'worker threads that compute independent units on the wasm and cpu backends (1: this thread only)',
    valid: 'a whole number from 1 to 256',
    unset: `one per core (${os.availableParallelism()} here)`,
    parse: wholeNumber(1, 256),
  },
  native: {
    name: 'LMC_NATIVE',
    summary: 'whether convolutions on the wasm backend use the oneDNN addon when it is built',
    valid: 'on or off (also 1/0, true/false, yes/no)',
    fallback: 'on' as const,
    parse: ON_OFF,
  },
  nativeThreads: {
    name: 'LMC_NATIVE_THREADS',
    summary: "the oneDNN addon's threads per call (other counts round the filter gradient differently)",
    valid: 'a whole number from 1 to 1024',
    // One thread per call whatever the core count: the filter gradient's sum over the batch depends
    // on the thread count in its last bits, so a fixed count keeps results identical with or without
    // LMC_WORKERS (bench/README.md, "Threads: 1 per call, fixed").
    fallback: 1,
    parse: wholeNumber(1, 1024),
  },
  residentData: {
    name: 'LMC_RESIDENT_DATA',
    summary: 'whether datasets are held on the device and batches gathered there',
    valid: 'auto, always or never (also 1/0, true/false)',
    unset: 'auto: on the native TensorFlow backends (GPU or CPU) only',
    fallback: 'auto' as ResidentPolicy,
    parse: oneOf<ResidentPolicy>(['auto', 'always', 'never'], {
      '1': 'always',
      true: 'always',
      '0': 'never',
      false: 'never',
    }),
  },
  residentMaxMb: {
    name: 'LMC_RESIDENT_MAX_MB',
    summary: 'largest split held on the device, in MiB of floats',
    valid: 'a decimal number of MiB from 0 to 1048576',
    fallback: 2048,
    parse: decimalAtLeast(0, 2 ** 20),
  },
  python: {
    name: 'LMC_PYTHON',
    summary: "the Python that makes the project's environment (.venv) for lmc lab, the kernel installer and the tests",
    valid: 'a Python 3.10 or newer with venv: a path or a command on PATH',
    fallback: 'python3',
    parse: (text) => text,
  },
  debug: {
    name: 'LMC_DEBUG',
    summary: "whether lmc prints an error's stack trace",
    valid: 'on or off (also 1/0, true/false, yes/no)',
    fallback: 'off' as const,
    parse: ON_OFF,
  },
  interruptGraceMs: {
    name: 'LMC_KERNEL_INTERRUPT_GRACE_MS',
    summary: 'how long an interrupted cell may take to stop at its next training step before the kernel abandons it',
    valid: 'a whole number of milliseconds from 0 to 600000',
    fallback: 10_000,
    parse: wholeNumber(0, 600_000),
  },
  textLimitMb: {
    name: 'LMC_KERNEL_TEXT_LIMIT_MB',
    summary:
      'text a cell may print (stdout and stderr together) before the kernel stops sending it; the rest is counted',
    valid: 'a decimal number of MiB from 0.001 to 1024',
    fallback: 1,
    parse: decimalAtLeast(0.001, 1024),
  },
  displayLimitMb: {
    name: 'LMC_KERNEL_DISPLAY_LIMIT_MB',
    summary:
      'largest single rich output (a figure, a table, a result) the kernel sends; a larger one is replaced by a note',
    valid: 'a decimal number of MiB from 0.001 to 1024',
    fallback: 64,
    parse: decimalAtLeast(0.001, 1024),
  },
} satisfies Record<string, Setting<unknown>>;

export type SettingKey = keyof typeof SETTINGS;
type ValueOf<K extends SettingKey> = NonNullable<ReturnType<(typeof SETTINGS)[K]['parse']>>;

/** The value of setting `key` in `env`, or undefined when unset or blank; throws a SettingError when malformed. */
export function readSetting<K extends SettingKey>(
  key: K,
  env: Record<string, string | undefined> = process.env,
): ValueOf<K> | undefined {
  const setting: Setting<unknown> = SETTINGS[key];
  const raw = env[setting.name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = setting.parse(raw.trim());
  if (value === undefined) {
    throw new SettingError(
      setting.name,
      raw,
      `the environment variable ${setting.name}=${visible(raw)}: give ${setting.valid} (or unset ` +
        `${setting.name}: ${unsetText(setting)})`,
    );
  }
  return value as ValueOf<K>;
}

/** The settings that have one value in effect when unset. */
export type SettingWithFallback = {
  [K in SettingKey]: (typeof SETTINGS)[K] extends { fallback: unknown } ? K : never;
}[SettingKey];

/** The value of setting `key` in `env`, or its fallback when unset or blank; throws a SettingError when malformed. */
export function settingOrDefault<K extends SettingWithFallback>(
  key: K,
  env: Record<string, string | undefined> = process.env,
): ValueOf<K> {
  return readSetting(key, env) ?? settingFallback(key);
}

/** The value setting `key` has when unset. */
export function settingFallback<K extends SettingWithFallback>(key: K): ValueOf<K> {
  return (SETTINGS[key] as unknown as { fallback: ValueOf<K> }).fallback;
}

/** One row of `lmc settings`. */
export interface SettingReport {
  name: string;
  /** The text in the environment, or null when unset. */
  value: string | null;
  /** What is in effect: the parsed value, or what unset means. */
  effect: string;
  /** The error when the value is malformed. */
  problem: string | null;
  summary: string;
  valid: string;
}

/** Every setting with its state in `env`. */
export function reportSettings(env: Record<string, string | undefined> = process.env): SettingReport[] {
  return (Object.keys(SETTINGS) as SettingKey[]).map((key) => {
    const setting: Setting<unknown> = SETTINGS[key];
    const raw = env[setting.name];
    const row = { name: setting.name, value: raw ?? null, summary: setting.summary, valid: setting.valid };
    try {
      const value = readSetting(key, env);
      return { ...row, effect: value === undefined ? `unset: ${unsetText(setting)}` : String(value), problem: null };
    } catch (err) {
      return { ...row, effect: 'invalid', problem: (err as Error).message };
    }
  });
}
