import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, unlinkSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readIdxImages, readIdxLabels } from '../lib/data/idx';
import { loadMnist, MNIST_NORMALIZATION } from '../lib/data/mnist';
import { loadFashionMnist } from '../lib/data/fashion-mnist';
import { fixturePixel, idxBytes, tempDir, writeIdxDataset } from './data-fixtures';

test('IDX images and labels read back byte for byte, raw and gzipped', () => {
  const dir = tempDir();
  const pixels = Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 29) % 256);
  const images = idxBytes(0x803, [3, 2, 4], pixels);
  const labels = idxBytes(0x801, [3], [7, 0, 9]);
  writeFileSync(path.join(dir, 'img'), images);
  writeFileSync(path.join(dir, 'img.gz'), gzipSync(images));
  // Detection is by content: a gzipped file without .gz and a raw one with .gz both read.
  writeFileSync(path.join(dir, 'lab-gz-no-suffix'), gzipSync(labels));
  writeFileSync(path.join(dir, 'lab.gz'), labels);
  for (const f of ['img', 'img.gz']) {
    const r = readIdxImages(path.join(dir, f));
    assert.deepEqual([r.count, r.rows, r.cols], [3, 2, 4]);
    assert.deepEqual(Array.from(r.pixels), pixels);
  }
  for (const f of ['lab-gz-no-suffix', 'lab.gz'])
    assert.deepEqual(Array.from(readIdxLabels(path.join(dir, f), 10)), [7, 0, 9]);
});

test('IDX errors name the file and the problem', () => {
  const dir = tempDir();
  const file = (name: string, bytes: Buffer) => {
    const f = path.join(dir, name);
    writeFileSync(f, bytes);
    return f;
  };
  const full = idxBytes(0x803, [5, 28, 28], new Uint8Array(5 * 784));
  const truncated = file('train-images-idx3-ubyte', full.subarray(0, 1000));
  assert.throws(
    () => readIdxImages(truncated),
    (e: Error) =>
      e.message.startsWith(truncated) &&
      /expected 3936 bytes for 5x28x28 images, found 1000 \(truncated\?\)/.test(e.message),
  );
  const truncatedGz = file('t.gz', gzipSync(full.subarray(0, 1000)));
  assert.throws(
    () => readIdxImages(truncatedGz),
    /t\.gz: expected 3936 bytes after decompression for 5x28x28 images, found 1000/,
  );
  const cutGzip = file('cut.gz', gzipSync(full).subarray(0, 20));
  assert.throws(() => readIdxImages(cutGzip), /cut\.gz: corrupt or truncated gzip data/);
  const trailing = file('trailing', Buffer.concat([full, Buffer.from([1, 2])]));
  assert.throws(() => readIdxImages(trailing), /trailing: expected 3936 bytes .* found 3938 \(trailing bytes/);
  const tiny = file('tiny', Buffer.from([0, 0, 8]));
  assert.throws(() => readIdxImages(tiny), /tiny: 3 bytes is too short for an IDX images header \(16 bytes\)/);
  const headerOnly = file('header-only', Buffer.from([0, 0, 8, 3, 0, 0, 0, 5]));
  assert.throws(
    () => readIdxImages(headerOnly),
    /header-only: 8 bytes is too short for an IDX images header \(16 bytes\); truncated\?/,
  );
  const badMagic = file('bad', idxBytes(0x0802, [5, 28], new Uint8Array(140)));
  assert.throws(
    () => readIdxImages(badMagic),
    /bad: bad IDX magic number 0x00000802, expected 0x00000803 \(unsigned-byte images\); not an IDX file\?/,
  );
  const labels = file('labels', idxBytes(0x801, [4], [1, 2, 3, 4]));
  assert.throws(() => readIdxImages(labels), /labels: bad IDX magic .* images and labels files swapped\?/);
  const outOfRange = file('oor', idxBytes(0x801, [5], [1, 2, 10, 3, 200]));
  assert.throws(() => readIdxLabels(outOfRange, 10), /oor: label 10 at index 2 is out of range for 10 classes/);
  assert.throws(
    () => readIdxLabels(path.join(dir, 'nope'), 10),
    (e: Error) => e.message.startsWith(path.join(dir, 'nope') + ': cannot read'),
  );
});

test('MNIST from an IDX folder: full dataset, exact pixels and normalization', () => {
  const dataDir = tempDir();
  writeIdxDataset(path.join(dataDir, 'mnist'), { train: 12, test: 5 }, { gzip: true });
  const ds = loadMnist(dataDir);
  assert.equal(ds.description, 'MNIST');
  assert.equal(ds.source, path.join(dataDir, 'mnist'));
  assert.deepEqual(ds.imageShape, [28, 28, 1]);
  assert.equal(ds.train.size, 12);
  assert.equal(ds.test.size, 5);
  assert.deepEqual(
    Array.from(ds.train.labels),
    Array.from({ length: 12 }, (_, k) => k % 10),
  );
  const batch = ds.train.read([11, 3], { augment: false });
  assert.deepEqual(batch.shape, [2, 28, 28, 1]);
  assert.deepEqual(Array.from(batch.y), [1, 3]);
  const { mean, std } = MNIST_NORMALIZATION;
  for (const p of [0, 1, 400, 783]) {
    assert.ok(Math.abs(batch.x[p] - (fixturePixel(11, p) / 255 - mean[0]) / std[0]) < 1e-6);
    assert.ok(Math.abs(batch.x[784 + p] - (fixturePixel(3, p) / 255 - mean[0]) / std[0]) < 1e-6);
  }
  // Known pixels by hand: fixturePixel(0, 93) = 255 -> (1 - 0.1307) / 0.3081; fixturePixel(0, 0) = 0.
  const first = ds.train.read([0], { augment: false }).x;
  assert.equal(fixturePixel(0, 93), 255);
  assert.ok(Math.abs(first[93] - 2.8214865) < 1e-6);
  assert.ok(Math.abs(first[0] - -0.4242129) < 1e-6);
  // MNIST has no training augmentation: augmented reads are the plain pixels.
  assert.deepEqual(
    ds.test.read([4], { augment: true, rng: { uniform: () => 0.5, int: () => 0, normal: () => 0 } }).x,
    ds.test.read([4], { augment: false }).x,
  );
});

test('a partial MNIST folder is an error naming the missing files, not a fallback', () => {
  const dataDir = tempDir();
  const dir = path.join(dataDir, 'mnist');
  writeIdxDataset(dir, { train: 3, test: 2 });
  unlinkSync(path.join(dir, 't10k-labels-idx1-ubyte'));
  assert.throws(
    () => loadMnist(dataDir),
    (e: Error) => e.message.includes(`folder ${dir} is incomplete: missing t10k-labels-idx1-ubyte[.gz]`),
  );
  mkdirSync(path.join(dataDir, 'empty', 'mnist'), { recursive: true });
  assert.throws(
    () => loadMnist(path.join(dataDir, 'empty')),
    /missing train-images-idx3-ubyte\[\.gz\], train-labels-idx1-ubyte\[\.gz\], t10k-images/,
  );
});

test('images and labels of different lengths are an error naming both files', () => {
  const dataDir = tempDir();
  const dir = path.join(dataDir, 'mnist');
  writeIdxDataset(dir, { train: 4, test: 2 });
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), idxBytes(0x801, [3], [1, 2, 3]));
  assert.throws(
    () => loadMnist(dataDir),
    /train-images-idx3-ubyte holds 4 images but .*train-labels-idx1-ubyte holds 3 labels/,
  );
});

test('a label out of range in a dataset folder names the file and index', () => {
  const dataDir = tempDir();
  const dir = path.join(dataDir, 'fashion-mnist');
  writeIdxDataset(dir, { train: 4, test: 3 }, { gzip: true, labelOf: (k) => (k === 2 ? 12 : k) });
  assert.throws(
    () => loadFashionMnist(dataDir, []),
    (e: Error) =>
      e.message.startsWith(path.join(dir, 'train-labels-idx1-ubyte.gz')) && e.message.includes('label 12 at index 2'),
  );
});
