/**
 * The training config: a flat, typed record. Its canonical form leaves out every field at its
 * default value, so adding an option later never changes the identity of existing runs
 * (open_lth's rule). Validation names the field, the value and the fix.
 */
import { parseStep, formatStep, toIterations, type Step } from './step';
import type { ScheduleSpec } from './schedule';
import { iterationsPerEpoch } from '../data/order';
import type { OptimizerSpec } from './optimizers';
import { visible } from '../io/visible';
import { isPlainDecimal } from '../io/plain-number';
import { SCALES, type Scale } from '../settings';

export { SCALES, type Scale };

/** Everything that determines a training run. */
export interface TrainConfig {
  /** Registry name of the network, e.g. 'lenet_300_100'. */
  model: string;
  /** Registry name of the dataset, e.g. 'mnist'. */
  dataset: string;
  batchSize: number;
  /** Training length T: "24000it" or "90ep". */
  training: string;
  optimizer: 'sgd' | 'adam';
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: 'constant' | 'step' | 'linear-decay';
  /** 'step' schedule: where the rate is multiplied by `gamma`. */
  milestones: string[];
  gamma: number;
  /** Linear warmup length, "0it" for none. */
  warmup: string;
  /** 'linear-decay' schedule: the rate at the end of training. */
  finalLr: number;
  /** Training-time augmentation (crop + flip for CIFAR-10 and ImageNet). */
  augment: boolean;
  /** Seed of the initial weights W_0. */
  initSeed: number;
  /** Seed of the SGD noise: the data order of every epoch and the augmentation of every step. */
  dataOrderSeed: number;
  /** BatchNorm running-statistics momentum (PyTorch convention). */
  bnMomentum: number;
  /** Optimizer state when training from step k > 0: 'reset' (as open_lth does) or 'restore'. */
  optimizerStateAtK: 'reset' | 'restore';
  /** Evaluation batch size (evaluation only; no effect on training). */
  evalBatchSize: number;
  /** Evaluate on at most this many examples of each split (0: all). Used by the smoke scale. */
  evalExamples: number;
  /** Square image size for ImageNet models (224 in the paper; smaller for smoke runs). */
  imageSize: number;
}

/** Defaults for every optional field; these are left out of the canonical form. */
export const DEFAULTS: Omit<TrainConfig, 'model' | 'dataset' | 'batchSize' | 'training' | 'optimizer' | 'lr'> = {
  momentum: 0,
  weightDecay: 0,
  schedule: 'constant',
  milestones: [],
  gamma: 0.1,
  warmup: '0it',
  finalLr: 0,
  augment: false,
  initSeed: 0,
  dataOrderSeed: 0,
  bnMomentum: 0.1,
  optimizerStateAtK: 'reset',
  evalBatchSize: 1000,
  evalExamples: 0,
  imageSize: 224,
};

const FIELDS: readonly (keyof TrainConfig)[] = [
  'model',
  'dataset',
  'batchSize',
  'training',
  'optimizer',
  'lr',
  'momentum',
  'weightDecay',
  'schedule',
  'milestones',
  'gamma',
  'warmup',
  'finalLr',
  'augment',
  'initSeed',
  'dataOrderSeed',
  'bnMomentum',
  'optimizerStateAtK',
  'evalBatchSize',
  'evalExamples',
  'imageSize',
];

/**
 * Scales: 'paper' is Table 1 exactly; 'quick' keeps every hyperparameter
 * and shortens training; 'smoke' exercises every code path in seconds.
 */

/** Training length of each model at 'quick' scale (milestones and warmup shrink in proportion). */
const QUICK_LENGTH: Record<string, string> = {
  // 2000 iterations of batch 60 is about 15 epochs of the embedded 8,000 training digits.
  lenet_300_100: '2000it',
  resnet20: '2000it',
  vgg16: '1000it',
  resnet50: '2ep',
  inception_v3: '2ep',
};

/** Shortens a paper config to a scale, scaling milestones and warmup by the same factor as T. */
export function applyScale(config: TrainConfig, scale: Scale): TrainConfig {
  if (!SCALES.includes(scale)) {
    throw new Error(`scale: "${scale}" is not a scale; use one of ${SCALES.join(', ')} (--scale or LMC_SCALE)`);
  }
  if (scale === 'paper') return { ...config };
  const scaled = shortenTraining(
    config,
    scale === 'quick' ? (QUICK_LENGTH[config.model] ?? '1000it') : smokeLength(config),
    `scale ${scale}`,
  );
  if (scale === 'smoke') {
    // Smallest run that still reaches every code path: small batches for the convolutional
    // nets, small evaluation sets, small ImageNet images.
    scaled.batchSize = Math.min(config.batchSize, config.model === 'lenet_300_100' ? 60 : 8);
    scaled.evalExamples = 256;
    scaled.evalBatchSize = 128;
    // Inception-v3 trains its auxiliary head, which needs 299x299 inputs, at every scale.
    scaled.imageSize = config.model === 'inception_v3' ? config.imageSize : 32;
  }
  return scaled;
}

/**
 * `config` trained for `length` instead of its own T ("2000it" for "63000it"), with milestones and
 * warmup shrunk by the same factor, as the scales do; `who` names the caller in errors.
 */
export function shortenTraining(config: TrainConfig, length: string, who = 'shortenTraining'): TrainConfig {
  const total = parseStep(config.training, 'training');
  const target = parseStep(length, 'training');
  // Work in the units of the paper config, so "90ep" -> "2ep" keeps milestones in epochs.
  if (target.unit !== total.unit)
    throw new Error(
      `${who}: ${config.model} trains for ${config.training}; its shortened length ${length} must use the same unit`,
    );
  const factor = target.value / total.value;
  const shrink = (s: string): string => {
    const step = parseStep(s);
    // Zero is zero in any unit (the defaults' warmup '0it' beside a length in epochs).
    if (step.value === 0) return s;
    if (step.unit !== total.unit)
      throw new Error(`${who}: step ${s} must use the unit of training (${config.training}) to be scaled`);
    const value =
      step.unit === 'it'
        ? Math.max(step.value === 0 ? 0 : 1, Math.round(step.value * factor))
        : +(step.value * factor).toPrecision(3);
    return formatStep({ value, unit: step.unit });
  };
  return {
    ...config,
    training: formatStep(target),
    milestones: config.milestones.map(shrink),
    warmup: shrink(config.warmup),
  };
}

function smokeLength(config: TrainConfig): string {
  // ImageNet lengths are in epochs: 0.0001ep is 16 iterations of batch 8 on the full set, and
  // one iteration on the few images a test generates.
  return parseStep(config.training).unit === 'ep' ? '0.0001ep' : config.model === 'lenet_300_100' ? '40it' : '6it';
}

/** The canonical config string: fields in fixed order, defaults left out. */
export function canonicalConfig(config: TrainConfig): string {
  const out: Record<string, unknown> = {};
  for (const key of FIELDS) {
    const value = config[key];
    if (key in DEFAULTS && JSON.stringify(value) === JSON.stringify((DEFAULTS as Record<string, unknown>)[key]))
      continue;
    out[key] = value;
  }
  return JSON.stringify(out);
}

/** Checks every field; returns the config or throws naming the field, the value and the fix. */
export function validateConfig(config: TrainConfig): TrainConfig {
  const bad = (field: string, value: unknown, fix: string): never => {
    // `field` names the config field at fault (milestones[1] is
    // milestones), for callers that say where its value came from.
    throw Object.assign(new Error(`config: ${field} = ${JSON.stringify(value)} is invalid; ${fix}`), {
      field: field.replace(/\[.*$/, ''),
    });
  };
  for (const key of Object.keys(config)) {
    if (!FIELDS.includes(key as keyof TrainConfig))
      bad(key, (config as unknown as Record<string, unknown>)[key], `unknown key; valid keys are ${FIELDS.join(', ')}`);
  }
  for (const key of FIELDS) if (config[key] === undefined) bad(key, undefined, 'it is required');
  const positiveInt = (f: 'batchSize' | 'evalBatchSize' | 'imageSize') => {
    if (!Number.isSafeInteger(config[f]) || config[f] < 1) bad(f, config[f], 'it must be a whole number >= 1');
  };
  positiveInt('batchSize');
  positiveInt('evalBatchSize');
  positiveInt('imageSize');
  if (!Number.isSafeInteger(config.evalExamples) || config.evalExamples < 0)
    bad('evalExamples', config.evalExamples, 'use 0 (all) or a positive whole number');
  for (const f of ['initSeed', 'dataOrderSeed'] as const) {
    if (!Number.isSafeInteger(config[f]) || config[f] < 0)
      bad(f, config[f], 'seeds are whole numbers from 0 to 9007199254740991 (2^53 - 1)');
  }
  const finiteNonNeg = (f: 'lr' | 'momentum' | 'weightDecay' | 'finalLr' | 'gamma' | 'bnMomentum') => {
    if (typeof config[f] !== 'number' || !Number.isFinite(config[f]) || config[f] < 0)
      bad(f, config[f], 'it must be a finite number >= 0');
  };
  (['lr', 'momentum', 'weightDecay', 'finalLr', 'gamma', 'bnMomentum'] as const).forEach(finiteNonNeg);
  if (config.lr === 0) bad('lr', 0, 'a learning rate of 0 never trains; use a positive rate');
  if (config.momentum >= 1) bad('momentum', config.momentum, 'momentum must be below 1');
  if (config.bnMomentum > 1)
    bad('bnMomentum', config.bnMomentum, 'use a value in [0, 1] (PyTorch convention, 0.1 by default)');
  if (!['sgd', 'adam'].includes(config.optimizer)) bad('optimizer', config.optimizer, 'use "sgd" or "adam"');
  if (!['constant', 'step', 'linear-decay'].includes(config.schedule))
    bad('schedule', config.schedule, 'use "constant", "step" or "linear-decay"');
  if (!['reset', 'restore'].includes(config.optimizerStateAtK))
    bad('optimizerStateAtK', config.optimizerStateAtK, 'use "reset" or "restore"');
  if (typeof config.augment !== 'boolean') bad('augment', config.augment, 'use true or false');
  if (!Array.isArray(config.milestones))
    bad('milestones', config.milestones, 'give a list of steps such as ["32000it","48000it"]');
  for (const f of ['training', 'warmup'] as const) {
    try {
      parseStep(config[f], f);
    } catch (err) {
      bad(f, config[f], (err as Error).message.replace(/^[^:]*: /, ''));
    }
  }
  if (parseStep(config.training).value <= 0)
    bad('training', config.training, 'train for at least one iteration, e.g. "1000it"');
  config.milestones.forEach((m, i) => {
    try {
      parseStep(m, `milestones[${i}]`);
    } catch (err) {
      bad(`milestones[${i}]`, m, (err as Error).message.replace(/^[^:]*: /, ''));
    }
  });
  // Fixed field order, so printed configs read the same way every time.
  return Object.fromEntries(FIELDS.map((key) => [key, config[key]])) as unknown as TrainConfig;
}

/** Applies `key=value` overrides (from `--set`), parsing each value by the field's type. */
export function applySettings(config: TrainConfig, settings: readonly string[]): TrainConfig {
  const out: TrainConfig = { ...config, milestones: [...config.milestones] };
  /** The --set that gave each field its value (the last one wins). */
  const setBy = new Map<string, string>();
  for (const setting of settings) {
    const eq = setting.indexOf('=');
    if (eq <= 0) throw new Error(`--set "${setting}": write key=value, e.g. --set lr=0.01`);
    const key = setting.slice(0, eq).trim();
    const raw = setting.slice(eq + 1).trim();
    if (!FIELDS.includes(key as keyof TrainConfig)) {
      throw new Error(`--set ${visible(key)}: unknown key; valid keys are ${FIELDS.join(', ')}`);
    }
    const current = (config as unknown as Record<string, unknown>)[key];
    let value: unknown;
    if (typeof current === 'number') {
      if (!isPlainDecimal(raw))
        throw new Error(
          `--set ${key}=${JSON.stringify(raw)}: ${key} is a decimal number, e.g. --set ${key}=${current}`,
        );
      value = Number(raw);
    } else if (typeof current === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new Error(`--set ${key}=${raw}: ${key} is true or false`);
      value = raw === 'true';
    } else if (Array.isArray(current)) {
      value = raw === '' ? [] : raw.split(',').map((s) => s.trim());
    } else {
      value = raw;
    }
    (out as unknown as Record<string, unknown>)[key] = value;
    setBy.set(key, setting);
  }
  try {
    return validateConfig(out);
  } catch (e) {
    // Name the --set that brought the bad value, not just the field.
    const setting = setBy.get((e as { field?: string }).field ?? '');
    if (setting !== undefined) (e as Error).message = `--set ${setting}: ${(e as Error).message}`;
    throw e;
  }
}

/** A config resolved against its dataset: every step in iterations. */
export interface ResolvedSchedule {
  itersPerEpoch: number;
  totalIterations: number;
  schedule: ScheduleSpec;
  optimizer: OptimizerSpec;
}

/** Resolves steps to iterations for a training set of `trainSize` examples. */
export function resolveConfig(config: TrainConfig, trainSize: number): ResolvedSchedule {
  const itersPerEpoch = iterationsPerEpoch(trainSize, config.batchSize);
  const it = (s: string | Step) => toIterations(s, itersPerEpoch);
  // At least one update, so that a tiny fraction of an epoch on a tiny test set still trains.
  const totalIterations = Math.max(1, it(config.training));
  return {
    itersPerEpoch,
    totalIterations,
    schedule: {
      kind: config.schedule,
      lr: config.lr,
      milestones: config.milestones.map(it),
      gamma: config.gamma,
      warmup: it(config.warmup),
      finalLr: config.finalLr,
      total: totalIterations,
    },
    optimizer: {
      name: config.optimizer,
      momentum: config.momentum,
      weightDecay: config.weightDecay,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
    },
  };
}
