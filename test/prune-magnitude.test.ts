// Masks, magnitude pruning and the random baselines on hand-built tensors: exact counts, ties,
// overrides, shrinking masks, 0.8^n densities, validation messages. No training here.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import { stream, normals } from '../lib/rng';
import { createModel } from '../lib/models/registry';
import {
  createMasks,
  maskCounts,
  maskDensity,
  validateMasks,
  isSubmask,
  disposeMasks,
  maskState,
  countOnes,
  magnitudePrune,
  oneShotPruning,
  prunedCount,
  pruningFor,
  presetPruning,
  randomPruneMask,
  randomPruningStream,
  reinitSeed,
  sparsityTable,
  type Masks,
} from '../lib/prune';

const t = (values: number[], shape: number[] = [values.length]) => tf.tensor(values, shape, 'float32');
const map = (entries: Record<string, tf.Tensor>) => new Map(Object.entries(entries));
const values = (m: Masks) => Object.fromEntries([...m].map(([k, v]) => [k, Array.from(v.dataSync())]));

before(async () => {
  await initBackend('wasm');
});

test('global pruning removes exactly round(f x remaining) lowest-magnitude weights across tensors', () => {
  const weights = map({ a: t([0.5, -0.1, 0.3, 0.9]), b: t([0.2, -0.05, 0.7, 0.4], [2, 2]) });
  const mask = map({ a: t([1, 1, 1, 1]), b: t([1, 1, 1, 1], [2, 2]) });
  const next = magnitudePrune(weights, mask, { fraction: 0.25 });
  assert.deepEqual(values(next), { a: [1, 0, 1, 1], b: [1, 0, 1, 1] });
  assert.deepEqual(next.get('b')!.shape, [2, 2]);
  // The inputs are untouched: pruning is a pure function.
  assert.deepEqual(Array.from(mask.get('a')!.dataSync()), [1, 1, 1, 1]);
  assert.deepEqual(weights.get('a')!.dataSync(), Float32Array.from([0.5, -0.1, 0.3, 0.9]));
  const more = magnitudePrune(weights, next, { fraction: 0.5 });
  // 6 survivors, 3 go: 0.2, 0.3, 0.4; the already-pruned 0.1 and 0.05 are not counted again.
  assert.deepEqual(values(more), { a: [1, 0, 0, 1], b: [0, 0, 1, 0] });
  assert.ok(isSubmask(more, next) && isSubmask(next, mask) && !isSubmask(mask, next));
});

test('ties: exactly the needed number of tied weights go, earliest in parameter order first', () => {
  const weights = map({ a: t([0.2, 0.1, -0.2, 0.3]), b: t([0.2, 0.05]) });
  const mask = map({ a: t([1, 1, 1, 1]), b: t([1, 1]) });
  // Remove 3 of 6: 0.05 and 0.1 are below the threshold 0.2; of the three weights at |0.2|,
  // only one goes: a[0], the first in (tensor order, flat index). A ">" threshold would take all three.
  assert.deepEqual(values(magnitudePrune(weights, mask, { fraction: 0.5 })), { a: [0, 0, 1, 1], b: [1, 0] });
  const flat = map({ a: t([1, 1, 1, 1]), b: t([1, 1]) });
  assert.deepEqual(values(magnitudePrune(flat, mask, { fraction: 0.5 })), { a: [0, 0, 0, 1], b: [1, 1] });
  // -0 and 0 are the same magnitude, and a pruned position keeps no say even where its weight is large.
  const signed = map({ a: t([-0, 0, 5, 0.5]), b: t([9, 0]) });
  const partial = map({ a: t([1, 1, 0, 1]), b: t([0, 1]) });
  assert.deepEqual(values(magnitudePrune(signed, partial, { fraction: 0.5 })), { a: [0, 0, 0, 1], b: [0, 1] });
});

test('counts are round(f x remaining) with halves rounding up; fraction 0 and 1 are the extremes', () => {
  assert.equal(prunedCount(5, 0.1), 1);
  assert.equal(prunedCount(266200, 0.2), 53240);
  assert.equal(prunedCount(7, 0.2), 1);
  const w = map({ a: t([3, 1, 2, 5, 4]) });
  const m = map({ a: t([1, 1, 1, 1, 1]) });
  assert.deepEqual(values(magnitudePrune(w, m, { fraction: 0.1 })), { a: [1, 0, 1, 1, 1] });
  assert.deepEqual(values(magnitudePrune(w, m, { fraction: 0 })), { a: [1, 1, 1, 1, 1] });
  assert.deepEqual(values(magnitudePrune(w, m, { fraction: 1 })), { a: [0, 0, 0, 0, 0] });
});

test('layerwise pruning, per-tensor fractions and exclusion', () => {
  const weights = map({
    a: t([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    b: t([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]),
  });
  const mask = map({ a: t(Array(10).fill(1)), b: t(Array(10).fill(1)) });
  // Global: the 4 smallest of all 20 are all in b.
  assert.deepEqual(
    maskCounts(magnitudePrune(weights, mask, { fraction: 0.2 })).map((c) => c.remaining),
    [10, 6],
  );
  // Layerwise: each loses 2 of its own 10.
  assert.deepEqual(values(magnitudePrune(weights, mask, { scope: 'layerwise', fraction: 0.2 })), {
    a: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
    b: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
  });
  // b excluded: a alone is the pool, and b's mask is copied unchanged.
  assert.deepEqual(
    maskCounts(magnitudePrune(weights, mask, { fraction: 0.2, tensors: { b: 'exclude' } })).map((c) => c.remaining),
    [8, 10],
  );
  // b at its own rate, outside the global ranking: b loses round(0.1 x 10) = 1, the pool (a) round(0.2 x 10) = 2.
  assert.deepEqual(values(magnitudePrune(weights, mask, { fraction: 0.2, tensors: { b: 0.1 } })), {
    a: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1],
    b: [0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  });
  assert.deepEqual(pruningFor('lenet_300_100').tensors, { 'fc.kernel': 0.1 });
  assert.deepEqual(pruningFor('resnet20'), { scope: 'global', fraction: 0.2, tensors: {} });
  assert.deepEqual(presetPruning('resnet50_imagenet').mode, 'one-shot');
});

test('pruning errors name the field, the tensor and the fix', () => {
  const w = map({ a: t([1, 2]) });
  const m = map({ a: t([1, 1]) });
  assert.throws(() => magnitudePrune(w, m, { fraction: 1.5 }), /fraction = 1\.5 is invalid/);
  assert.throws(
    () => magnitudePrune(w, m, { tensors: { fc: 0.1 } }),
    /tensors\['fc'\] names no masked tensor; masked tensors are a/,
  );
  assert.throws(() => magnitudePrune(w, m, { scope: 'local' as 'global' }), /scope = "local" is invalid/);
  assert.throws(() => magnitudePrune(new Map(), m), /no weights for masked tensor 'a'/);
  assert.throws(
    () => magnitudePrune(map({ a: t([1, 2, 3]) }), m),
    /weights 'a' have shape \[3\] but its mask has shape \[2\]/,
  );
  assert.throws(() => magnitudePrune(map({ a: t([NaN, 2]) }), m), /'a' hold NaN at index 0/);
});

test('LeNet: 15 rounds of 20% give density 0.8^n within one weight, and masks only shrink', () => {
  const model = createModel('lenet_300_100', { seed: 0 });
  let mask = createMasks(model);
  const total = 266200;
  assert.equal(
    maskCounts(mask).reduce((a, c) => a + c.total, 0),
    total,
  );
  for (let n = 1; n <= 15; n++) {
    // Different weights every round, as after each retraining: only the mask carries over.
    const rng = stream('test-weights', n);
    const weights = new Map(
      [...mask].map(([name, m]): [string, tf.Tensor] => [name, t(Array.from(normals(m.size, 1, rng)), [...m.shape])]),
    );
    const next = magnitudePrune(weights, mask, { fraction: 0.2 });
    assert.ok(isSubmask(next, mask), `round ${n}: the mask grew`);
    const remaining = maskDensity(next) * total;
    assert.ok(
      Math.abs(remaining - total * 0.8 ** n) <= 1,
      `round ${n}: ${remaining} kept, 0.8^n gives ${total * 0.8 ** n}`,
    );
    disposeMasks(weights);
    disposeMasks(mask);
    mask = next;
  }
  assert.equal(Number((100 * maskDensity(mask)).toFixed(1)), 3.5);
  disposeMasks(mask);
  model.dispose();
});

test('one-shot options reach the target density in one round; own-rate tensors get (1 - r)^n', () => {
  const rng = stream('test-one-shot', 0);
  const weights = map({ a: t(Array.from(normals(1000, 1, rng))), b: t(Array.from(normals(100, 1, rng))) });
  const mask = map({ a: t(Array(1000).fill(1)), b: t(Array(100).fill(1)) });
  const plain = magnitudePrune(weights, mask, oneShotPruning({ fraction: 0.2 }, 1, 0.3));
  assert.equal(maskDensity(plain), 330 / 1100);
  const halfRate = magnitudePrune(weights, mask, oneShotPruning({ fraction: 0.2, tensors: { b: 0.1 } }, 1, 0.3));
  const rounds = Math.log(0.3) / Math.log(0.8);
  assert.deepEqual(
    maskCounts(halfRate).map((c) => c.remaining),
    [300, Math.round(100 * 0.9 ** rounds)],
  );
  assert.throws(() => oneShotPruning({}, 0.5, 0.6), /cannot prune one-shot from density 0.5 to 0.6/);
});

test('masks: all ones for prunable tensors only; validation names the tensor', () => {
  const model = createModel('lenet_300_100', { seed: 0 });
  const masks = createMasks(model);
  assert.deepEqual([...masks.keys()], ['fc1.kernel', 'fc2.kernel', 'fc.kernel']);
  assert.equal(maskDensity(masks), 1);
  validateMasks(model, masks);
  const bad = (entries: [string, tf.Tensor][], pattern: RegExp, complete = true) => {
    assert.throws(() => validateMasks(model, new Map(entries), { complete }), pattern);
    for (const [, m] of entries) m.dispose();
  };
  bad(
    [['fc1.kernel', tf.ones([784, 100])]],
    /mask 'fc1.kernel': shape \[784,100\] does not match lenet_300_100's parameter shape \[784,300\]/,
    false,
  );
  bad([['fc1.bias', tf.ones([300])]], /mask 'fc1.bias': bias parameters are never pruned/, false);
  bad([['conv1.kernel', tf.ones([3])]], /mask 'conv1.kernel': lenet_300_100 has no parameter of that name/, false);
  bad([['fc.kernel', tf.fill([100, 10], 0.5)]], /mask 'fc.kernel': entry 0 is 0.5/, false);
  assert.throws(
    () => validateMasks(model, new Map([['fc1.kernel', masks.get('fc1.kernel')!]])),
    /mask 'fc2.kernel': missing/,
  );
  const table = sparsityTable(masks);
  assert.deepEqual(table.columnNames(), ['tensor', 'shape', 'total', 'remaining', 'density', 'sparsity']);
  assert.deepEqual(table.objects()[0], {
    tensor: 'fc1.kernel',
    shape: '784x300',
    total: 235200,
    remaining: 235200,
    density: 1,
    sparsity: 0,
  });
  disposeMasks(masks);
  model.dispose();
});

test('random pruning keeps the per-tensor (or total) counts, is seeded, and leaves excluded tensors alone', () => {
  const rng = stream('test-random', 0);
  const weights = map({
    a: t(Array.from(normals(500, 1, rng))),
    b: t(Array.from(normals(200, 1, rng)), [10, 20]),
    c: t(Array.from(normals(50, 1, rng))),
  });
  const ones = map({ a: t(Array(500).fill(1)), b: t(Array(200).fill(1), [10, 20]), c: t(Array(50).fill(1)) });
  const imp = magnitudePrune(weights, ones, { fraction: 0.6, tensors: { c: 'exclude' } });
  const counts = maskCounts(imp).map((c) => c.remaining);
  const layerwise = randomPruneMask(imp, randomPruningStream(0, 1));
  assert.deepEqual(
    maskCounts(layerwise).map((c) => c.remaining),
    counts,
  );
  assert.deepEqual(layerwise.get('b')!.shape, [10, 20]);
  assert.notDeepEqual(values(layerwise).a, values(imp).a);
  assert.deepEqual(
    values(randomPruneMask(imp, randomPruningStream(0, 1))),
    values(layerwise),
    'same stream, same mask',
  );
  assert.notDeepEqual(
    values(randomPruneMask(imp, randomPruningStream(0, 2))).a,
    values(layerwise).a,
    'another level, another mask',
  );
  const global = randomPruneMask(imp, randomPruningStream(0, 1), { scope: 'global', exclude: ['c'] });
  const g = maskCounts(global).map((c) => c.remaining);
  assert.equal(g[0] + g[1], counts[0] + counts[1]);
  assert.equal(g[2], 50);
  assert.equal(countOnes(global.get('c')!), 50);
  for (const m of [weights, ones, imp, layerwise, global]) disposeMasks(m);
});

test('maskState zeroes masked weights and their optimizer slots and copies everything else', () => {
  const state = {
    step: 3,
    weights: map({ w: t([1, 2, 3]), bias: t([4]) }),
    optimizer: { updates: 3, slots: map({ 'w/m': t([5, 6, 7]), 'w/v': t([8, 9, 10]), 'bias/m': t([1]) }) },
  };
  const masked = maskState(state, map({ w: t([1, 0, 1]) }));
  assert.equal(masked.step, 3);
  assert.deepEqual(Array.from(masked.weights.get('w')!.dataSync()), [1, 0, 3]);
  assert.deepEqual(Array.from(masked.weights.get('bias')!.dataSync()), [4]);
  assert.deepEqual(Array.from(masked.optimizer!.slots.get('w/m')!.dataSync()), [5, 0, 7]);
  assert.deepEqual(Array.from(masked.optimizer!.slots.get('w/v')!.dataSync()), [8, 0, 10]);
  assert.equal(masked.optimizer!.updates, 3);
  assert.notEqual(masked.weights.get('bias'), state.weights.get('bias'));
});

test('reinitialization seeds are hashed, whole, and differ by level and by initialization seed', () => {
  const seeds = [reinitSeed(0, 1), reinitSeed(0, 2), reinitSeed(1, 1)];
  for (const s of seeds) assert.ok(Number.isSafeInteger(s) && s >= 0);
  assert.equal(new Set(seeds).size, 3);
  assert.equal(reinitSeed(0, 1), seeds[0]);
});
