import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { EMBEDDED_TEST_PER_CLASS, loadEmbeddedMnist, loadMnist } from '../lib/data/mnist';
import { batchIndices } from '../lib/data/order';
import type { Batch } from '../lib/data/types';
import { tempDir } from './data-fixtures';

const ds = loadEmbeddedMnist();
const counts = (labels: Int32Array) => labels.reduce((c, v) => (c[v]++, c), new Array<number>(10).fill(0));
const hash = (b: Batch) =>
  createHash('sha256').update(Buffer.from(b.x.buffer)).update(Buffer.from(b.y.buffer)).digest('hex');
const range = (n: number, step = 1) => Array.from({ length: n }, (_, i) => i * step);

test('embedded MNIST: 8000/2000 split, 200 test digits per class', () => {
  assert.equal(ds.name, 'mnist');
  assert.equal(ds.description, 'MNIST subset (10k digits)');
  assert.match(ds.source, /mnist@1\.1\.0/);
  assert.equal(ds.numClasses, 10);
  assert.deepEqual(ds.imageShape, [28, 28, 1]);
  assert.equal(ds.train.size, 8000);
  assert.equal(ds.test.size, 2000);
  // The package's class sizes are 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978.
  assert.deepEqual(counts(ds.train.labels), [801, 927, 791, 832, 780, 663, 814, 870, 744, 778]);
  assert.deepEqual(counts(ds.test.labels), new Array(10).fill(EMBEDDED_TEST_PER_CLASS));
});

test('embedded MNIST: bytes are the package values times 255, split by stored position', () => {
  const dir = path.dirname(require.resolve('mnist/package.json'));
  const zeros = (JSON.parse(readFileSync(path.join(dir, 'src/digits/0.json'), 'utf8')) as { data: number[] }).data;
  const ones = (JSON.parse(readFileSync(path.join(dir, 'src/digits/1.json'), 'utf8')) as { data: number[] }).data;
  const norm = (v: number) => (Math.round(v * 255) / 255 - 0.1307) / 0.3081;
  const check = (b: Batch, values: number[], digit: number) => {
    for (let p = 0; p < 784; p++) assert.ok(Math.abs(b.x[p] - norm(values[digit * 784 + p])) < 1e-6, `pixel ${p}`);
  };
  check(ds.train.read([0], { augment: false }), zeros, 0); // first stored 0
  check(ds.train.read([800], { augment: false }), zeros, 800); // last training 0
  check(ds.test.read([0], { augment: false }), zeros, 801); // first of the last 200 zeros
  check(ds.train.read([801], { augment: false }), ones, 0); // class-major: then the 1s
  check(ds.test.read([200], { augment: false }), ones, 927);
});

test('embedded MNIST: pixel range is the full byte range', () => {
  const all = ds.train.read(range(ds.train.size), { augment: false });
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of all.x) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  assert.ok(Math.abs(min - (0 - 0.1307) / 0.3081) < 1e-6);
  assert.ok(Math.abs(max - (1 - 0.1307) / 0.3081) < 1e-6);
  // Normalized mean near 0: the subset's pixel mean is MNIST's 0.1307.
  assert.ok(Math.abs(sum / all.x.length) < 0.01, `normalized mean ${sum / all.x.length}`);
});

test('embedded MNIST: the split and the first batch are pinned', () => {
  // If these change, every cached MNIST result was trained on different data.
  assert.equal(
    hash(ds.train.read(range(100), { augment: false })),
    'f8704bd5969875e9e3b01b47ef0b02759f7c49f81563d416836ca87286c7fc47',
  );
  assert.equal(
    hash(ds.test.read(range(100, 20), { augment: false })),
    'e0aca9a76baf44387ea40ad000371e119fce88a7abd27d7b4571f5463509cc78',
  );
  const first = batchIndices(ds.train.size, 60, 0, 0);
  assert.equal(
    hash(ds.train.read(first, { augment: false })),
    'bbb472aeea40be6d02f613041305d4d6480bebddb465590340dc72f1cbe76007',
  );
  assert.equal(
    hash(loadEmbeddedMnist().train.read(first, { augment: false })),
    hash(ds.train.read(first, { augment: false })),
  );
});

test('loadMnist uses the embedded subset only when <dataDir>/mnist does not exist', () => {
  assert.equal(loadMnist(tempDir()).description, 'MNIST subset (10k digits)');
});

test('reads reject bad indices and augmented reads without a stream', () => {
  assert.throws(
    () => ds.test.read([0, 2000], { augment: false }),
    /mnist test: index 2000 at batch position 1 is not an example \(split has 2000/,
  );
  assert.throws(() => ds.test.read([1.5], { augment: false }), /index 1\.5/);
  assert.throws(() => ds.train.read([0], { augment: true }), /augment: true needs options\.rng/);
});
