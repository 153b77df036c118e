// The units behind the notebooks' sparse and throughout figures (smoke-scale LeNet, embedded
// MNIST): sparseSweep trains each initialization's own IMP subnetwork and its two baselines
// with impRun's masks and seeds, throughoutSweep meets during training and ends at the networks
// a plain sweep trains, both answer a second call from the
// store; presetData tells absent data (a notice) from damaged data (an error).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { initSeedsFor } from '../lib/stability';
import { reinitSeed } from '../lib/prune/random';
import { clearDatasetCache } from '../lib/data';
import { impLevel, instabilityPair, instabilitySweep, sparseSweep, throughoutSweep } from '../lib/experiments';
import { MIME_BUNDLE, accuracyStepPlot } from '../lib/display';
import { notebookContext, presetData } from '../lib/notebook';

import { counted, lenet, tempDir, tempStore } from './fixtures/experiments';

before(async () => {
  await initBackend('wasm');
});

test("sparseSweep: an IMP mask per init; baselines use impRun's masks and seeds; a rerun trains nothing", async () => {
  const { ctx, trainings } = counted();
  const config = lenet();
  const result = await sparseSweep(ctx, config, { k: [0, 4], inits: 2, pairs: 1, levels: 1, alphas: 3 });
  assert.deepEqual(result.summary.columnNames().slice(0, 4), ['method', 'k', 'density', 'n']);
  assert.deepEqual(
    (result.summary.objects() as Record<string, unknown>[]).map((r) => `${r.method}@${r.k}`),
    ['imp@0', 'imp@4', 'random-prune@0', 'random-prune@4', 'random-reinit@0', 'random-reinit@4'],
  );
  // Two splits per pair; two trained copies per pair.
  assert.equal(result.pairs.numRows(), 3 * 2 * 2 * 2);
  assert.equal(result.accuracy.numRows(), 3 * 2 * 2 * 2);
  assert.equal(result.table.numRows(), 3 * 2 * 2 * 3 * 2);
  const seeds = initSeedsFor(config.initSeed, config.dataOrderSeed, 2);
  for (const method of ['imp', 'random-prune', 'random-reinit'] as const) {
    for (const unit of result.sweeps[method]!.units) {
      const s = unit.summary;
      const initConfig = { ...config, initSeed: s.initSeed };
      const level = await impLevel(ctx, initConfig, 1, { k: s.k });
      const key = unit.unit.config as Record<string, unknown>;
      const expected =
        method === 'imp'
          ? { imp: level.ref.hash }
          : method === 'random-prune'
            ? { randomPrune: level.ref.hash }
            : { imp: level.ref.hash };
      assert.deepEqual(key.mask, expected, `${method} k=${s.k}: mask`);
      assert.equal(
        key.reinit,
        method === 'random-reinit' ? reinitSeed(s.initSeed, 1) : undefined,
        `${method}: reinit seed`,
      );
      assert.equal(s.density, level.summary.density);
    }
  }
  // The two initializations prune different weights.
  const masks = await Promise.all(
    seeds.map(async (s) => (await impLevel(ctx, { ...config, initSeed: s.initSeed }, 1, { k: 0 })).ref.hash),
  );
  assert.notEqual(masks[0], masks[1]);
  // A pair measured directly with the same spec is the same unit, with the same numbers.
  const imp0 = result.sweeps.imp!.units[0];
  const level = await impLevel(ctx, { ...config, initSeed: imp0.summary.initSeed }, 1, { k: 0 });
  const direct = await instabilityPair(ctx, {
    config: { ...config, initSeed: imp0.summary.initSeed },
    k: 0,
    pair: 0,
    mask: level,
    trunkSeed: config.dataOrderSeed,
    alphas: 3,
  });
  assert.equal(direct.ref.hash, imp0.ref.hash);
  const count = trainings().length;
  const again = await sparseSweep(ctx, config, { k: [0, 4], inits: 2, pairs: 1, levels: 1, alphas: 3 });
  assert.equal(trainings().length, count, 'everything came from the store');
  assert.deepEqual(again.summary.objects(), result.summary.objects());
  await assert.rejects(
    sparseSweep(ctx, config, { levels: 0 }),
    /give levels \(a whole number of pruning rounds >= 1\)/,
  );
  await assert.rejects(
    sparseSweep(ctx, config, { levels: 1, methods: ['lottery' as never] }),
    /methods \[lottery\]; choose from imp, random-prune, random-reinit/,
  );
});

test('throughoutSweep meets at every 4 steps, ends at the networks a sweep trains, and is cached', async () => {
  const config = lenet();
  const options = { k: [0, 4], inits: 1, pairs: 2, alphas: 3 };
  const throughout = { everySteps: 4, splits: ['test' as const] };
  const { ctx, trainings } = counted();
  const cached = await throughoutSweep(ctx, config, { ...options, throughout });
  assert.deepEqual(
    [...new Set(cached.pairs.array('step') as number[])].sort((a, b) => a - b),
    [4, 8, 12],
    'the copies meet every 4 steps, up to T',
  );
  assert.ok(cached.pairs.numRows() > 0 && cached.distances.numRows() > 4, 'meetings measured');
  const sweep = await instabilitySweep(ctx, config, options);
  assert.deepEqual(cached.final.objects(), sweep.pairs.objects(), 'same end points as the sweep');
  const count = trainings().length;
  const again = await throughoutSweep(ctx, config, { ...options, throughout });
  assert.equal(trainings().length, count);
  assert.deepEqual(again.summary, cached.summary);
  assert.equal(
    cached.summary[0].throughout!.length,
    new Set((cached.distances.objects() as Record<string, unknown>[]).filter((r) => r.k === 0).map((r) => r.step)).size,
  );
  await assert.rejects(
    throughoutSweep(ctx, config, { throughout: {} }),
    /throughout needs everyEpoch: true or everySteps: n/,
  );
});

test('presetData: absent data gives a notice naming the download and LMC_DATA_DIR; damaged data still throws', () => {
  const saved = process.env.LMC_DATA_DIR;
  const dir = tempDir();
  process.env.LMC_DATA_DIR = dir;
  clearDatasetCache();
  try {
    const missing = presetData('resnet20_standard', 'smoke');
    assert.equal(missing.ok, false);
    assert.equal(missing.dataset, null);
    assert.equal(missing.config.model, 'resnet20');
    const bundle = missing.notice![MIME_BUNDLE]();
    assert.match(String(bundle['text/plain']), /cifar-10-binary\.tar\.gz/);
    assert.match(
      String(bundle['text/plain']),
      new RegExp(`LMC_DATA_DIR \\(set to ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`),
    );
    assert.match(String(bundle['text/html']), /process\.env\.LMC_DATA_DIR/);
    assert.match(presetData('resnet50_imagenet', 'smoke').notice!.text, /image-net\.org/);
    const present = presetData('lenet_mnist', 'smoke');
    assert.equal(present.ok, true);
    assert.ok(present.dataset!.train.size > 0);
    // A truncated CIFAR-10 file is damage, not absence: it must not be skipped quietly.
    fs.mkdirSync(path.join(dir, 'cifar10'));
    fs.writeFileSync(path.join(dir, 'cifar10', 'test_batch.bin'), Buffer.alloc(100));
    for (let i = 1; i <= 5; i++) fs.writeFileSync(path.join(dir, 'cifar10', `data_batch_${i}.bin`), Buffer.alloc(3073));
    clearDatasetCache();
    assert.throws(
      () => presetData('resnet20_standard', 'smoke'),
      /test_batch\.bin: 100 bytes is not a whole number of 3073-byte records/,
    );
    assert.throws(() => presetData('resnet21', 'smoke'), /unknown preset "resnet21"/);
  } finally {
    if (saved === undefined) delete process.env.LMC_DATA_DIR;
    else process.env.LMC_DATA_DIR = saved;
    clearDatasetCache();
  }
});

test('accuracyStepPlot draws accuracy against k per method with the dense band at mean ± std', () => {
  const rows = [0, 1].flatMap((run) =>
    [0, 100].flatMap((k) =>
      ['imp', 'random-prune'].map((method) => ({
        k,
        method,
        run,
        accuracy: 0.9 + 0.01 * run + (method === 'imp' ? 0.05 : 0),
      })),
    ),
  );
  const fig = accuracyStepPlot(rows, { seriesBy: 'method', dense: [0.95, 0.97], xScale: 'even' });
  const layout = fig.layout as {
    yaxis: { title: { text: string } };
    shapes: { y0: number; y1: number; type: string }[];
  };
  assert.equal(layout.yaxis.title.text, 'Test Accuracy (%)');
  const band = layout.shapes.find((s) => s.type === 'rect')!;
  assert.ok(Math.abs(band.y0 - 95) < 1e-9 && Math.abs(band.y1 - 97) < 1e-9, `band ${band.y0}..${band.y1}`);
  const imp = fig.data.find((t) => t.name === 'IMP' && (t as { mode?: string }).mode?.includes('lines')) as
    { y: number[] } | undefined;
  assert.ok(imp, 'an IMP line');
  assert.deepEqual(
    imp.y.map((y) => Math.round(y * 1000) / 1000),
    [95.5, 95.5],
  );
});

test('notebookContext counts units computed and found, and draws each training into one display', async () => {
  const updates: unknown[] = [];
  const ctx = notebookContext({ update: (b) => updates.push(b) }, { store: tempStore() });
  const config = lenet({ training: '4it' });
  await instabilitySweep(ctx, config, { k: 0, inits: 1, pairs: 1, alphas: 3 });
  const first = ctx.counts();
  assert.ok(first.computed >= 3, JSON.stringify(first));
  assert.ok(updates.length >= 2);
  assert.match(String((updates.at(-1) as Record<string, unknown>)['text/plain']), /copy k=0/);
  await instabilitySweep(ctx, config, { k: 0, inits: 1, pairs: 1, alphas: 3 });
  assert.deepEqual(
    ctx.counts(),
    { computed: first.computed, found: first.found + 1 },
    'the pair answered at once from the store',
  );
});
