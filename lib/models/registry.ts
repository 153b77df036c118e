/**
 * The model registry: names map to factories and to what each network is for (default input,
 * classes, the dataset it is trained on in the paper), plus counting helpers.
 */
import { createInceptionV3 } from './inception-v3';
import { createLenet300100 } from './lenet';
import { createResnet20 } from './resnet-cifar';
import { createResnet50 } from './resnet50';
import { createVgg16 } from './vgg-cifar';
import type { Model, ModelFactory, ModelOptions } from './types';
import { visible } from '../io/visible';

/** What a registered network is: its defaults and the dataset it pairs with in Table 1. */
export interface ModelSpec {
  readonly name: string;
  /** Default input [height, width, channels]. */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /** Registry name of the dataset it is trained on in the paper. */
  readonly dataset: 'mnist' | 'cifar10' | 'imagenet';
  /** Human-readable name as the paper writes it. */
  readonly title: string;
  readonly create: ModelFactory;
}

const SPECS: readonly ModelSpec[] = [
  {
    name: 'lenet_300_100',
    title: 'Lenet',
    inputShape: [28, 28, 1],
    numClasses: 10,
    dataset: 'mnist',
    create: createLenet300100,
  },
  {
    name: 'resnet20',
    title: 'Resnet-20',
    inputShape: [32, 32, 3],
    numClasses: 10,
    dataset: 'cifar10',
    create: createResnet20,
  },
  { name: 'vgg16', title: 'VGG-16', inputShape: [32, 32, 3], numClasses: 10, dataset: 'cifar10', create: createVgg16 },
  {
    name: 'resnet50',
    title: 'Resnet-50',
    inputShape: [224, 224, 3],
    numClasses: 1000,
    dataset: 'imagenet',
    create: createResnet50,
  },
  {
    name: 'inception_v3',
    title: 'Inception-v3',
    inputShape: [299, 299, 3],
    numClasses: 1000,
    dataset: 'imagenet',
    create: createInceptionV3,
  },
];

/** Names of every registered model, in the order of Table 1. */
export function modelNames(): string[] {
  return SPECS.map((s) => s.name);
}

/** The spec registered under `name`; throws listing the valid names if there is none. */
export function modelSpec(name: string): ModelSpec {
  const spec = SPECS.find((s) => s.name === name);
  if (!spec) throw new Error(`models: unknown model ${visible(name)}; valid names are ${modelNames().join(', ')}`);
  return spec;
}

/** Creates the named model with weights from stream('init', options.seed). */
export function createModel(name: string, options: ModelOptions): Model {
  return modelSpec(name).create(options);
}

/** Number of trainable scalars (what papers usually report). */
export function countParameters(model: Model): number {
  let n = 0;
  for (const v of model.params.values()) n += v.size;
  return n;
}

/**
 * Trainable scalars plus buffers (BatchNorm running statistics):
 * PyTorch's state_dict count without num_batches_tracked.
 */
export function countState(model: Model): number {
  let n = countParameters(model);
  for (const v of model.buffers.values()) n += v.size;
  return n;
}

/** Names of the prunable parameters (conv and dense kernels), in architecture order. */
export function prunableNames(model: Model): string[] {
  return [...model.info.values()].filter((i) => i.prunable).map((i) => i.name);
}
