// Units of work in the store on smoke-scale LeNet (embedded MNIST): a finished unit answers without
// training, an interrupted trunk resumes to identical weights, an IMP run and a sweep train each
// unit once, and a fresh computation in another store gives the same files byte for byte.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import { TrainingCancelled, type TrainCallback } from '../lib/train/trainer';
import { disposeState } from '../lib/train/state';
import { openStore, StoreError } from '../lib/store';
import { CURVE_ARITHMETIC } from '../lib/stability';
import {
  copy,
  experimentContext,
  impLevel,
  impRun,
  instabilityPair,
  instabilitySweep,
  storeMask,
  trunk,
  type ExperimentOptions,
  type UnitEvent,
} from '../lib/experiments';

import { counted, lenet, tempStore } from './fixtures/experiments';

before(async () => {
  await initBackend('wasm');
});

function bits(t: tf.Tensor): Buffer {
  const a = t.dataSync() as Float32Array;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

test('a finished unit is answered from the store without training, in well under a second', async () => {
  const { ctx, trainings, steps } = counted();
  const config = lenet();
  const w = await trunk(ctx, config, 4);
  const c = await copy(ctx, { config: { ...config, dataOrderSeed: 7 }, k: 4, trunkSeed: 0 });
  const level = await impLevel(ctx, config, 1, { k: 4 });
  const pair = await instabilityPair(ctx, { config, k: 4, pair: 0, alphas: 5 });
  // trunk 4 (shared by IMP); copy 8; IMP levels 0 and 1, 8 each; the pair's trunk (its own seed) 4 and two copies of 8.
  assert.equal(steps.count, 4 + 8 + 8 + 8 + 4 + 8 + 8);
  const before = trainings().length;
  assert.equal(before, 7);
  // A new context (as in a new session) on the same store: every request is a hit.
  const again = experimentContext({
    store: openStore(ctx.store.root),
    onUnit: (e) => assert.notEqual(e.type, 'train'),
  });
  for (const request of [
    () => trunk(again, config, 4),
    () => copy(again, { config: { ...config, dataOrderSeed: 7 }, k: 4, trunkSeed: 0 }),
    () => impLevel(again, config, 1, { k: 4 }),
    () => instabilityPair(again, { config, k: 4, pair: 0, alphas: 5 }),
  ]) {
    const started = performance.now();
    const result = await request();
    assert.ok(performance.now() - started < 1000, `${result.ref.label} answered in ${performance.now() - started} ms`);
    assert.equal(result.unit.computed, false);
  }
  assert.equal(trainings().length, before, 'nothing trained the second time');
  assert.equal(w.k, 4);
  assert.ok(c.summary.testAccuracy > 0.1 && c.summary.density === null);
  assert.ok(level.summary.density < 1 && level.summary.density > 0.7);
  assert.deepEqual(Object.keys(pair.summary.splits).sort(), ['test', 'train']);
  assert.equal((await pair.curve()).length, 5 * 2);
  // The evaluation arithmetic is part of a pair's identity, default or not: older curves are never reused.
  assert.equal((pair.unit.config as { curve?: number }).curve, CURVE_ARITHMETIC);
  // A pair with other alphas reuses both copies: only the curve is new.
  await instabilityPair(ctx, { config, k: 4, pair: 0, alphas: 3 });
  assert.equal(trainings().length, before);
});

test('an interrupted trunk resumes from its last checkpoint and ends with identical weights', async () => {
  const config = lenet({ training: '40it' });
  const controller = new AbortController();
  const stopAt: TrainCallback = {
    everySteps: 1,
    onStep: (s) => {
      if (s.step === 15) controller.abort();
    },
  };
  const { ctx, trainings } = counted({ checkpointEvery: 4, signal: controller.signal, callbacks: () => [stopAt] });
  await assert.rejects(
    trunk(ctx, config, 24),
    (err: unknown) =>
      err instanceof StoreError && err.code === 'COMPUTE_FAILED' && (err as Error).cause instanceof TrainingCancelled,
  );
  assert.equal((await ctx.store.list())[0].state, 'unfinished');
  assert.equal((await ctx.store.list())[0].checkpointStep, 12);
  const resumed = counted({ store: ctx.store, checkpointEvery: 4 } as ExperimentOptions);
  const result = await trunk(resumed.ctx, config, 24);
  assert.deepEqual(
    resumed.trainings().map((e) => [e.from, e.to, e.resumed]),
    [[12, 24, true]],
  );
  assert.equal(resumed.steps.count, 12, 'only the steps after the checkpoint were trained');
  assert.equal(trainings().length, 1);
  // The same trunk uninterrupted, in another store: the same bytes.
  const fresh = await trunk(counted().ctx, config, 24);
  assert.equal(
    result.unit.manifest.files['state.safetensors'].sha256,
    fresh.unit.manifest.files['state.safetensors'].sha256,
  );
  const [a, b] = [await result.loadState(), await fresh.loadState()];
  assert.equal(a.step, 24);
  assert.ok(a.optimizer && a.optimizer.updates === 24, 'the optimizer state at k is kept');
  for (const [name, t] of a.weights) assert.ok(bits(t).equals(bits(b.weights.get(name)!)), name);
  disposeState(a);
  disposeState(b);
});

test('an interrupted IMP level (masked, Adam restarted at k) resumes to the same mask, weights, accuracy', async () => {
  const config = lenet({ training: '40it' });
  const controller = new AbortController();
  const stopAt = (label: string): TrainCallback[] =>
    label.includes('level=1')
      ? [
          {
            everySteps: 1,
            onStep: (s) => {
              if (s.step === 21) controller.abort();
            },
          },
        ]
      : [];
  const first = experimentContext({
    store: tempStore(),
    workers: 1,
    checkpointEvery: 8,
    signal: controller.signal,
    callbacks: (run) => stopAt(run.label),
  });
  await assert.rejects(
    impLevel(first, config, 1, { k: 4 }),
    (err: unknown) => (err as Error).cause instanceof TrainingCancelled,
  );
  const events: UnitEvent[] = [];
  const again = experimentContext({
    store: first.store,
    workers: 1,
    checkpointEvery: 8,
    onUnit: (e) => events.push(e),
  });
  const resumed = await impLevel(again, config, 1, { k: 4 });
  assert.deepEqual(
    events.filter((e) => e.type === 'train').map((e) => [e.label, e.from, e.via]),
    [['imp-level k=4 level=1', 16, 'checkpoint']],
  );
  const fresh = await impLevel(counted().ctx, config, 1, { k: 4 });
  assert.equal(resumed.summary.testAccuracy, fresh.summary.testAccuracy);
  for (const file of ['mask.safetensors', 'final.safetensors'])
    assert.equal(resumed.unit.manifest.files[file].sha256, fresh.unit.manifest.files[file].sha256, file);
});

test('an IMP run trains the trunk, each level and baseline once; extending it trains only the new level', async () => {
  const config = lenet();
  const { ctx, trainings } = counted();
  const run = await impRun(ctx, config, { k: 4, levels: 2, baselines: true });
  assert.equal(trainings().length, 1 + 3 + 2 * 2, 'trunk, three levels, two baselines at levels 1 and 2');
  assert.deepEqual(run.table.columnNames(), [
    'level',
    'density',
    'method',
    'testAccuracy',
    'testError',
    'testLoss',
    'run',
    'unit',
  ]);
  assert.equal(run.table.numRows(), 3 + 2 * 2);
  // Extending the run to level 3 trains level 3 and its baselines only.
  const before = trainings().length;
  await impRun(ctx, config, { k: 4, levels: 3, baselines: true });
  assert.deepEqual(
    trainings()
      .slice(before)
      .map((e) => e.label.split(' ')[0]),
    ['imp-level', 'copy', 'copy'],
  );
});

test('a sweep reuses the shorter trunk, and a second sweep in the same store trains nothing', async () => {
  const config = lenet();
  const options = { k: [0, 4, 8], inits: 1, pairs: 1, alphas: 5 };
  const { ctx, trainings } = counted();
  const sweep = await instabilitySweep(ctx, config, options);
  // Trunks: 0 -> 4, then 4 -> 8 from the finished trunk at 4 (k = 0 needs no training).
  assert.deepEqual(
    trainings()
      .filter((e) => e.kind === 'trunk')
      .map((e) => [e.from, e.to, e.resumed]),
    [
      [0, 4, false],
      [4, 8, true],
    ],
  );
  const count = trainings().length;
  const again = await instabilitySweep(ctx, config, options);
  assert.equal(trainings().length, count);
  assert.deepEqual(again.pairs.objects(), sweep.pairs.objects());
  assert.deepEqual(again.summary, sweep.summary);
});

test('a fresh computation in another store writes the same files byte for byte, and leaks no tensor', async () => {
  const config = lenet();
  const tensors = tf.memory().numTensors;
  const digests = async () => {
    const { ctx } = counted();
    await impRun(ctx, config, { k: 0, levels: 1, baselines: true });
    await instabilityPair(ctx, { config, k: 4, pair: 1, alphas: 4 });
    const units = await ctx.store.list();
    return new Map(
      units.map((u) => [`${u.kind}/${u.hash}`, JSON.stringify(u.manifest!.files) + JSON.stringify(u.summary)]),
    );
  };
  const [first, second] = [await digests(), await digests()];
  assert.equal(first.size, 9);
  assert.deepEqual([...second], [...first]);
  assert.equal(tf.memory().numTensors, tensors);
});

test('masks are named by the IMP level that made them or by content; missing ones are explained', async () => {
  const { ctx, trainings } = counted();
  const config = lenet();
  const level = await impLevel(ctx, config, 1);
  const byResult = await copy(ctx, { config: { ...config, dataOrderSeed: 3 }, k: 0, mask: level });
  const byHash = await copy(ctx, { config: { ...config, dataOrderSeed: 3 }, k: 0, mask: { imp: level.ref.hash } });
  assert.equal(byHash.ref.hash, byResult.ref.hash);
  assert.equal(byResult.summary.density, level.summary.density);
  const stored = await storeMask(ctx, await level.loadMask());
  const byContent = await copy(ctx, { config: { ...config, dataOrderSeed: 3 }, k: 0, mask: { sha256: stored.sha256 } });
  assert.notEqual(byContent.ref.hash, byResult.ref.hash, 'a different identity...');
  assert.equal(byContent.summary.testAccuracy, byResult.summary.testAccuracy, '...for the same training');
  const count = trainings().length;
  await assert.rejects(
    copy(ctx, { config, k: 0, mask: { imp: 'ab'.repeat(32) } }),
    /imp-level unit abababababab is not finished in the store/,
  );
  await assert.rejects(copy(ctx, { config, k: 0, mask: { imp: 'xyz' } }), /is not a hash/);
  await assert.rejects(copy(ctx, { config, k: '900it' }), /outside training \(0\.\.12 iterations/);
  assert.equal(trainings().length, count + 0, 'no training started for a bad request');
});
