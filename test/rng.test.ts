import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochOrder, normals, permutation, stream, streamKey } from '../lib/rng';
import { batchIndices } from '../lib/data/order';

const first = (purpose: string, ...indices: number[]) => {
  const r = stream(purpose, ...indices);
  return Array.from({ length: 8 }, () => r.uniform());
};

test('the same stream key gives the same numbers', () => {
  assert.deepEqual(first('init', 3), first('init', 3));
  assert.deepEqual(Array.from(epochOrder(500, 2, 4)), Array.from(epochOrder(500, 2, 4)));
  assert.equal(streamKey('data-order', 1, 2), streamKey('data-order', 1, 2));
});

test('the key hashes the whole tuple: (1, 2) and (2, 1) differ, and so do purposes', () => {
  assert.notDeepEqual(first('data-order', 1, 2), first('data-order', 2, 1));
  assert.notEqual(streamKey('data-order', 1, 2), streamKey('data-order', 2, 1));
  assert.notDeepEqual(first('data-order', 1), first('augmentation', 1));
  assert.notDeepEqual(first('data-order', 1, 2), first('data-order', 12));
  assert.notDeepEqual(first('data-order', 1), first('data-order', 1, 0));
});

test('different data-order seeds give different first batches', () => {
  const batches = [0, 1, 2, 3, 4].map((s) => Array.from(batchIndices(8000, 60, s, 0)).join(','));
  assert.equal(new Set(batches).size, 5);
});

test('no epoch permutation is shared among seeds 0..4 x epochs 0..9 (seed + epoch would share them)', () => {
  const seen = new Map<string, string>();
  for (let seed = 0; seed < 5; seed++) {
    for (let epoch = 0; epoch < 10; epoch++) {
      const key = Array.from(epochOrder(1000, seed, epoch)).join(',');
      assert.ok(!seen.has(key), `seed ${seed} epoch ${epoch} repeats ${seen.get(key)}`);
      seen.set(key, `seed ${seed} epoch ${epoch}`);
    }
  }
  // Not even the first batches coincide.
  const heads = new Set<string>();
  for (let seed = 0; seed < 5; seed++)
    for (let epoch = 0; epoch < 10; epoch++)
      heads.add(Array.from(epochOrder(1000, seed, epoch).subarray(0, 8)).join(','));
  assert.equal(heads.size, 50);
});

test('draws are in range and roughly uniform / normal', () => {
  const r = stream('test', 0);
  let sum = 0;
  const bins = new Array<number>(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const u = r.uniform();
    assert.ok(u >= 0 && u < 1);
    sum += u;
    const k = r.int(10);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
    bins[k]++;
  }
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
  for (const b of bins) assert.ok(Math.abs(b - 2000) < 200, `bins ${bins}`);
  const z = normals(20000, 2, stream('test', 1));
  const mean = z.reduce((a, b) => a + b, 0) / z.length;
  const sd = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / z.length);
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(sd - 2) < 0.05, `mean ${mean} sd ${sd}`);
});

test('permutations are permutations; non-integer indices are rejected', () => {
  const p = Array.from(permutation(257, stream('test', 2))).sort((a, b) => a - b);
  assert.deepEqual(
    p,
    Array.from({ length: 257 }, (_, i) => i),
  );
  assert.throws(() => stream('data-order', 1.5), /index 1\.5 is not an integer/);
});
