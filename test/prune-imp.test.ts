// IMP with rewinding (Algorithm 2) and its baselines, as store units, on smoke-scale LeNet: masks
// that only shrink, each pruned by magnitude from the level before, pruned weights exactly zero
// through every optimizer, rewinding that reproduces the uninterrupted run, baselines that keep
// counts / masks, determinism, validation before any training, cancellation and no leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import { type TrainConfig } from '../lib/train/config';
import { presetConfig } from '../lib/train/presets';
import { disposeState } from '../lib/train/state';
import { trainFrom, datasetFor, TrainingCancelled, type TrainCallback } from '../lib/train/trainer';
import { createModel } from '../lib/models/registry';
import {
  isSubmask,
  maskCounts,
  magnitudePrune,
  freshWeights,
  reinitSeed,
  createMasks,
  disposeMasks,
  type Masks,
} from '../lib/prune';
import {
  experimentContext,
  impRun,
  loadMask,
  storeMask,
  trunk,
  type ExperimentOptions,
  type ImpRunOptions,
  type ImpRunResult,
  type MaskKey,
  type UnitRef,
  type CopyResult,
} from '../lib/experiments';
import { tempStore } from './fixtures/experiments';

const lenet = (overrides: Partial<TrainConfig> = {}) =>
  presetConfig('lenet_mnist', 'smoke', { training: '20it', ...overrides });
const sgd = (overrides: Partial<TrainConfig> = {}) =>
  lenet({ optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-4, ...overrides });

/** A context on a fresh store, computing in this thread. */
const context = (options: ExperimentOptions = {}) => experimentContext({ store: tempStore(), workers: 1, ...options });

/** IMP on a fresh store. */
const imp = (config: TrainConfig, options: ImpRunOptions, ctxOptions: ExperimentOptions = {}) => {
  const ctx = context(ctxOptions);
  return impRun(ctx, config, options).then((run) => ({ ctx, run }));
};

function bits(t: tf.Tensor): Buffer {
  const a = t.dataSync() as Float32Array;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Every level's mask as numbers. */
async function maskValues(run: ImpRunResult): Promise<number[][][]> {
  const out: number[][][] = [];
  for (const l of run.levels) {
    const masks = await l.level.loadMask();
    out.push([...masks.values()].map((m) => Array.from(m.dataSync())));
    disposeMasks(masks);
  }
  return out;
}

/** The mask a copy unit trained under (a random-pruning baseline's own mask). */
async function copyMask(ctx: Parameters<typeof loadMask>[0], copy: CopyResult, config: TrainConfig): Promise<Masks> {
  return loadMask(ctx, (copy.unit.config as { mask: MaskKey }).mask, config);
}

/** A masked training: an IMP level from 1 on, or a baseline copy. */
const masked = (ref: UnitRef) => ref.kind === 'copy' || (ref.kind === 'imp-level' && !/ level=0\b/.test(ref.label));

/**
 * A callback for every masked training that checks pruned weights
 * (and their optimizer slots) are exactly 0 after each update.
 */
function checkPrunedZero(seen: { steps: number }): (ref: UnitRef) => TrainCallback[] {
  return (ref) =>
    !masked(ref)
      ? []
      : [
          {
            everySteps: 1,
            onStep: (ctx) => {
              for (const [name, v] of ctx.model.params) {
                if (!ctx.model.info.get(name)!.prunable) continue;
                const w = v.dataSync();
                const slots = [...ctx.optimizer.state.slots]
                  .filter(([slot]) => slot.startsWith(`${name}/`))
                  .map(([, s]) => s.dataSync());
                // A pruned weight of W_k is non-zero before masking, so zero here means masked, not lucky.
                let zeros = 0;
                for (let i = 0; i < w.length; i++) {
                  if (w[i] !== 0) continue;
                  zeros++;
                  for (const s of slots)
                    assert.ok(s[i] === 0, `${ref.label} step ${ctx.step}: slot of pruned ${name}[${i}] moved`);
                }
                assert.ok(zeros > 0, `${name} has pruned weights`);
              }
              seen.steps++;
            },
          },
        ];
}

before(async () => {
  await initBackend('wasm');
});

test('pruned weights stay exactly zero after every update: SGD with momentum and weight decay, and Adam', async () => {
  for (const [name, config] of [
    ['sgd', sgd({ optimizerStateAtK: 'restore' })],
    ['adam', lenet({ optimizerStateAtK: 'restore', weightDecay: 1e-4 })],
  ] as const) {
    const before = tf.memory().numTensors;
    const seen = { steps: 0 };
    // k = 5 with the optimizer state restored: the dense trunk's momentum must not leak into pruned weights.
    const { ctx, run } = await imp(config, { k: 5, levels: 2, baselines: true }, { callbacks: checkPrunedZero(seen) });
    assert.equal(seen.steps, 2 * 3 * 15, `${name}: every update of every masked training was checked`);
    for (const { level, randomPrune, randomReinit } of run.levels) {
      const impMask = await level.loadMask();
      const pairs: [{ loadFinal(): ReturnType<CopyResult['loadFinal']> } | null, Masks][] = [
        [level, impMask],
        [randomReinit, impMask],
      ];
      const randomMask = randomPrune ? await copyMask(ctx, randomPrune, config) : null;
      if (randomPrune && randomMask) pairs.push([randomPrune, randomMask]);
      for (const [unit, mask] of pairs) {
        if (!unit) continue;
        const final = await unit.loadFinal();
        for (const [tensor, m] of mask) {
          const w = final.weights.get(tensor)!.dataSync();
          const keep = m.dataSync();
          for (let i = 0; i < w.length; i++)
            if (keep[i] === 0) assert.ok(w[i] === 0, `${name} level ${level.level}: ${tensor}[${i}] = ${w[i]}`);
        }
        disposeState(final);
      }
      disposeMasks(impMask);
      if (randomMask) disposeMasks(randomMask);
    }
    assert.equal(tf.memory().numTensors, before, `${name}: no tensor leaks`);
  }
});

test("IMP: 20% global rounds (LeNet output at 10%), nested masks from each level's W_T; W_k and W_T kept", async () => {
  const config = lenet();
  const { ctx, run } = await imp(config, { k: 4, levels: 3 });
  assert.equal(run.levels.length, 4);
  assert.equal(run.k, 4);
  assert.equal(run.totalIterations, 20);
  assert.equal(run.mode, 'iterative');
  assert.deepEqual(run.pruning.tensors, { 'fc.kernel': 0.1 });
  const atK = await (await trunk(ctx, config, 4)).loadState();
  assert.equal(atK.step, 4);
  disposeState(atK);
  const hidden = 235200 + 30000;
  let expectHidden = hidden;
  let expectOutput = 1000;
  const masks: Masks[] = [];
  for (const { level, randomPrune } of run.levels) {
    const mask = await level.loadMask();
    masks.push(mask);
    const counts = maskCounts(mask);
    assert.equal(counts[0].remaining + counts[1].remaining, expectHidden, `level ${level.level}: hidden layers`);
    assert.equal(counts[2].remaining, expectOutput, `level ${level.level}: output layer`);
    assert.equal(level.summary.density, (expectHidden + expectOutput) / (hidden + 1000));
    expectHidden -= Math.round(0.2 * expectHidden);
    expectOutput -= Math.round(0.1 * expectOutput);
    const s = level.summary;
    assert.ok(s.testAccuracy > 0.5 && Math.abs(s.testAccuracy + s.testError - 1) < 1e-12);
    assert.equal(randomPrune, null);
  }
  for (let n = 1; n < run.levels.length; n++) {
    assert.ok(isSubmask(masks[n], masks[n - 1]), `level ${n} mask grew`);
    // The next mask is exactly magnitude pruning of the previous level's trained weights.
    const previous = await run.levels[n - 1].level.loadFinal();
    assert.equal(previous.step, 20);
    const again = magnitudePrune(previous.weights, masks[n - 1], run.pruning);
    for (const [name, m] of again) assert.ok(bits(m).equals(bits(masks[n].get(name)!)), `level ${n}: ${name}`);
    disposeMasks(again);
    disposeState(previous);
  }
  masks.forEach(disposeMasks);
});

test('rewinding to k with an all-ones mask equals the uninterrupted run bit for bit, optimizer state too', async () => {
  const config = lenet({ optimizerStateAtK: 'restore' });
  const uninterrupted = await trainFrom(config);
  const expected = new Map([...uninterrupted.model.params].map(([name, v]) => [name, bits(v)]));
  uninterrupted.dispose();
  const finalOf = async (c: TrainConfig, k: number) => (await imp(c, { k, levels: 0 })).run.levels[0].level.loadFinal();
  const restored = await finalOf(config, 7);
  for (const [name, b] of expected) assert.ok(bits(restored.weights.get(name)!).equals(b), `${name} differs`);
  disposeState(restored);
  // 'reset' restarts Adam's moments and bias correction at k: from k on it is another run.
  const reset = await finalOf({ ...config, optimizerStateAtK: 'reset' }, 7);
  assert.ok(!bits(reset.weights.get('fc1.kernel')!).equals(expected.get('fc1.kernel')!));
  disposeState(reset);
  // At k = 0 there is no optimizer state, so both policies are the uninterrupted run.
  const atZero = await finalOf({ ...config, optimizerStateAtK: 'reset' }, 0);
  for (const [name, b] of expected) assert.ok(bits(atZero.weights.get(name)!).equals(b), `k = 0: ${name} differs`);
  disposeState(atZero);
});

test('baselines: random pruning keeps per-tensor counts; reinit keeps the mask, changes all kept weights', async () => {
  const config = lenet();
  const dataset = datasetFor(config);
  const { ctx, run } = await imp(config, { k: 0, levels: 2, baselines: true });
  assert.equal(run.levels[0].randomPrune, null, 'no baselines at level 0 (the mask is all ones)');
  const w0 = await (await trunk(ctx, config, 0)).loadState();
  for (const { level, randomPrune, randomReinit } of run.levels.slice(1)) {
    const impMask = await level.loadMask();
    const random = await copyMask(ctx, randomPrune!, config);
    assert.deepEqual(
      maskCounts(random).map((c) => c.remaining),
      maskCounts(impMask).map((c) => c.remaining),
    );
    assert.ok(
      !bits(random.get('fc1.kernel')!).equals(bits(impMask.get('fc1.kernel')!)),
      'a random mask, not the IMP mask',
    );
    assert.ok(randomPrune!.summary.testAccuracy > 0.3);
    const reinit = randomReinit!.unit.config as { mask: MaskKey; reinit: number };
    assert.deepEqual(reinit.mask, { imp: level.ref.hash }, 'reinitialization trains the IMP mask itself');
    assert.equal(reinit.reinit, reinitSeed(config.initSeed, level.level));
    const fresh = freshWeights(config, dataset, reinit.reinit);
    for (const [name, m] of impMask) {
      const a = fresh.get(name)!.dataSync();
      const w = w0.weights.get(name)!.dataSync();
      const keep = m.dataSync();
      for (let i = 0; i < a.length; i++)
        if (keep[i] === 1) assert.ok(a[i] !== w[i], `${name}[${i}] kept its W_k value`);
    }
    for (const t of fresh.values()) t.dispose();
    disposeMasks(impMask);
    disposeMasks(random);
  }
  disposeState(w0);
  // Global random pruning keeps the total.
  const global = await impRun(ctx, config, { k: 0, levels: 1, baselines: { scope: 'global', randomReinit: false } });
  const level = global.levels[1];
  const total = (counts: { remaining: number }[]) => counts.reduce((a, c) => a + c.remaining, 0);
  const [globalMask, impMask] = [await copyMask(ctx, level.randomPrune!, config), await level.level.loadMask()];
  assert.equal(total(maskCounts(globalMask)), total(maskCounts(impMask)));
  assert.notDeepEqual(
    maskCounts(globalMask).map((c) => c.remaining),
    maskCounts(impMask).map((c) => c.remaining),
    'counts move between tensors',
  );
  assert.equal(level.randomReinit, null);
  disposeMasks(globalMask);
  disposeMasks(impMask);
});

test('determinism: same seeds, same masks, accuracies, baselines; a new baseline seed, a new random mask', async () => {
  const config = sgd({ training: '12it' });
  const once = () => imp(config, { k: 3, levels: 2, baselines: true });
  const [a, b] = [await once(), await once()];
  assert.deepEqual(await maskValues(a.run), await maskValues(b.run));
  const losses = (r: ImpRunResult) =>
    r.levels.map((l) => [l.level.summary.testLoss, l.randomPrune?.summary.testLoss, l.randomReinit?.summary.testLoss]);
  assert.deepEqual(losses(a.run), losses(b.run));
  const c = await impRun(a.ctx, config, { k: 3, levels: 1, baselines: { seed: 9 } });
  assert.deepEqual(
    (await maskValues(c))[1],
    (await maskValues(a.run))[1],
    'the IMP mask does not depend on the baseline seed',
  );
  const [seeded, plain] = [
    await copyMask(a.ctx, c.levels[1].randomPrune!, config),
    await copyMask(a.ctx, a.run.levels[1].randomPrune!, config),
  ];
  assert.ok(!bits(seeded.get('fc1.kernel')!).equals(bits(plain.get('fc1.kernel')!)));
  disposeMasks(seeded);
  disposeMasks(plain);
});

test('one-shot: level 1 is pruned straight to the target density', async () => {
  const { run } = await imp(lenet({ training: '10it' }), {
    oneShot: true,
    targetDensity: 0.3,
    pruning: { tensors: {} },
  });
  assert.equal(run.mode, 'one-shot');
  assert.equal(run.levels.length, 2);
  assert.equal(Math.round(run.levels[1].level.summary.density * 266200), Math.round(0.3 * 266200));
});

test('invalid input is refused before any training, naming the field', async () => {
  const config = lenet();
  const cases: [ImpRunOptions, RegExp][] = [
    [{ levels: -1 }, /levels = -1 is invalid/],
    [{ levels: 1.5 }, /levels = 1.5 is invalid/],
    [{ targetDensity: 0 }, /targetDensity = 0 is invalid/],
    [{ targetDensity: 1.5 }, /targetDensity = 1.5 is invalid/],
    [{ k: 21, levels: 1 }, /rewindTo = 21 is step 21, past the end of training \(T = 20 iterations\)/],
    [{ k: '1ep', levels: 1 }, /step 134, past the end/],
    [{ k: 'soon', levels: 1 }, /rewindTo: "soon" is not a step/],
    [{ oneShot: true }, /targetDensity is required for one-shot/],
    [{}, /give levels \(rounds of pruning\) or targetDensity/],
    [{ levels: 1, pruning: { tensors: { 'fc9.kernel': 0.1 } } }, /tensors\['fc9.kernel'\] names no masked tensor/],
    [{ levels: 1, baselines: { seed: -2 } }, /baselines.seed = -2 is invalid/],
  ];
  const ctx = context({ onUnit: (e) => assert.notEqual(e.type, 'train', `${e.label} trained`) });
  const before = tf.memory().numTensors;
  for (const [options, message] of cases) await assert.rejects(impRun(ctx, config, options), message);
  const model = createModel('lenet_300_100', { seed: 0 });
  const masks = createMasks(model);
  model.dispose();
  masks.get('fc2.kernel')!.dispose();
  masks.set('fc2.kernel', tf.keep(tf.ones([300, 50])));
  const stored = await storeMask(ctx, masks);
  disposeMasks(masks);
  await assert.rejects(
    impRun(ctx, config, { levels: 1, initialMask: stored }),
    /mask 'fc2.kernel': shape \[300,50\] does not match lenet_300_100's parameter shape \[300,100\]/,
  );
  assert.equal(tf.memory().numTensors, before, 'refusals leak nothing');
});

test("a stored initial mask is level 0's: IMP prunes on from it", async () => {
  const config = lenet({ training: '10it' });
  const first = await imp(config, { levels: 1 });
  const level1 = first.run.levels[1].level;
  const again = await impRun(first.ctx, config, { levels: 1, initialMask: level1 });
  const [start, expected] = [await again.levels[0].level.loadMask(), await level1.loadMask()];
  for (const [name, m] of expected) assert.ok(bits(m).equals(bits(start.get(name)!)), name);
  assert.ok(again.levels[1].level.summary.density < level1.summary.density);
  disposeMasks(start);
  disposeMasks(expected);
});

test('cancellation mid-level stops IMP and frees every tensor; the rerun reports every level in order', async () => {
  const config = lenet();
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  let randomCopies = 0;
  const stopInSecondRandomCopy = (ref: UnitRef): TrainCallback[] => {
    if (!ref.label.includes('mask=random:')) return [];
    randomCopies++;
    return randomCopies === 2 ? [{ atSteps: [10], onStep: () => controller.abort() }] : [];
  };
  const ctx = context({ signal: controller.signal, callbacks: stopInSecondRandomCopy });
  await assert.rejects(
    impRun(ctx, config, { levels: 3, baselines: true }),
    (err: unknown) => (err as Error).cause instanceof TrainingCancelled,
  );
  assert.equal(tf.memory().numTensors, before, 'cancelled run leaked');
  const levels: number[] = [];
  await impRun(experimentContext({ store: ctx.store, workers: 1 }), config, {
    levels: 1,
    onLevel: (l) => {
      levels.push(l.level.level);
    },
  });
  assert.deepEqual(levels, [0, 1]);
  assert.equal(tf.memory().numTensors, before, 'a finished run leaked');
});
