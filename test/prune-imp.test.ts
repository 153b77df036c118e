// IMP with rewinding (Algorithm 2) and its baselines on smoke-scale LeNet: masks that only shrink,
// pruned weights exactly zero through every optimizer, rewinding that reproduces the
// uninterrupted run, baselines that keep counts / masks, determinism, validation and no leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import { presetConfig, type TrainConfig } from '../lib/train/config';
import { trainFrom, datasetFor, TrainingCancelled, type TrainCallback } from '../lib/train/trainer';
import { loadDataset } from '../lib/data/registry';
import { createModel } from '../lib/models/registry';
import {
  imp, isSubmask, maskCounts, magnitudePrune, freshWeights, reinitSeed, createMasks, disposeMasks, type ImpRun, type ImpResult,
} from '../lib/prune';

const lenet = (overrides: Partial<TrainConfig> = {}) => presetConfig('lenet_mnist', 'smoke', { training: '20it', ...overrides });
const sgd = (overrides: Partial<TrainConfig> = {}) => lenet({ optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-4, ...overrides });

function bits(t: tf.Tensor): Buffer {
  const a = t.dataSync() as Float32Array;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function maskValues(result: ImpResult): number[][][] {
  return result.levels.map((l) => [...l.mask.values()].map((m) => Array.from(m.dataSync())));
}

/** A callback for every masked training (level >= 1) that checks pruned weights are exactly 0 after each update. */
function checkPrunedZero(seen: { steps: number }): (run: ImpRun) => TrainCallback[] {
  return (run) => run.level === null || run.level === 0 ? [] : [{
    everySteps: 1,
    onStep: (ctx) => {
      for (const [name, v] of ctx.model.params) {
        if (!ctx.model.info.get(name)!.prunable) continue;
        const w = v.dataSync();
        const slots = [...ctx.optimizer.state.slots].filter(([slot]) => slot.startsWith(`${name}/`)).map(([, s]) => s.dataSync());
        // A pruned weight of W_k is non-zero before masking, so zero here means masked, not lucky.
        let zeros = 0;
        for (let i = 0; i < w.length; i++) {
          if (w[i] !== 0) continue;
          zeros++;
          for (const s of slots) assert.ok(s[i] === 0, `${run.kind} level ${run.level} step ${ctx.step}: slot of pruned ${name}[${i}] moved`);
        }
        assert.ok(zeros > 0, `${name} has pruned weights`);
      }
      seen.steps++;
    },
  }];
}

before(async () => {
  await initBackend('wasm');
});

test('pruned weights stay exactly zero after every update: SGD with momentum and weight decay, and Adam', async () => {
  for (const [name, config] of [['sgd', sgd({ optimizerStateAtK: 'restore' })], ['adam', lenet({ optimizerStateAtK: 'restore', weightDecay: 1e-4 })]] as const) {
    const before = tf.memory().numTensors;
    const seen = { steps: 0 };
    // k = 5 with the optimizer state restored: the dense trunk's momentum must not leak into pruned weights.
    const result = await imp(config, { rewindTo: 5, levels: 2, baselines: true, callbacks: checkPrunedZero(seen) });
    assert.equal(seen.steps, 2 * 3 * 15, `${name}: every update of every masked training was checked`);
    for (const level of result.levels) {
      for (const final of [level.final, level.randomPrune?.final, level.randomReinit?.final]) {
        if (!final) continue;
        const mask = level.randomPrune && final === level.randomPrune.final ? level.randomPrune.mask : level.mask;
        for (const [tensor, m] of mask) {
          const w = final.weights.get(tensor)!.dataSync();
          const keep = m.dataSync();
          for (let i = 0; i < w.length; i++) if (keep[i] === 0) assert.ok(w[i] === 0, `${name} level ${level.level}: ${tensor}[${i}] = ${w[i]}`);
        }
      }
    }
    result.dispose();
    assert.equal(tf.memory().numTensors, before, `${name}: no tensor leaks`);
  }
});

test('IMP: 20% global rounds (LeNet output layer at 10%), nested masks pruned from each level\'s W_T, W_k and W_T kept', async () => {
  const config = lenet();
  const result = await imp(config, { rewindTo: 4, levels: 3 });
  assert.equal(result.levels.length, 4);
  assert.equal(result.rewind.step, 4);
  assert.equal(result.rewindTo, 4);
  assert.equal(result.totalIterations, 20);
  assert.equal(result.mode, 'iterative');
  assert.equal(result.optimizerStateAtK, 'reset');
  assert.deepEqual(result.pruning.tensors, { 'fc.kernel': 0.1 });
  const hidden = 235200 + 30000;
  let expectHidden = hidden;
  let expectOutput = 1000;
  for (const level of result.levels) {
    const counts = maskCounts(level.mask);
    assert.equal(counts[0].remaining + counts[1].remaining, expectHidden, `level ${level.level}: hidden layers`);
    assert.equal(counts[2].remaining, expectOutput, `level ${level.level}: output layer`);
    assert.equal(level.density, (expectHidden + expectOutput) / (hidden + 1000));
    expectHidden -= Math.round(0.2 * expectHidden);
    expectOutput -= Math.round(0.1 * expectOutput);
    assert.ok(level.testAccuracy > 0.5 && Math.abs(level.testAccuracy + level.testError - 1) < 1e-12);
    assert.equal(level.final!.step, 20);
    assert.deepEqual(level.sparsity.array('remaining'), counts.map((c) => c.remaining));
    assert.equal(level.randomPrune, null);
  }
  for (let n = 1; n < result.levels.length; n++) {
    const previous = result.levels[n - 1];
    assert.ok(isSubmask(result.levels[n].mask, previous.mask), `level ${n} mask grew`);
    // The next mask is exactly magnitude pruning of this level's trained weights.
    const again = magnitudePrune(previous.final!.weights, previous.mask, result.pruning);
    for (const [name, m] of again) assert.ok(bits(m).equals(bits(result.levels[n].mask.get(name)!)), `level ${n}: ${name}`);
    disposeMasks(again);
  }
  result.dispose();
});

test('rewinding to k with an all-ones mask reproduces the uninterrupted run bit for bit (optimizer state restored)', async () => {
  const config = lenet({ optimizerStateAtK: 'restore' });
  const uninterrupted = await trainFrom(config);
  const expected = new Map([...uninterrupted.model.params].map(([name, v]) => [name, bits(v)]));
  uninterrupted.dispose();
  const restored = await imp(config, { rewindTo: 7, levels: 0 });
  for (const [name, b] of expected) assert.ok(bits(restored.levels[0].final!.weights.get(name)!).equals(b), `${name} differs`);
  restored.dispose();
  // 'reset' restarts Adam's moments and bias correction at k: from k on it is another run.
  const reset = await imp({ ...config, optimizerStateAtK: 'reset' }, { rewindTo: 7, levels: 0 });
  assert.ok(!bits(reset.levels[0].final!.weights.get('fc1.kernel')!).equals(expected.get('fc1.kernel')!));
  reset.dispose();
  // At k = 0 there is no optimizer state, so both policies are the uninterrupted run.
  const atZero = await imp({ ...config, optimizerStateAtK: 'reset' }, { rewindTo: 0, levels: 0 });
  for (const [name, b] of expected) assert.ok(bits(atZero.levels[0].final!.weights.get(name)!).equals(b), `k = 0: ${name} differs`);
  atZero.dispose();
});

test('baselines: random pruning keeps per-tensor counts; reinitialization keeps the mask and changes every surviving weight', async () => {
  const config = lenet();
  const dataset = datasetFor(config);
  const result = await imp(config, { rewindTo: 0, levels: 2, baselines: true, dataset });
  assert.equal(result.levels[0].randomPrune, null, 'no baselines at level 0 (the mask is all ones)');
  for (const level of result.levels.slice(1)) {
    const prune = level.randomPrune!;
    assert.deepEqual(maskCounts(prune.mask).map((c) => c.remaining), maskCounts(level.mask).map((c) => c.remaining));
    assert.ok(!bits(prune.mask.get('fc1.kernel')!).equals(bits(level.mask.get('fc1.kernel')!)), 'a random mask, not the IMP mask');
    assert.ok(prune.testAccuracy > 0.3);
    const reinit = level.randomReinit!;
    assert.equal(reinit.mask, level.mask);
    assert.equal(reinit.seed, reinitSeed(config.initSeed, level.level));
    const fresh = freshWeights(config, dataset, reinit.seed);
    for (const [name, m] of level.mask) {
      const a = fresh.get(name)!.dataSync();
      const w0 = result.rewind.weights.get(name)!.dataSync();
      const keep = m.dataSync();
      for (let i = 0; i < a.length; i++) if (keep[i] === 1) assert.ok(a[i] !== w0[i], `${name}[${i}] kept its W_k value`);
    }
    for (const t of fresh.values()) t.dispose();
  }
  // Global random pruning keeps the total.
  const global = await imp(config, { rewindTo: 0, levels: 1, baselines: { randomPrune: 'global', randomReinit: false }, dataset });
  const level = global.levels[1];
  const total = (counts: { remaining: number }[]) => counts.reduce((a, c) => a + c.remaining, 0);
  assert.equal(total(maskCounts(level.randomPrune!.mask)), total(maskCounts(level.mask)));
  assert.equal(level.randomReinit, null);
  global.dispose();
  result.dispose();
});

test('determinism: the same seeds give the same masks, accuracies and baselines; another baseline seed another random mask', async () => {
  const config = sgd({ training: '12it' });
  const run = () => imp(config, { rewindTo: 3, levels: 2, baselines: true });
  const [a, b] = [await run(), await run()];
  assert.deepEqual(maskValues(a), maskValues(b));
  assert.deepEqual(a.levels.map((l) => [l.testLoss, l.randomPrune?.testLoss, l.randomReinit?.testLoss]), b.levels.map((l) => [l.testLoss, l.randomPrune?.testLoss, l.randomReinit?.testLoss]));
  const c = await imp(config, { rewindTo: 3, levels: 1, baselines: { seed: 9 } });
  assert.deepEqual(maskValues(c)[1], maskValues(a)[1], 'the IMP mask does not depend on the baseline seed');
  assert.ok(!bits(c.levels[1].randomPrune!.mask.get('fc1.kernel')!).equals(bits(a.levels[1].randomPrune!.mask.get('fc1.kernel')!)));
  for (const r of [a, b, c]) r.dispose();
});

test('one-shot: level 1 is pruned straight to the target density', async () => {
  const result = await imp(lenet({ training: '10it' }), { oneShot: true, targetDensity: 0.3, pruning: { tensors: {} } });
  assert.equal(result.mode, 'one-shot');
  assert.equal(result.levels.length, 2);
  assert.equal(Math.round(result.levels[1].density * 266200), Math.round(0.3 * 266200));
  result.dispose();
});

test('invalid input is refused before any training, naming the field', async () => {
  const config = lenet();
  const cases: [Parameters<typeof imp>[1], RegExp][] = [
    [{ levels: -1 }, /levels = -1 is invalid/],
    [{ levels: 1.5 }, /levels = 1.5 is invalid/],
    [{ targetDensity: 0 }, /targetDensity = 0 is invalid/],
    [{ targetDensity: 1.5 }, /targetDensity = 1.5 is invalid/],
    [{ rewindTo: 21, levels: 1 }, /rewindTo = 21 is step 21, past the end of training \(T = 20 iterations\)/],
    [{ rewindTo: '1ep', levels: 1 }, /step 134, past the end/],
    [{ rewindTo: 'soon', levels: 1 }, /rewindTo: "soon" is not a step/],
    [{ oneShot: true }, /targetDensity is required for one-shot/],
    [{}, /give levels \(rounds of pruning\) or targetDensity/],
    [{ levels: 1, pruning: { tensors: { 'fc9.kernel': 0.1 } } }, /tensors\['fc9.kernel'\] names no masked tensor/],
    [{ levels: 1, baselines: { seed: -2 } }, /baselines.seed = -2 is invalid/],
  ];
  const before = tf.memory().numTensors;
  for (const [options, message] of cases) await assert.rejects(imp(config, options), message);
  const model = createModel('lenet_300_100', { seed: 0 });
  const masks = createMasks(model);
  model.dispose();
  masks.get('fc2.kernel')!.dispose();
  masks.set('fc2.kernel', tf.keep(tf.ones([300, 50])));
  await assert.rejects(imp(config, { levels: 1, initialMask: masks }), /mask 'fc2.kernel': shape \[300,50\] does not match lenet_300_100's parameter shape \[300,100\]/);
  disposeMasks(masks);
  assert.equal(tf.memory().numTensors, before, 'refusals leak nothing');
});

test('cancellation mid-level stops IMP and frees every tensor; a completed run frees all on dispose', async () => {
  const config = lenet();
  const dataset = loadDataset('mnist');
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  await assert.rejects(
    imp(config, {
      levels: 3, baselines: true, dataset, signal: controller.signal,
      callbacks: (run) => [{ atSteps: [10], onStep: () => { if (run.kind === 'random-prune' && run.level === 2) controller.abort(); } }],
    }),
    (err: unknown) => err instanceof TrainingCancelled,
  );
  assert.equal(tf.memory().numTensors, before, 'cancelled run leaked');
  const levels: number[] = [];
  const done = await imp(config, { levels: 1, dataset, onLevel: (l) => { levels.push(l.level); } });
  assert.deepEqual(levels, [0, 1]);
  done.dispose();
  assert.equal(tf.memory().numTensors, before, 'disposed run leaked');
});
