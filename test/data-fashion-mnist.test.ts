import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DEBIAN_FASHION_MNIST_DIR, loadFashionMnist } from '../lib/data/fashion-mnist';
import { tempDir, writeIdxDataset } from './data-fixtures';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const debianInstalled = existsSync(path.join(DEBIAN_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));

// Parsing 70,000 images takes about a second: this is the only test that does it.
const missing = debianInstalled ? null : `${DEBIAN_FASHION_MNIST_DIR} absent (apt-get install dataset-fashion-mnist)`;

test('Debian Fashion-MNIST reads for real', { skip: skipWhenMissing(missing) }, () => {
  requireTools(missing);
  const ds = loadFashionMnist(tempDir());
  assert.equal(ds.name, 'fashion-mnist');
  assert.equal(ds.description, 'Fashion-MNIST');
  assert.equal(ds.source, DEBIAN_FASHION_MNIST_DIR);
  assert.deepEqual(ds.imageShape, [28, 28, 1]);
  assert.equal(ds.train.size, 60000);
  assert.equal(ds.test.size, 10000);
  const counts = (l: Int32Array) => l.reduce((c, v) => (c[v]++, c), new Array<number>(10).fill(0));
  assert.deepEqual(counts(ds.train.labels), new Array(10).fill(6000));
  assert.deepEqual(counts(ds.test.labels), new Array(10).fill(1000));
  // The published first labels: ankle boot, t-shirt, t-shirt, dress, t-shirt (train); ankle boot, pullover (test).
  assert.deepEqual(Array.from(ds.train.labels.subarray(0, 5)), [9, 0, 0, 3, 0]);
  assert.deepEqual(Array.from(ds.test.labels.subarray(0, 2)), [9, 2]);
  // The normalization constants are the training set's statistics: normalized mean ~0, std ~1.
  let sum = 0;
  let sq = 0;
  let count = 0;
  for (let start = 0; start < 60000; start += 10000) {
    const b = ds.train.read(
      Array.from({ length: 10000 }, (_, i) => start + i),
      { augment: false },
    );
    for (const v of b.x) {
      sum += v;
      sq += v * v;
    }
    count += b.x.length;
  }
  const mean = sum / count;
  const std = Math.sqrt(sq / count - mean * mean);
  assert.ok(Math.abs(mean) < 0.002, `normalized mean ${mean}`);
  assert.ok(Math.abs(std - 1) < 0.002, `normalized std ${std}`);
});

test('a Fashion-MNIST folder under the data dir wins over the system copy', () => {
  const dataDir = tempDir();
  writeIdxDataset(path.join(dataDir, 'fashion-mnist'), { train: 6, test: 4 });
  const ds = loadFashionMnist(dataDir);
  assert.equal(ds.source, path.join(dataDir, 'fashion-mnist'));
  assert.equal(ds.train.size, 6);
});

test('missing Fashion-MNIST names every path tried and how to get it', () => {
  const dataDir = tempDir();
  const system = path.join(dataDir, 'no-such-system-dir');
  assert.throws(
    () => loadFashionMnist(dataDir, [system]),
    (e: Error) =>
      e.message.includes(path.join(dataDir, 'fashion-mnist')) &&
      e.message.includes(system) &&
      e.message.includes('apt-get install dataset-fashion-mnist') &&
      e.message.includes('$LMC_DATA_DIR/fashion-mnist'),
  );
});

test(
  'LMC_SYSTEM_DATA=off leaves the system copy unread: only $LMC_DATA_DIR/fashion-mnist counts, and the error ' +
    'says so',
  () => {
    const dataDir = tempDir();
    const saved = process.env.LMC_SYSTEM_DATA;
    try {
      process.env.LMC_SYSTEM_DATA = 'off';
      assert.throws(
        () => loadFashionMnist(dataDir),
        (e: Error) =>
          e.name === 'DatasetMissingError' &&
          e.message.includes(`tried ${path.join(dataDir, 'fashion-mnist')}. `) &&
          e.message.includes(`LMC_SYSTEM_DATA is off, so ${DEBIAN_FASHION_MNIST_DIR} was not looked at`),
      );
      process.env.LMC_SYSTEM_DATA = 'maybe';
      assert.throws(() => loadFashionMnist(dataDir), /LMC_SYSTEM_DATA="maybe": give on or off/);
    } finally {
      if (saved === undefined) delete process.env.LMC_SYSTEM_DATA;
      else process.env.LMC_SYSTEM_DATA = saved;
    }
  },
);
