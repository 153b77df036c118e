import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import { CIFAR10_NORMALIZATION, CIFAR10_URL, loadCifar10, readCifarBatch } from '../lib/data/cifar10';
import { applyCropFlip, drawCropFlip } from '../lib/data/augment';
import { normalizationTable } from '../lib/data/in-memory';
import { augmentationStream } from '../lib/data/order';
import { allClose, cifarPixel, cifarRecord, scriptedRandom, tempDir, writeCifarDataset } from './data-fixtures';

const { mean, std } = CIFAR10_NORMALIZATION;
const norm = (v: number, c: number) => (v / 255 - mean[c]) / std[c];

function fixture(layout: 'flat' | 'tarball' = 'flat'): string {
  const dataDir = tempDir();
  const dir = layout === 'flat' ? path.join(dataDir, 'cifar10') : path.join(dataDir, 'cifar10', 'cifar-10-batches-bin');
  writeCifarDataset(dir, 3, 4);
  return dataDir;
}

test('CIFAR-10 binary batches: labels and HWC pixels exactly, normalization by channel', () => {
  const ds = loadCifar10(fixture());
  assert.equal(ds.name, 'cifar10');
  assert.deepEqual(ds.imageShape, [32, 32, 3]);
  assert.equal(ds.train.size, 15);
  assert.equal(ds.test.size, 4);
  assert.deepEqual(
    Array.from(ds.train.labels),
    Array.from({ length: 15 }, (_, k) => k % 10),
  );
  assert.deepEqual(Array.from(ds.test.labels), [0, 3, 6, 9]);
  const b = ds.train.read([7, 14], { augment: false });
  assert.deepEqual(b.shape, [2, 32, 32, 3]);
  assert.deepEqual(Array.from(b.y), [7, 4]);
  for (const [i, k] of [
    [0, 7],
    [1, 14],
  ]) {
    for (const [y, x] of [
      [0, 0],
      [5, 9],
      [31, 31],
    ]) {
      for (let c = 0; c < 3; c++) {
        const got = b.x[i * 3072 + (y * 32 + x) * 3 + c];
        assert.ok(Math.abs(got - norm(cifarPixel(k, y, x, c), c)) < 1e-6, `example ${k} (${y},${x},${c})`);
      }
    }
  }
  // By hand: record 0 pixel (0,0) is (0, 101, 202): red (0 - 0.4914) / 0.2470 = -1.98947...
  const t = ds.train.read([0], { augment: false }).x;
  assert.ok(Math.abs(t[0] - -1.9894737) < 1e-6);
  assert.ok(Math.abs(t[1] - (101 / 255 - 0.4822) / 0.2435) < 1e-6);
  assert.ok(Math.abs(t[2] - (202 / 255 - 0.4465) / 0.2616) < 1e-6);
  // The test split never augments.
  assert.deepEqual(
    ds.test.read([1], { augment: true, rng: augmentationStream(0, 0) }).x,
    ds.test.read([1], { augment: false }).x,
  );
});

test('CIFAR-10 accepts the cifar-10-batches-bin/ folder the tarball unpacks to', () => {
  const ds = loadCifar10(fixture('tarball'));
  assert.match(ds.source, /cifar-10-batches-bin$/);
  assert.equal(ds.train.size, 15);
});

test('CIFAR-10 file errors: truncated record, bad label, incomplete folder, missing dataset', () => {
  const dataDir = fixture();
  const dir = path.join(dataDir, 'cifar10');
  const f = path.join(dir, 'data_batch_3.bin');
  writeFileSync(f, Buffer.concat([cifarRecord(0, 1), cifarRecord(1, 2).subarray(0, 100)]));
  assert.throws(
    () => loadCifar10(dataDir),
    (e: Error) => e.message.startsWith(f) && /3173 bytes is not a whole number of 3073-byte records/.test(e.message),
  );
  writeFileSync(f, Buffer.concat([cifarRecord(0, 1), cifarRecord(1, 10)]));
  assert.throws(
    () => readCifarBatch(f),
    (e: Error) => e.message.startsWith(f) && e.message.includes('label 10 of record 1 is out of range'),
  );
  writeFileSync(f, Buffer.alloc(0));
  assert.throws(() => readCifarBatch(f), /0 bytes is not a whole number/);
  unlinkSync(f);
  assert.throws(() => loadCifar10(dataDir), new RegExp(`folder ${dir} is incomplete: missing data_batch_3\\.bin`));
  const empty = tempDir();
  assert.throws(
    () => loadCifar10(empty),
    (e: Error) =>
      e.message.includes(path.join(empty, 'cifar10')) &&
      e.message.includes(path.join(empty, 'cifar10', 'cifar-10-batches-bin')) &&
      e.message.includes('CIFAR-10 binary version') &&
      e.message.includes(CIFAR10_URL),
  );
});

test('pad-crop-flip by hand on a 3x3 one-channel image with padding 1', () => {
  // Image bytes 1..9; the normalization table is the identity on bytes (mean 0, std 1/255).
  const src = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const table = normalizationTable({ mean: [0], std: [1 / 255] }, 1);
  const run = (top: number, left: number, flip: boolean) => {
    const dst = new Float32Array(9);
    applyCropFlip({ top, left, flip }, 1, { height: 3, width: 3, channels: 1 }, table, src, 0, dst, 0);
    return Array.from(dst).map((v) => Math.round(v));
  };
  // Padded image (0 border):  0 0 0 0 0 / 0 1 2 3 0 / 0 4 5 6 0 / 0 7 8 9 0 / 0 0 0 0 0
  assert.deepEqual(run(1, 1, false), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(run(0, 0, false), [0, 0, 0, 0, 1, 2, 0, 4, 5]);
  assert.deepEqual(run(2, 2, false), [5, 6, 0, 8, 9, 0, 0, 0, 0]);
  assert.deepEqual(run(0, 2, true), [0, 0, 0, 0, 3, 2, 0, 6, 5]); // crop [[0,0,0],[2,3,0],[5,6,0]], mirrored
  assert.deepEqual(run(1, 1, true), [3, 2, 1, 6, 5, 4, 9, 8, 7]);
});

test('padding reads as black, (0 - mean) / std, not as 0', () => {
  const ds = loadCifar10(fixture());
  // Draws: top = int(9 * 0) = 0, left = 0, flip = (0.9 < 0.5) = false: the top-left 4x4 is padding.
  const b = ds.train.read([2], { augment: true, rng: scriptedRandom([0, 0, 0.9]) });
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(b.x[c] - norm(0, c)) < 1e-6);
  // Pixel (4, 4) of the crop is source (0, 0).
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(b.x[(4 * 32 + 4) * 3 + c] - norm(cifarPixel(2, 0, 0, c), c)) < 1e-6);
});

test('augmentation is a pure function of the stream, covers every offset and both flips', () => {
  const ds = loadCifar10(fixture());
  const indices = [0, 1, 2, 3, 4, 5, 6, 7];
  const a = ds.train.read(indices, { augment: true, rng: augmentationStream(3, 17) });
  const b = ds.train.read(indices, { augment: true, rng: augmentationStream(3, 17) });
  const c = ds.train.read(indices, { augment: true, rng: augmentationStream(3, 18) });
  assert.deepEqual(a.x, b.x);
  assert.ok(!allClose(a.x, c.x, 0));
  // The batch equals applying the drawn crops one example at a time in batch order.
  const rng = augmentationStream(3, 17);
  const table = normalizationTable(CIFAR10_NORMALIZATION, 3);
  const raw = readCifarBatch(path.join(ds.source, 'data_batch_1.bin'));
  for (let i = 0; i < 3; i++) {
    const dst = new Float32Array(3072);
    applyCropFlip(drawCropFlip(rng, 4), 4, { height: 32, width: 32, channels: 3 }, table, raw.pixels, i * 3072, dst, 0);
    assert.deepEqual(dst, a.x.subarray(i * 3072, (i + 1) * 3072));
  }
  const tops = new Set<number>();
  const lefts = new Set<number>();
  const flips = new Set<boolean>();
  const s = augmentationStream(0, 0);
  for (let i = 0; i < 2000; i++) {
    const cf = drawCropFlip(s, 4);
    tops.add(cf.top);
    lefts.add(cf.left);
    flips.add(cf.flip);
  }
  assert.deepEqual(
    [...tops].sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.deepEqual(
    [...lefts].sort((x, y) => x - y),
    [0, 1, 2, 3, 4, 5, 6, 7, 8],
  );
  assert.equal(flips.size, 2);
});
