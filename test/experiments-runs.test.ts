/**
 * The store as runs: rows of every unit (what the Runs panel lists), pair curves, a selection as a
 * table and its figures, all read back from a real store of smoke-scale LeNet units; the Table 1
 * row of a training config, and a pair's row for comparing pairs.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pairRunRow } from '../lib/experiments/runs';
import { instabilityPair, listRuns, pairCurves, presetOfTraining, runsTable } from '../lib/experiments';
import type { Json, UnitInfo } from '../lib/store';
import { canonicalConfig, type TrainConfig } from '../lib/train/config';
import { presetConfig } from '../lib/train/presets';
import { pairSelectionFigures } from '../lib/display';
import { HeldLock } from '../lib/store/lock';
import { counted, lenet } from './fixtures/experiments';

test('every unit is a row (pairs with k, seeds, instability, L2); curves and selections load by hash', async () => {
  const { ctx } = counted({ workers: 1 });
  const config = lenet({ initSeed: 3 });
  const at0 = await instabilityPair(ctx, { config, k: 0, pair: 0, alphas: 5 });
  const at4 = await instabilityPair(ctx, { config, k: 4, pair: 0, alphas: 5 });
  const rows = await listRuns(ctx.store);
  const units = await ctx.store.list();
  assert.deepEqual(
    rows.map((r) => `${r.kind}/${r.hash}`),
    units.map((u) => `${u.kind}/${u.hash}`),
    'one row per unit, in the store order',
  );
  // 2 pairs, 4 copies, trunks at 0 and 4.
  const count = (kind: string) => rows.filter((r) => r.kind === kind).length;
  assert.deepEqual([count('copy'), count('instability-pair'), count('trunk'), rows.length], [4, 2, 2, 8]);
  const row = rows.find((r) => r.hash === at4.unit.hash)!;
  assert.equal(row.state, 'finished');
  assert.equal(row.status, 'finished');
  assert.equal(row.k, 4);
  assert.equal(row.pair, 0);
  assert.equal(row.initSeed, 3);
  assert.equal(row.dataOrderSeed, 0, 'a seed left out of the canonical config is the default, 0');
  assert.equal(row.preset, 'lenet_mnist');
  assert.equal(row.scale, null, '12 iterations is no scale of the preset');
  assert.equal(row.model, 'lenet_300_100');
  assert.equal(row.dataset, 'mnist');
  assert.equal(row.training, '12it');
  assert.equal(row.instabilityTest, at4.summary.splits.test.instability);
  assert.equal(row.instabilityTrain, at4.summary.splits.train.instability);
  assert.equal(row.l2, at4.summary.l2);
  assert.equal(row.step, null);
  assert.equal(row.etaSeconds, null);
  const copyRow = rows.find((r) => r.kind === 'copy')!;
  assert.equal(typeof copyRow.testError, 'number');
  assert.equal(copyRow.instabilityTest, null);

  const curves = await pairCurves(ctx.store, [at0.unit.hash.slice(0, 10), at4.unit.hash]);
  assert.deepEqual(
    curves.map((c) => c.run.k),
    [0, 4],
  );
  assert.deepEqual(curves[1].points, await at4.curve());
  assert.equal(curves[0].points.length, 10, '5 alphas on train and test');
  await assert.rejects(
    pairCurves(ctx.store, [copyRow.hash]),
    /no unit of kind "instability-pair" has a hash starting with/,
  );

  const table = await runsTable([at4.unit.hash, copyRow.hash.slice(0, 12)], ctx.store);
  assert.deepEqual(table.array('hash'), [at4.unit.hash, copyRow.hash]);
  assert.deepEqual(table.array('instabilityTest'), [at4.summary.splits.test.instability, null]);
  await assert.rejects(runsTable([], ctx.store), /no hashes given/);

  // One line per k and split along the path (5 points each); instability and L2 at the two k.
  const [path0, instability, l2] = pairSelectionFigures(curves);
  const lines = path0.data.filter((t) => t.mode !== undefined && String(t.mode).includes('lines'));
  assert.equal(lines.length, 4);
  for (const t of lines) assert.equal((t.x as number[]).length, 5);
  const instabilityLines = instability.data.filter((t) => t.mode !== undefined && String(t.mode).includes('lines'));
  assert.equal(instabilityLines.length, 2, 'test and train');
  assert.deepEqual(
    instabilityLines.map((t) => (t.y as number[]).length),
    [2, 2],
  );
  assert.deepEqual(
    l2.data.filter((t) => t.mode !== undefined && String(t.mode).includes('lines')).map((t) => t.y),
    [[at0.summary.l2, at4.summary.l2]],
  );
});

test('a unit another process trains shows as running with its step and an ETA, from its progress record', async () => {
  const { ctx } = counted({ workers: 1 });
  const config = lenet({ training: '12it' });
  const pair = await instabilityPair(ctx, { config, k: 0, pair: 0, alphas: 3 });
  // A held lock and a progress record, as a training process keeps them.
  const dir = path.join(path.dirname(path.dirname(pair.unit.dir)), 'trunk', 'f'.repeat(64));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'config.json'),
    JSON.stringify({ config: { k: 8, train: { model: 'lenet_300_100', training: '12it' } }, kind: 'trunk' }),
  );
  const lock = await HeldLock.tryAcquire(path.join(dir, '.lock'), 'compute trunk');
  assert.ok(lock);
  const now = Date.now();
  fs.writeFileSync(
    path.join(dir, '.progress.json'),
    JSON.stringify({
      step: 6,
      from: 0,
      to: 8,
      startedAt: new Date(now - 3000).toISOString(),
      updatedAt: new Date(now).toISOString(),
    }),
  );
  const running = (await listRuns(ctx.store)).find((r) => r.hash === 'f'.repeat(64))!;
  assert.equal(running.state, 'running', JSON.stringify(running));
  assert.equal(running.step, 6);
  assert.equal(running.to, 8);
  assert.equal(running.etaSeconds, 1, '6 steps took 3 s; 2 are left');
  assert.equal(running.status, 'running 6/8, ETA 1.0s');
  assert.match(running.owner ?? '', new RegExp(`process ${process.pid} on `));
  await lock.release();
  const stopped = (await listRuns(ctx.store)).find((r) => r.hash === 'f'.repeat(64))!;
  assert.deepEqual([stopped.state, stopped.status, stopped.etaSeconds], ['unfinished', 'unfinished at 6/8', null]);
});

test('presetOfTraining: a preset at a scale, seeds aside, is that preset and scale; other lengths are no scale', () => {
  const train = (config: TrainConfig) => JSON.parse(canonicalConfig(config)) as Record<string, Json>;
  const seeded = presetConfig('lenet_mnist', 'smoke', { initSeed: 7, dataOrderSeed: 3 });
  assert.deepEqual(presetOfTraining(train(seeded)), { preset: 'lenet_mnist', scale: 'smoke' });
  const warmup = presetOfTraining(train(presetConfig('resnet20_warmup', 'quick')));
  assert.deepEqual(warmup, { preset: 'resnet20_warmup', scale: 'quick' }, 'its warmup is scaled too');
  const vgg = presetOfTraining(train(presetConfig('vgg16_standard', 'paper')));
  assert.deepEqual(vgg, { preset: 'vgg16_standard', scale: 'paper' });
  const short = presetOfTraining(train(lenet()));
  assert.deepEqual(short, { preset: 'lenet_mnist', scale: null }, "12 iterations: LeNet's network and rate, no scale");
  assert.equal(presetOfTraining(train(lenet({ lr: 0.5 }))), null);
  assert.equal(presetOfTraining({}), null);
});

/** A finished pair unit as the store lists it, with the given config and a summary of test measures. */
function pairInfo(config: Record<string, Json>, summary: Record<string, Json> = {}): UnitInfo {
  return {
    kind: 'instability-pair',
    hash: 'ab'.repeat(32),
    dir: '/nowhere',
    state: 'finished',
    config,
    problems: [],
    bytes: 0,
    modified: new Date(0),
    checkpointStep: null,
    owner: null,
    progress: null,
    manifest: null,
    summary: {
      k: 0,
      pair: 0,
      initSeed: 0,
      l2: 3,
      l2Prunable: 2,
      density: null,
      splits: { test: { instability: 0.01, meanEndpointError: 0.1, trainedError1: 0.125, trainedError2: 0.375 } },
      ...summary,
    },
  };
}

test('pairRunRow: the network from the mask and reinit, the BN policy, the α count, a path without the policy', () => {
  const train = { model: 'lenet_300_100' };
  const unpruned = pairRunRow(pairInfo({ train, k: 0, pair: 0, curve: 1 }));
  const { subnetwork, bn, alphas, testAccuracy, testEndpointError, l2Prunable } = unpruned;
  const measured = [subnetwork, bn, alphas, testAccuracy, testEndpointError, l2Prunable];
  assert.deepEqual(measured, ['unpruned', 'interpolate', 30, 0.75, 0.1, 2]);
  assert.equal(pairRunRow(pairInfo({ train, mask: { imp: 'x' } })).subnetwork, 'imp');
  assert.equal(pairRunRow(pairInfo({ train, mask: { imp: 'x' }, reinit: 4 })).subnetwork, 'random-reinit');
  assert.equal(pairRunRow(pairInfo({ train, mask: { randomPrune: 'x' } })).subnetwork, 'random-prune');
  assert.equal(pairRunRow(pairInfo({ train, mask: { sha256: 'x' } })).subnetwork, 'stored-mask');
  const recomputed = pairRunRow(pairInfo({ train, k: 0, pair: 0, curve: 1, bn: 'recompute', bnBatches: 4, bnSeed: 1 }));
  assert.equal(recomputed.bn, 'recompute');
  assert.equal(recomputed.pathHash, unpruned.pathHash, 'the same copies under the other policy share the path');
  assert.notEqual(pairRunRow(pairInfo({ train, k: 0, pair: 1, curve: 1 })).pathHash, unpruned.pathHash);
  assert.equal(pairRunRow(pairInfo({ train, alphas: [0, 0.5, 1] })).alphas, 3);
});
