import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, renameSync, utimesSync } from 'node:fs';
import * as path from 'node:path';
import { decodeJpegFile, IMAGENET_NORMALIZATION, loadImagenet } from '../lib/data/imagenet';
import { resizeBilinear } from '../lib/data/resize';
import { centerCropBox, randomResizedCropBox, resizeShorterSide, roundHalfEven } from '../lib/data/crops';
import { augmentationStream } from '../lib/data/order';
import { stream } from '../lib/rng';
import { datasetFingerprint } from '../lib/experiments/fingerprint';
import { CMYK_JPEG_BASE64, GRAY_JPEG_BASE64, jpegOf, scriptedRandom, tempDir } from './data-fixtures';

const { mean, std } = IMAGENET_NORMALIZATION;
const norm = (v: number, c: number) => (v / 255 - mean[c]) / std[c];
const colorful = (x: number, y: number): [number, number, number] => [
  (x * 16 + 8) % 256,
  (y * 16 + 8) % 256,
  ((x + y) * 8) % 256,
];

/** An ImageFolder tree: 3 classes (created out of order), varied sizes and extensions. */
function imageTree(): string {
  const dataDir = tempDir();
  const root = path.join(dataDir, 'imagenet');
  const put = (rel: string, bytes: Buffer) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), bytes);
  };
  put('train/n03/b.jpg', jpegOf(32, 16, colorful));
  put('train/n01/z.JPEG', jpegOf(16, 16, colorful));
  put('train/n01/a.jpeg', jpegOf(40, 24, colorful));
  put('train/n01/notes.txt', Buffer.from('not an image'));
  put('train/n02/.hidden.JPEG', Buffer.from('ignored'));
  put('train/n02/c.JPEG', jpegOf(24, 40, colorful));
  put('val/n01/v.JPEG', jpegOf(16, 16, colorful));
  put('val/n02/gray.JPEG', Buffer.from(GRAY_JPEG_BASE64, 'base64'));
  put('val/n03/cmyk.JPEG', Buffer.from(CMYK_JPEG_BASE64, 'base64'));
  return dataDir;
}

test('ImageFolder layout: sorted classes, sorted files, only JPEG extensions', () => {
  const dataDir = imageTree();
  const ds = loadImagenet(dataDir, { imageSize: 14 });
  assert.equal(ds.numClasses, 3);
  assert.deepEqual(ds.imageShape, [14, 14, 3]);
  assert.equal(ds.description, 'ImageNet (14x14)');
  assert.equal(ds.train.size, 4);
  assert.deepEqual(Array.from(ds.train.labels), [0, 0, 1, 2]); // n01/a.jpeg, n01/z.JPEG, n02/c.JPEG, n03/b.jpg
  assert.deepEqual(Array.from(ds.test.labels), [0, 1, 2]);
  assert.equal(loadImagenet(dataDir).description, 'ImageNet');
});

test('the fingerprint follows every file: a rewritten image or touched mtime changes it, no change keeps it', () => {
  const dataDir = imageTree();
  const fingerprint = () => datasetFingerprint(loadImagenet(dataDir, { imageSize: 14 }));
  const first = fingerprint();
  assert.equal(fingerprint(), first, 'the same tree loaded twice');
  const file = path.join(dataDir, 'imagenet', 'val', 'n01', 'v.JPEG');
  writeFileSync(
    file,
    jpegOf(16, 16, (x, y) => (x === 3 && y === 3 ? [0, 0, 0] : colorful(x, y))),
  );
  const rewritten = fingerprint();
  assert.notEqual(rewritten, first, 'one pixel of one validation image changed');
  utimesSync(file, new Date(2020, 0, 1), new Date(2020, 0, 1));
  assert.notEqual(fingerprint(), rewritten, 'its modification time changed');
});

test('evaluation: resize shorter side to round(size*256/224), center crop, exact where resize is the identity', () => {
  const dataDir = imageTree();
  const root = path.join(dataDir, 'imagenet');
  // imageSize 14 -> resize to 16: a 16x16 image is unchanged and cropped at (1, 1);
  // a 32x16 one stays 32x16 and is cropped at left round(18 / 2) = 9, top 1.
  const ds = loadImagenet(dataDir, { imageSize: 14 });
  const b = ds.train.read([1, 3], { augment: false });
  assert.deepEqual(b.shape, [2, 14, 14, 3]);
  assert.deepEqual(Array.from(b.y), [0, 2]);
  for (const [i, file, top, left] of [
    [0, 'train/n01/z.JPEG', 1, 1],
    [1, 'train/n03/b.jpg', 1, 9],
  ] as const) {
    const img = decodeJpegFile(path.join(root, file));
    for (let r = 0; r < 14; r++) {
      for (let c = 0; c < 14; c++) {
        for (let ch = 0; ch < 3; ch++) {
          const want = norm(img.data[((r + top) * img.width + c + left) * 3 + ch], ch);
          assert.ok(Math.abs(b.x[i * 588 + (r * 14 + c) * 3 + ch] - want) < 1e-5, `${file} (${r},${c},${ch})`);
        }
      }
    }
  }
});

test('grayscale and CMYK JPEGs become RGB', () => {
  const ds = loadImagenet(imageTree(), { imageSize: 14 });
  const b = ds.test.read([1, 2], { augment: false });
  for (let p = 0; p < 196; p++) {
    for (let ch = 0; ch < 3; ch++) {
      assert.ok(Math.abs(b.x[p * 3 + ch] - norm(100, ch)) < 1e-5, 'gray 100 on every channel');
      assert.ok(Math.abs(b.x[588 + p * 3 + ch] - norm(ch === 0 ? 255 : 0, ch)) < 1e-5, 'CMYK (0,255,255,0) is red');
    }
  }
});

test('training: random-resized crop and flip by hand on a scripted stream', () => {
  const dataDir = imageTree();
  const ds = loadImagenet(dataDir, { imageSize: 14 });
  // 16x16 image; area fraction 0.08 + u * 0.92 = 196/256 and ratio exp(mid) = 1 give a 14x14 box;
  // top = int(0.5 * 3) = 1, left = int(0.9 * 3) = 2; flip since 0.1 < 0.5.
  const u = (196 / 256 - 0.08) / 0.92;
  const b = ds.train.read([1], { augment: true, rng: scriptedRandom([u, 0.5, 0.5, 0.9, 0.1]) });
  const img = decodeJpegFile(path.join(dataDir, 'imagenet/train/n01/z.JPEG'));
  for (let r = 0; r < 14; r++) {
    for (let c = 0; c < 14; c++) {
      for (let ch = 0; ch < 3; ch++) {
        const want = norm(img.data[((1 + r) * 16 + 2 + 13 - c) * 3 + ch], ch);
        assert.ok(Math.abs(b.x[(r * 14 + c) * 3 + ch] - want) < 1e-4, `(${r},${c},${ch})`);
      }
    }
  }
  // Same stream, same batch; another step, another batch.
  const again = () => ds.train.read([0, 1, 2, 3], { augment: true, rng: augmentationStream(1, 5) });
  assert.deepEqual(again().x, again().x);
  assert.notDeepEqual(again().x, ds.train.read([0, 1, 2, 3], { augment: true, rng: augmentationStream(1, 6) }).x);
});

test('RandomResizedCrop boxes stay in range; the fallback is the centered in-ratio crop', () => {
  const rng = stream('test-rrc', 0);
  for (let i = 0; i < 500; i++) {
    const box = randomResizedCropBox(rng, 500, 375);
    assert.ok(box.left >= 0 && box.top >= 0 && box.left + box.width <= 500 && box.top + box.height <= 375);
    const area = (box.width * box.height) / (500 * 375);
    assert.ok(area > 0.07 && area <= 1, `area fraction ${area}`);
    const ratio = box.width / box.height;
    assert.ok(ratio > 0.7 && ratio < 1.4, `ratio ${ratio}`);
  }
  // A 1-pixel-wide image never fits a sampled box: fall back to width 1, height round(1 / (3/4)) = 1, centered.
  assert.deepEqual(randomResizedCropBox(stream('test-rrc', 1), 1, 100), { left: 0, top: 49, width: 1, height: 1 });
  // Too wide: height kept, width round(10 * 4/3) = 13, centered.
  assert.deepEqual(randomResizedCropBox(stream('test-rrc', 2), 1000, 10), { left: 493, top: 0, width: 13, height: 10 });
});

test('torchvision geometry: Python rounding, shorter-side resize, center crop', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 3.5, -1.5, 2.4, 2.6].map(roundHalfEven), [0, 2, 2, 4, -2, 2, 3]);
  assert.deepEqual(resizeShorterSide(500, 375, 256), { width: 341, height: 256 });
  assert.deepEqual(resizeShorterSide(375, 500, 256), { width: 256, height: 341 });
  assert.deepEqual(centerCropBox(341, 256, 224), { left: 58, top: 16, width: 224, height: 224 });
  assert.equal(centerCropBox(233, 256, 224).left, 4); // round(4.5) = 4
});

test('bilinear resampler: identity, upsampling, antialiased downsampling, windows', () => {
  const row = (values: number[]) => Uint8Array.from(values);
  const full = (w: number, h: number) => ({ left: 0, top: 0, width: w, height: h });
  assert.deepEqual(Array.from(resizeBilinear(row([3, 7, 9]), 3, 1, 1, full(3, 1), 3, 1)), [3, 7, 9]);
  // Half-pixel centers, edges clamped.
  assert.deepEqual(Array.from(resizeBilinear(row([0, 100]), 2, 1, 1, full(2, 1), 4, 1)), [0, 25, 75, 100]);
  // Shrinking by 2 widens the triangle to 2 pixels: weights 3/7, 3/7, 1/7.
  const down = resizeBilinear(row([0, 40, 80, 120]), 4, 1, 1, full(4, 1), 2, 1);
  assert.ok(Math.abs(down[0] - 200 / 7) < 1e-4 && Math.abs(down[1] - 640 / 7) < 1e-4, `${Array.from(down)}`);
  // Two dimensions, two channels: a column resize leaves rows alone.
  const img = row([10, 20, 30, 40, 50, 60, 70, 80]); // 2x2, 2 channels
  const up = resizeBilinear(img, 2, 2, 2, full(2, 2), 2, 4);
  assert.deepEqual(Array.from(up.subarray(0, 4)), [10, 20, 30, 40]);
  assert.deepEqual(Array.from(up.subarray(4, 8)), [20, 30, 40, 50]);
  // A window of the output equals the same part of the full output.
  const src = Uint8Array.from({ length: 9 * 7 * 3 }, (_, i) => (i * 31) % 256);
  const whole = resizeBilinear(src, 9, 7, 3, full(9, 7), 13, 11);
  const part = resizeBilinear(src, 9, 7, 3, full(9, 7), 13, 11, { left: 2, top: 3, width: 5, height: 4 });
  for (let r = 0; r < 4; r++)
    assert.deepEqual(
      part.subarray(r * 15, r * 15 + 15),
      whole.subarray(((r + 3) * 13 + 2) * 3, ((r + 3) * 13 + 7) * 3),
    );
  assert.throws(
    () => resizeBilinear(src, 9, 7, 3, { left: 5, top: 0, width: 5, height: 7 }, 2, 2),
    /not inside a 9x7 image/,
  );
});

test('ImageNet errors: corrupt JPEG names the file; class sets must match; missing dataset says where', () => {
  const dataDir = imageTree();
  const root = path.join(dataDir, 'imagenet');
  const good = jpegOf(16, 16, colorful);
  writeFileSync(path.join(root, 'train/n01/z.JPEG'), good.subarray(0, good.length - 50));
  const ds = loadImagenet(dataDir, { imageSize: 14 });
  assert.throws(
    () => ds.train.read([0, 1], { augment: false }),
    (e: Error) => e.message.startsWith(path.join(root, 'train/n01/z.JPEG')) && e.message.includes('corrupt'),
  );
  writeFileSync(path.join(root, 'train/n01/z.JPEG'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]));
  assert.throws(() => ds.train.read([1], { augment: false }), /z\.JPEG: is a PNG with a JPEG name/);
  assert.throws(() => ds.train.read([0], { augment: true }), /needs options\.rng/);

  mkdirSync(path.join(root, 'val/n99'));
  renameSync(path.join(root, 'val/n03'), path.join(root, 'val/n98'));
  assert.throws(() => loadImagenet(dataDir), /same class folders .*missing in val: n03; not in train: n98, n99/);

  const flat = tempDir();
  mkdirSync(path.join(flat, 'imagenet/train/n01'), { recursive: true });
  writeFileSync(path.join(flat, 'imagenet/train/n01/a.JPEG'), good);
  mkdirSync(path.join(flat, 'imagenet/val'));
  writeFileSync(path.join(flat, 'imagenet/val/ILSVRC2012_val_00000001.JPEG'), good);
  assert.throws(() => loadImagenet(flat), /holds images directly; sort them into one folder per class/);

  const empty = tempDir();
  assert.throws(
    () => loadImagenet(empty),
    (e: Error) =>
      e.message.includes(path.join(empty, 'imagenet', 'train')) &&
      e.message.includes(path.join(empty, 'imagenet', 'val')) &&
      e.message.includes('image-net.org'),
  );
  assert.throws(() => loadImagenet(empty, { imageSize: 0 }), /imageSize must be a positive integer/);
});
