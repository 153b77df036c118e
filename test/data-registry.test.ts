import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { symlinkSync, writeFileSync } from 'node:fs';
import { isDatasetMissing } from '../lib/data/missing';
import { clearDatasetCache, datasetNames, defaultDataDir, loadDataset } from '../lib/data/registry';
import * as data from '../lib/data';
import { tempDir, writeCifarDataset, writeIdxDataset } from './data-fixtures';

test('dataset names and unknown-name errors', () => {
  assert.deepEqual(datasetNames(), ['mnist', 'fashion-mnist', 'cifar10', 'imagenet']);
  assert.throws(
    () => loadDataset('cifar100'),
    /unknown dataset "cifar100"; valid names: mnist, fashion-mnist, cifar10, imagenet/,
  );
  assert.throws(() => loadDataset('toString'), /unknown dataset "toString"/);
  // A zero-width space copied along with a name is shown, not hidden.
  assert.throws(() => loadDataset('mnist\u200b'), /unknown dataset "mnist\\u\{200b\}"/);
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
  assert.throws(
    () => loadDataset('cifar10', { dataDir, imageSize: 64 }),
    /fixed 32x32 images; imageSize 64 applies only to imagenet/,
  );
  assert.throws(() => loadDataset('imagenet', { dataDir }), /imagenet: dataset not found/);
});

test('the index re-exports the public API', () => {
  for (const name of [
    'loadDataset',
    'datasetNames',
    'batchIndices',
    'iterationsPerEpoch',
    'augmentationStream',
    'readIdxImages',
    'loadCifar10',
    'loadImagenet',
  ]) {
    assert.equal(typeof (data as Record<string, unknown>)[name], 'function', name);
  }
});

test('a dataset folder that is a dangling link, link loop or file is named as such, not taken for absent data', () => {
  const cases: [string, (at: string, dataDir: string) => void, RegExp][] = [
    [
      'mnist',
      (at, dataDir) => symlinkSync(path.join(dataDir, 'gone'), at),
      /mnist: .*mnist is a symbolic link to .*gone, which does not exist \(a dangling link\)/,
    ],
    ['mnist', (at) => symlinkSync(at, at), /mnist: .*mnist is a symbolic link loop/],
    [
      'fashion-mnist',
      (at) => writeFileSync(at, 'not a folder'),
      /fashion-mnist: .*fashion-mnist is a file, not a folder/,
    ],
    [
      'cifar10',
      (at, dataDir) => symlinkSync(path.join(dataDir, 'elsewhere'), at),
      /cifar10: .*cifar10 is a symbolic link to .*elsewhere, which does not exist/,
    ],
  ];
  for (const [name, make, message] of cases) {
    const dataDir = tempDir();
    make(path.join(dataDir, name), dataDir);
    assert.throws(() => loadDataset(name, { dataDir }), message, name);
    assert.throws(
      () => loadDataset(name, { dataDir }),
      (e: Error) => !isDatasetMissing(e),
      `${name}: a broken path is not "missing"`,
    );
  }
  // Under a regular file: the data folder itself cannot exist.
  const file = path.join(tempDir(), 'plain-file');
  writeFileSync(file, 'x');
  assert.throws(() => loadDataset('mnist', { dataDir: file }), /a part of that path is a file, not a folder/);
});
