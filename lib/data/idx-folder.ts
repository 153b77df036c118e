/**
 * A folder holding the four files of an MNIST-style dataset in IDX form, each raw or gzipped,
 * under LeCun's original names (Fashion-MNIST, and Debian's dataset-fashion-mnist, keep them).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Dataset } from './types';
import { readIdxImages, readIdxLabels } from './idx';
import { inMemorySplit, type Normalization } from './in-memory';

/** LeCun's file names, without the optional .gz. */
export const IDX_FILE_NAMES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

type IdxRole = keyof typeof IDX_FILE_NAMES;

/** The four files found in `dir` (raw preferred over .gz: no inflate), and the names not found. */
export function findIdxFiles(dir: string): { files: Partial<Record<IdxRole, string>>; missing: string[] } {
  const files: Partial<Record<IdxRole, string>> = {};
  const missing: string[] = [];
  for (const role of Object.keys(IDX_FILE_NAMES) as IdxRole[]) {
    const base = path.join(dir, IDX_FILE_NAMES[role]);
    const found = [base, base + '.gz'].find((f) => existsSync(f));
    if (found) files[role] = found;
    else missing.push(`${IDX_FILE_NAMES[role]}[.gz]`);
  }
  return { files, missing };
}

/** What distinguishes one IDX dataset from another. */
export interface IdxDatasetSpec {
  name: string;
  description: string;
  numClasses: number;
  normalization: Normalization;
}

/** Reads the four IDX files of `dir`; a missing file is an error naming it. */
export function readIdxDataset(dir: string, spec: IdxDatasetSpec): Dataset {
  const { files, missing } = findIdxFiles(dir);
  if (missing.length > 0) {
    throw new Error(
      `${spec.name}: folder ${dir} is incomplete: missing ${missing.join(', ')}. ` +
        `Put all four IDX files there (raw or .gz), or remove the folder.`,
    );
  }
  const f = files as Record<IdxRole, string>;
  const train = readIdxImages(f.trainImages);
  const test = readIdxImages(f.testImages);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new Error(
      `${spec.name}: train images are ${train.rows}x${train.cols} but test images are ${test.rows}x${test.cols} ` +
        `(${f.trainImages}, ${f.testImages})`,
    );
  }
  const trainLabels = readIdxLabels(f.trainLabels, spec.numClasses);
  const testLabels = readIdxLabels(f.testLabels, spec.numClasses);
  for (const [images, labels, imagesFile, labelsFile] of [
    [train, trainLabels, f.trainImages, f.trainLabels],
    [test, testLabels, f.testImages, f.testLabels],
  ] as const) {
    if (images.count !== labels.length) {
      throw new Error(
        `${spec.name}: ${imagesFile} holds ${images.count} images but ${labelsFile} holds ${labels.length} labels`,
      );
    }
  }
  const layout = { height: train.rows, width: train.cols, channels: 1 };
  return {
    name: spec.name,
    description: spec.description,
    source: dir,
    numClasses: spec.numClasses,
    imageShape: [layout.height, layout.width, 1],
    train: inMemorySplit({
      name: `${spec.name} train`,
      pixels: train.pixels,
      labels: trainLabels,
      ...layout,
      normalization: spec.normalization,
    }),
    test: inMemorySplit({
      name: `${spec.name} test`,
      pixels: test.pixels,
      labels: testLabels,
      ...layout,
      normalization: spec.normalization,
    }),
  };
}
