/**
 * The nine rows of Table 1 of the paper, exactly as printed (lr, batch, length, schedule,
 * warmup, density, pruning style). Momentum 0.9 and weight decay 1e-4 for the CIFAR-10 and
 * ImageNet networks (He et al.); LeNet uses Adam without weight decay.
 */
import { applyScale, DEFAULTS, validateConfig, type Scale, type TrainConfig } from './config';
import { visible } from '../io/visible';

/** A preset: a training config plus the paper's facts about it. */
export interface Preset {
  readonly name: string;
  /** The row of Table 1, as the paper names it. */
  readonly title: string;
  /** Test accuracy the paper reports (mean, std over three initializations), in percent. */
  readonly paperAccuracy: readonly [number, number];
  /** Density the paper studies for this network (fraction of prunable weights remaining). */
  readonly targetDensity: number;
  /** How the paper prunes this network. */
  readonly pruning: 'iterative' | 'one-shot';
  /** Everything the trainer needs (without seeds; they default to 0). */
  readonly config: Readonly<Partial<TrainConfig>>;
}

const heMomentum: Partial<TrainConfig> = { optimizer: 'sgd', momentum: 0.9, weightDecay: 1e-4 };
const cifar: Partial<TrainConfig> = {
  dataset: 'cifar10',
  augment: true,
  ...heMomentum,
  training: '63000it',
  batchSize: 128,
  schedule: 'step',
  milestones: ['32000it', '48000it'],
  gamma: 0.1,
};
const imagenet: Partial<TrainConfig> = { dataset: 'imagenet', augment: true, batchSize: 1024, ...heMomentum };

const rows: Preset[] = [
  {
    name: 'lenet_mnist',
    title: 'Lenet (MNIST)',
    paperAccuracy: [98.3, 0.1],
    targetDensity: 0.035,
    pruning: 'iterative',
    config: {
      model: 'lenet_300_100',
      dataset: 'mnist',
      batchSize: 60,
      training: '24000it',
      optimizer: 'adam',
      lr: 12e-4,
      schedule: 'constant',
      augment: false,
    },
  },
  {
    name: 'resnet20_standard',
    title: 'Resnet-20 (standard)',
    paperAccuracy: [91.7, 0.1],
    targetDensity: 0.168,
    pruning: 'iterative',
    config: { model: 'resnet20', ...cifar, lr: 0.1 },
  },
  {
    name: 'resnet20_low',
    title: 'Resnet-20 (low)',
    paperAccuracy: [88.8, 0.1],
    targetDensity: 0.086,
    pruning: 'iterative',
    config: { model: 'resnet20', ...cifar, lr: 0.01 },
  },
  {
    name: 'resnet20_warmup',
    title: 'Resnet-20 (warmup)',
    paperAccuracy: [89.7, 0.3],
    targetDensity: 0.069,
    pruning: 'iterative',
    config: { model: 'resnet20', ...cifar, lr: 0.03, warmup: '30000it' },
  },
  {
    name: 'vgg16_standard',
    title: 'VGG-16 (standard)',
    paperAccuracy: [93.7, 0.1],
    targetDensity: 0.015,
    pruning: 'iterative',
    config: { model: 'vgg16', ...cifar, lr: 0.1 },
  },
  {
    name: 'vgg16_low',
    title: 'VGG-16 (low)',
    paperAccuracy: [91.7, 0.1],
    targetDensity: 0.055,
    pruning: 'iterative',
    config: { model: 'vgg16', ...cifar, lr: 0.01 },
  },
  {
    name: 'vgg16_warmup',
    title: 'VGG-16 (warmup)',
    paperAccuracy: [93.4, 0.1],
    targetDensity: 0.015,
    pruning: 'iterative',
    config: { model: 'vgg16', ...cifar, lr: 0.1, warmup: '30000it' },
  },
  {
    name: 'resnet50_imagenet',
    title: 'Resnet-50 (ImageNet)',
    paperAccuracy: [76.1, 0.1],
    targetDensity: 0.3,
    pruning: 'one-shot',
    config: {
      model: 'resnet50',
      ...imagenet,
      training: '90ep',
      lr: 0.4,
      schedule: 'step',
      milestones: ['30ep', '60ep', '80ep'],
      gamma: 0.1,
      warmup: '5ep',
    },
  },
  {
    name: 'inceptionv3_imagenet',
    title: 'Inception-v3 (ImageNet)',
    paperAccuracy: [78.1, 0.1],
    targetDensity: 0.3,
    pruning: 'one-shot',
    // 299x299 inputs, as Szegedy et al.: the auxiliary classifier, trained with the main loss, needs them.
    config: {
      model: 'inception_v3',
      ...imagenet,
      training: '171ep',
      lr: 0.03,
      schedule: 'linear-decay',
      finalLr: 0.005,
      imageSize: 299,
    },
  },
];

/** Every preset by name, in the order of Table 1. */
export const PRESETS: ReadonlyMap<string, Preset> = new Map(rows.map((p) => [p.name, p]));

/** The preset called `name`, or an error listing the valid names. */
export function getPreset(name: string): Preset {
  const preset = PRESETS.get(name);
  if (!preset) {
    throw new Error(`config: unknown preset ${visible(name)}; valid presets are ${[...PRESETS.keys()].join(', ')}`);
  }
  return preset;
}

/**
 * Rounds of pruning `fraction` per round whose density (1 - fraction)^n is nearest to `density`
 * in log space. Table 1 prints densities rounded (0.8^15 = 3.52% is "3.5%", 0.8^19 = 1.44% is
 * "1.5%"), so "rounds that reach it" means the nearest round, not the first one at or below it.
 */
export function roundsToDensity(density: number, fraction = 0.2): number {
  if (!(density > 0 && density <= 1)) throw new Error(`density ${density} must be in (0, 1]`);
  return Math.round(Math.log(density) / Math.log(1 - fraction));
}

/** Builds the config of a preset at a scale, with overrides applied last. */
export function presetConfig(name: string, scale: Scale = 'paper', overrides: Partial<TrainConfig> = {}): TrainConfig {
  const preset = getPreset(name).config;
  const base = { ...DEFAULTS, ...preset, milestones: [...(preset.milestones ?? DEFAULTS.milestones)] } as TrainConfig;
  return validateConfig({ ...applyScale(base, scale), ...overrides });
}

/** Names of every preset (for help texts). */
export function presetNames(): string[] {
  return [...PRESETS.keys()];
}
