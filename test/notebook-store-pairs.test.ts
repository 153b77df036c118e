// Every instability pair of a store as one table for exploring (notebook 07), read from a real
// store of smoke-scale LeNet pairs: the same copies under both BatchNorm policies share a path.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../lib/backend';
import { instabilityPair } from '../lib/experiments';
import { storePairsTable } from '../lib/notebook';
import { presetConfig } from '../lib/train/presets';
import { counted, lenet } from './fixtures/experiments';

before(async () => {
  await initBackend('wasm');
});

test('storePairsTable: a row per finished pair, preset and scale or custom; one path for both policies', async () => {
  const { ctx } = counted();
  const short = lenet({ training: '4it' });
  const custom = await instabilityPair(ctx, { config: short, k: 0, pair: 0, alphas: 3 });
  const recomputed = await instabilityPair(ctx, { config: short, k: 0, pair: 0, alphas: 3, bn: 'recompute' });
  const smokeConfig = presetConfig('lenet_mnist', 'smoke', { initSeed: 2 });
  const smoke = await instabilityPair(ctx, { config: smokeConfig, k: 36, pair: 0, alphas: 3 });
  const table = await storePairsTable(ctx.store);
  assert.deepEqual(table.columnNames(), [
    'unit',
    'preset',
    'scale',
    'model',
    'T',
    'data',
    'k',
    'init',
    'pair',
    'kind',
    'density',
    'bn',
    'alphas',
    'path',
    'testInstability',
    'trainInstability',
    'testEndpointError',
    'testAccuracy',
    'l2',
    'l2Prunable',
  ]);
  const rows = table.objects() as Record<string, unknown>[];
  assert.equal(rows.length, 3);
  const byUnit = (hash: string) => rows.find((r) => r.unit === hash.slice(0, 12))!;
  const a = byUnit(custom.unit.hash);
  const b = byUnit(recomputed.unit.hash);
  const c = byUnit(smoke.unit.hash);
  assert.deepEqual(
    [a.preset, a.scale, a.T, a.k, a.kind, a.density, a.bn, a.alphas],
    ['custom', 'custom', '4it', 0, 'unpruned', 1, 'interpolate', 3],
  );
  assert.deepEqual([b.bn, b.path], ['recompute', a.path]);
  assert.deepEqual([c.preset, c.scale, c.T, c.k, c.init], ['lenet_mnist', 'smoke', '40it', 36, '2']);
  assert.notEqual(c.path, a.path);
  const measured = custom.summary.splits.test;
  assert.equal(a.testInstability, measured.instability);
  assert.equal(a.testAccuracy, 1 - (measured.trainedError1 + measured.trainedError2) / 2);
  assert.equal(a.l2Prunable, custom.summary.l2Prunable);
});
