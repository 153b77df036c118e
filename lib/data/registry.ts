/**
 * Datasets by name. Loading parses whole files (MNIST-style sets, CIFAR-10) or lists a folder
 * tree (ImageNet), so each (name, folder, size) is loaded once per process and shared.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Dataset } from './types';
import { loadMnist } from './mnist';
import { loadFashionMnist } from './fashion-mnist';
import { loadCifar10 } from './cifar10';
import { IMAGENET_DEFAULT_SIZE, loadImagenet } from './imagenet';
import { visible } from '../io/visible';
import { readSetting, settingOrDefault } from '../settings';

/** Options of loadDataset. */
export interface LoadOptions {
  /** Root of the dataset folders; default $LMC_DATA_DIR, else ~/.lmc/data. */
  dataDir?: string;
  /** ImageNet crop side (default 224); the fixed-size datasets accept only their own size. */
  imageSize?: number;
}

interface Entry {
  /** Native side for fixed-size datasets; undefined where imageSize is a choice. */
  nativeSize?: number;
  load(dataDir: string, imageSize: number | undefined): Dataset;
}

const DATASETS: Record<string, Entry> = {
  mnist: { nativeSize: 28, load: (dir) => loadMnist(dir) },
  'fashion-mnist': { nativeSize: 28, load: (dir) => loadFashionMnist(dir) },
  cifar10: { nativeSize: 32, load: (dir) => loadCifar10(dir) },
  imagenet: { load: (dir, imageSize) => loadImagenet(dir, { imageSize }) },
};

const loaded = new Map<string, Dataset>();

/** The names loadDataset accepts. */
export function datasetNames(): string[] {
  return Object.keys(DATASETS);
}

/** The data folder used when none is given: $LMC_DATA_DIR, else ~/.lmc/data. */
export function defaultDataDir(): string {
  return readSetting('dataDir') ?? path.join(os.homedir(), '.lmc', 'data');
}

/** How a dataset was loaded: enough for another thread to load the same one. */
export interface DatasetOrigin {
  name: string;
  dataDir: string;
  imageSize?: number;
}

const origins = new WeakMap<Dataset, DatasetOrigin>();

/** How `dataset` was loaded by loadDataset, or undefined for a dataset built some other way. */
export function datasetOrigin(dataset: Dataset): DatasetOrigin | undefined {
  return origins.get(dataset);
}

/** The dataset called `name`, loaded once per (name, resolved folder, image size). */
export function loadDataset(name: string, options: LoadOptions = {}): Dataset {
  const entry = Object.prototype.hasOwnProperty.call(DATASETS, name) ? DATASETS[name] : undefined;
  if (!entry) throw new Error(`unknown dataset ${visible(name)}; valid names: ${datasetNames().join(', ')}`);
  const dataDir = path.resolve(options.dataDir ?? defaultDataDir());
  let imageSize = options.imageSize;
  if (entry.nativeSize !== undefined) {
    // Silently ignoring a size would let a config claim an experiment it did not run.
    if (imageSize !== undefined && imageSize !== entry.nativeSize) {
      throw new Error(
        `dataset '${name}' has fixed ${entry.nativeSize}x${entry.nativeSize} images; ` +
          `imageSize ${imageSize} applies only to imagenet`,
      );
    }
    imageSize = undefined;
  } else {
    imageSize ??= IMAGENET_DEFAULT_SIZE;
  }
  // Where a system package's copy counts (LMC_SYSTEM_DATA) decides which files load.
  const key = JSON.stringify([name, dataDir, imageSize ?? null, settingOrDefault('systemData')]);
  let dataset = loaded.get(key);
  if (!dataset) {
    dataset = entry.load(dataDir, imageSize);
    loaded.set(key, dataset);
    origins.set(dataset, { name, dataDir, imageSize });
  }
  return dataset;
}

/** Forgets every loaded dataset (tests, or to re-read files that changed on disk). */
export function clearDatasetCache(): void {
  loaded.clear();
}
