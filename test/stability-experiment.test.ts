// Algorithm 1 end to end as store units, on LeNet (embedded MNIST) and ResNet-20 (generated
// CIFAR-format files): trunk reuse in sweeps, instability against its definition, determinism,
// lockstep training throughout equal to the sweep's copies, masks, cancellation, leaks.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import { type TrainConfig } from '../lib/train/config';
import { presetConfig } from '../lib/train/presets';
import { TrainingCancelled } from '../lib/train/trainer';
import { loadDataset } from '../lib/data/registry';
import { instabilitySweep, storeMask, throughoutSweep } from '../lib/experiments';
import { writeCifarDataset } from './data-fixtures';
import { counted } from './fixtures/experiments';

before(async () => {
  await initBackend('wasm');
});

// 8,000 training digits at batch 2000: 4 iterations per epoch, so epochs end at steps 4 and 8.
const lenet = (overrides: Partial<TrainConfig> = {}) =>
  presetConfig('lenet_mnist', 'smoke', { training: '8it', batchSize: 2000, evalExamples: 200, ...overrides });

test('sweep over k: one trunk run per initialization to the largest k; every copy from its k to T', async () => {
  const { ctx, trainings, steps } = counted();
  const before = tf.memory().numTensors;
  const result = await instabilitySweep(ctx, lenet({ batchSize: 60, training: '12it' }), {
    k: [8, 0, '4it'],
    inits: 2,
    pairs: 2,
    alphas: 5,
  });
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  const trunks = trainings().filter((e) => e.kind === 'trunk');
  // Per initialization: 0 -> 4, then 4 -> 8 continuing from the finished trunk at 4.
  assert.deepEqual(
    trunks.map((e) => [e.from, e.to]),
    [
      [0, 4],
      [4, 8],
      [0, 4],
      [4, 8],
    ],
  );
  assert.equal(trainings().filter((e) => e.kind === 'copy').length, 2 * 3 * 2 * 2);
  // Steps: 2 trunks x 8, plus 2 inits x 2 pairs x 2 copies x ((12-0) + (12-4) + (12-8)).
  assert.equal(steps.count, 2 * 8 + 2 * 2 * 2 * 24);
  assert.deepEqual(result.setup.ks, [0, 4, 8]);
  assert.equal(result.table.numRows(), 3 * 2 * 2 * 5 * 2);
  assert.equal(result.pairs.numRows(), 3 * 2 * 2 * 2);
  assert.deepEqual(result.table.columnNames(), [
    'k',
    'init',
    'initSeed',
    'pair',
    'run',
    'alpha',
    'split',
    'error',
    'loss',
  ]);
  assert.deepEqual(
    result.summary.map((s) => s.k),
    [0, 4, 8],
  );
  for (const s of result.summary) {
    assert.equal(s.n, 4);
    assert.equal(s.instability.test.n, 4);
    assert.equal(s.accuracy.test.n, 8, 'both copies of every pair');
    assert.ok(s.l2.mean > 0 && s.l2Prunable.mean > 0 && s.l2Prunable.mean <= s.l2.mean);
    assert.equal(s.curve.length, 5 * 2);
  }
  // Every pair's instability is max(curve) - mean(ends), checked against the curve table itself.
  for (const row of result.pairs.objects() as Record<string, number | string>[]) {
    const curve = result.table
      .filter(
        `(d) => d.k === ${row.k} && d.init === ${row.init} && d.pair === ${row.pair} && d.split === '${row.split}'`,
      )
      .objects() as { alpha: number; error: number }[];
    const at = (a: number) => curve.find((p) => p.alpha === a)!.error;
    assert.equal(row.instability, Math.max(...curve.map((p) => p.error)) - (at(0) + at(1)) / 2);
    assert.equal(row.trainedError1, at(1));
    assert.equal(row.trainedError2, at(0));
  }
  // Distinct seeds per init and per copy; the same copy seeds at every k.
  const pairs = result.pairs.objects() as { k: number; init: number; pair: number; seed1: number; seed2: number }[];
  assert.equal(new Set(pairs.flatMap((p) => [p.seed1, p.seed2])).size, 2 * 2 * 2);
  assert.equal(new Set(trunks.map((e) => e.hash)).size, 4, 'each initialization its own trunks');
});

test('identical seeds give identical tables; another data-order seed gives other copies', async () => {
  const run = (config: TrainConfig) =>
    instabilitySweep(counted().ctx, config, { k: 4, inits: 1, pairs: 1, alphas: [0, 0.5, 1] });
  const [a, b, c] = [await run(lenet()), await run(lenet()), await run(lenet({ dataOrderSeed: 1 }))];
  assert.deepEqual(a.table.objects(), b.table.objects());
  assert.deepEqual(a.pairs.objects(), b.pairs.objects());
  assert.deepEqual(a.summary, b.summary);
  assert.notDeepEqual(a.pairs.objects(), c.pairs.objects());
});

test("throughout training: copies meet each epoch; lockstep equals the sweep's copies trained one by one", async () => {
  const before = tf.memory().numTensors;
  const options = { k: 1, inits: 1, pairs: 1, alphas: 3 } as const;
  const config = lenet({ training: '9it' });
  const plain = await instabilitySweep(counted().ctx, config, options);
  const during = await throughoutSweep(counted().ctx, config, { ...options, throughout: { everyEpoch: true } });
  assert.equal(tf.memory().numTensors, before);
  assert.deepEqual(
    during.finalCurves.objects(),
    plain.table.objects(),
    'meeting during training does not change the copies',
  );
  assert.deepEqual(during.final.objects(), plain.pairs.objects());
  assert.deepEqual(during.distances.array('step'), [4, 8, 9]);
  assert.deepEqual(during.pairs.array('step'), [4, 8], "test split only, Figure 4's default");
  assert.deepEqual(during.pairs.array('split'), ['test', 'test']);
  assert.equal(during.table.numRows(), 2 * 3);
  assert.deepEqual(
    during.summary[0].throughout!.map((t) => t.step),
    [4, 8, 9],
  );
  assert.equal(during.summary[0].throughout![0].instability.test.n, 1);
  // Distances only, every 3 steps.
  const l2only = await throughoutSweep(counted().ctx, config, {
    ...options,
    throughout: { everySteps: 3, splits: [] },
  });
  assert.deepEqual(l2only.distances.array('step'), [3, 6, 9]);
  assert.equal(l2only.pairs.numRows(), 0);
  assert.deepEqual(l2only.distances.array('l2').at(-1), during.distances.array('l2').at(-1));
});

test('subnetworks: dense trunk, masked copies, density reported, factory called once per init and k', async () => {
  const mask = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([784, 300], 0, 1, 'float32', 11), 0.5), 'float32'));
  const { ctx } = counted();
  const stored = await storeMask(ctx, new Map([['fc1.kernel', mask]]));
  const fixed = await instabilitySweep(ctx, lenet(), { k: 4, inits: 1, pairs: 1, alphas: 3, mask: stored });
  const kept = mask.sum().dataSync()[0] as number;
  const expected = (kept + 300 * 100 + 100 * 10) / (784 * 300 + 300 * 100 + 100 * 10);
  assert.ok(Math.abs(fixed.summary[0].density! - expected) < 1e-12);
  const calls: number[] = [];
  const viaFactory = await instabilitySweep(ctx, lenet(), {
    k: [0, 4],
    inits: 1,
    pairs: 1,
    alphas: 3,
    subnetwork: (at) => {
      calls.push(at.k);
      return { mask: stored };
    },
  });
  assert.deepEqual(calls, [0, 4]);
  assert.deepEqual(viaFactory.pairs.filter((d) => d.k === 4).objects(), fixed.pairs.objects());
  assert.equal(fixed.summary[0].l2Prunable.mean < fixed.summary[0].l2.mean, true);
  mask.dispose();
});

test('cancelling lockstep training rejects with TrainingCancelled, leaks nothing, and does not hang', async () => {
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  let steps = 0;
  const { ctx } = counted({
    signal: controller.signal,
    callbacks: () => [
      {
        everySteps: 1,
        onStep: () => {
          if (++steps === 5) controller.abort();
        },
      },
    ],
  });
  await assert.rejects(
    throughoutSweep(ctx, lenet({ training: '12it' }), {
      k: 0,
      inits: 1,
      pairs: 1,
      alphas: 3,
      throughout: { everySteps: 2 },
    }),
    (err: unknown) => (err as Error).cause instanceof TrainingCancelled,
  );
  assert.equal(tf.memory().numTensors, before);
});

test('bad options are named: k beyond T, alphas without both ends, unknown BatchNorm policy', async () => {
  const { ctx, events } = counted();
  await assert.rejects(
    instabilitySweep(ctx, lenet(), { k: 20, inits: 1, pairs: 1 }),
    /k\[0\] = 20 is step 20, outside training \(0..8 iterations/,
  );
  await assert.rejects(
    instabilitySweep(ctx, lenet(), { alphas: [0, 0.5], inits: 1, pairs: 1 }),
    /must include 0 and 1/,
  );
  await assert.rejects(
    instabilitySweep(ctx, lenet(), { bn: 'average' as never, inits: 1, pairs: 1 }),
    /"average" is not a BatchNorm policy/,
  );
  assert.deepEqual(events, [], 'nothing was trained or stored');
});

test('ResNet-20 on generated CIFAR-format data runs end to end under both BatchNorm policies', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-stab-cifar-'));
  writeCifarDataset(path.join(dir, 'cifar10'), 16, 16);
  const dataset = loadDataset('cifar10', { dataDir: dir });
  const config = presetConfig('resnet20_standard', 'smoke', {
    training: '2it',
    batchSize: 8,
    evalExamples: 16,
    evalBatchSize: 16,
  });
  const before = tf.memory().numTensors;
  const results = [];
  for (const bn of ['interpolate', 'recompute'] as const) {
    const r = await instabilitySweep(counted({ dataset }).ctx, config, {
      k: 1,
      inits: 1,
      pairs: 1,
      alphas: 3,
      bn,
      bnBatches: 2,
      splits: ['test'],
    });
    results.push(r);
    const row = r.pairs.objects()[0] as Record<string, number>;
    assert.ok(Number.isFinite(row.instability) && row.instability >= 0, `${bn}: instability ${row.instability}`);
    assert.ok(row.l2 > 0);
  }
  assert.equal(tf.memory().numTensors, before);
  // Same copies under both policies: the trained networks' own errors agree, the curves may not.
  assert.deepEqual(results[0].pairs.array('trainedError1'), results[1].pairs.array('trainedError1'));
  assert.deepEqual(results[0].pairs.array('l2'), results[1].pairs.array('l2'));
  fs.rmSync(dir, { recursive: true });
});
