import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { clearDatasetCache, datasetNames, defaultDataDir, loadDataset } from '../lib/data/registry';
import * as data from '../lib/data';
import { tempDir, writeCifarDataset, writeIdxDataset } from './data-fixtures';

test('dataset names and unknown-name errors', () => {
  assert.deepEqual(datasetNames(), ['mnist', 'fashion-mnist', 'cifar10', 'imagenet']);
  assert.throws(() => loadDataset('cifar100'), /unknown dataset 'cifar100'; valid names: mnist, fashion-mnist, cifar10, imagenet/);
  assert.throws(() => loadDataset('toString'), /unknown dataset 'toString'/);
});

test('loads are cached per name and folder', () => {
  const dataDir = tempDir();
  writeIdxDataset(path.join(dataDir, 'mnist'), { train: 5, test: 3 });
  const a = loadDataset('mnist', { dataDir });
  assert.equal(a.description, 'MNIST');
  assert.equal(loadDataset('mnist', { dataDir: dataDir + path.sep }), a);
  const embedded = loadDataset('mnist', { dataDir: tempDir() });
  assert.equal(embedded.description, 'MNIST subset (10k digits)');
  assert.notEqual(embedded, a);
  clearDatasetCache();
  assert.notEqual(loadDataset('mnist', { dataDir }), a);
});

test('the data folder defaults to $LMC_DATA_DIR', () => {
  const dataDir = tempDir();
  writeCifarDataset(path.join(dataDir, 'cifar10'), 1, 2);
  const saved = process.env.LMC_DATA_DIR;
  try {
    process.env.LMC_DATA_DIR = dataDir;
    assert.equal(defaultDataDir(), dataDir);
    assert.equal(loadDataset('cifar10').source, path.join(dataDir, 'cifar10'));
    delete process.env.LMC_DATA_DIR;
    assert.match(defaultDataDir(), /\.lmc[/\\]data$/);
  } finally {
    if (saved === undefined) delete process.env.LMC_DATA_DIR;
    else process.env.LMC_DATA_DIR = saved;
  }
});

test('imageSize belongs to imagenet; fixed-size datasets accept only their own size', () => {
  const dataDir = tempDir();
  writeCifarDataset(path.join(dataDir, 'cifar10'), 1, 1);
  assert.equal(loadDataset('cifar10', { dataDir, imageSize: 32 }).imageShape[0], 32);
  assert.throws(() => loadDataset('cifar10', { dataDir, imageSize: 64 }), /fixed 32x32 images; imageSize 64 applies only to imagenet/);
  assert.throws(() => loadDataset('imagenet', { dataDir }), /imagenet: dataset not found/);
});

test('the index re-exports the public API', () => {
  for (const name of ['loadDataset', 'datasetNames', 'batchIndices', 'iterationsPerEpoch', 'augmentationStream', 'readIdxImages', 'loadCifar10', 'loadImagenet']) {
    assert.equal(typeof (data as Record<string, unknown>)[name], 'function', name);
  }
});
