// Table 1 from the presets, its parameter counts from the models, and the pruning plan of each row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterCounts, presetPruningPlan, scheduleText, table1Count, table1FromPresets } from '../lib/notebook';
import { pruningFor } from '../lib/prune';

test('table1Count truncates as Table 1 prints: 266,610 is "266K", 25,557,032 "25.5M", 14,999,999 "14.9M"', () => {
  assert.equal(table1Count(266_610), '266K');
  assert.equal(table1Count(274_999), '274K');
  assert.equal(table1Count(25_557_032), '25.5M');
  assert.equal(table1Count(14_999_999), '14.9M');
  assert.equal(table1Count(999), '0K');
});

test('parameterCounts: LeNet counts its trainable weights, ResNet-20 its BN statistics too; both match Table 1', () => {
  const counts = parameterCounts(['lenet_300_100', 'resnet20']).objects() as Record<string, unknown>[];
  for (const row of counts) assert.equal(typeof row.buildSeconds, 'number');
  assert.deepEqual(
    counts.map(({ buildSeconds: _seconds, ...rest }) => rest),
    [
      {
        model: 'lenet_300_100',
        trainable: 266_610,
        withBnStatistics: 266_610,
        convention: 'trainable',
        computed: '266K',
        printed: '266K',
        matches: true,
      },
      {
        model: 'resnet20',
        trainable: 272_474,
        withBnStatistics: 274_042,
        convention: 'trainable + BN statistics',
        computed: '274K',
        printed: '274K',
        matches: true,
      },
    ],
  );
  const known = /parameterCounts: model "resnet21" is not in Table 1; give models among lenet_300_100, resnet20/;
  assert.throws(() => parameterCounts(['resnet21']), known);
});

test('scheduleText: step names its factor and milestones, linear decay its final rate; else constant', () => {
  const step = scheduleText({ schedule: 'step', gamma: 0.1, milestones: ['32000it', '48000it'] });
  assert.equal(step, '×0.1 at 32000it, 48000it');
  assert.equal(scheduleText({ schedule: 'linear-decay', finalLr: 0.005 }), 'linear decay to 0.005');
  assert.equal(scheduleText({ schedule: 'constant' }), 'constant');
  assert.equal(scheduleText({}), 'constant');
});

test("table1FromPresets: Table 1's nine rows in order, the paper's hyperparameters, whether the data is here", () => {
  const rows = table1FromPresets('smoke').objects() as Record<string, unknown>[];
  assert.equal(rows.length, 9);
  assert.deepEqual(
    { ...rows[0], data: typeof rows[0].data },
    {
      network: 'Lenet (MNIST)',
      model: 'lenet_300_100',
      dataset: 'mnist',
      training: '24000it',
      batch: 60,
      paperAccuracy: '98.3 ± 0.1%',
      optimizer: 'adam',
      lr: 12e-4,
      schedule: 'constant',
      warmup: '0it',
      density: 0.035,
      style: 'iterative',
      dataHere: true,
      data: 'string',
    },
  );
  const warmup = rows.find((r) => r.network === 'Resnet-20 (warmup)')!;
  assert.deepEqual(
    [warmup.optimizer, warmup.schedule, warmup.warmup, warmup.training],
    ['sgd (momentum 0.9, wd 0.0001)', '×0.1 at 32000it, 48000it', '30000it', '63000it'],
  );
  assert.equal(rows.find((r) => r.network === 'Resnet-50 (ImageNet)')!.style, 'one-shot');
});

test('presetPruningPlan: iterative rows take the rounds nearest their density, plus extras, up to maxLevels', () => {
  const lenet = presetPruningPlan('lenet_mnist');
  const expected = { mode: 'iterative', targetDensity: 0.035, pruning: pruningFor('lenet_300_100'), levels: 15 };
  assert.deepEqual(lenet, expected);
  assert.equal(presetPruningPlan('lenet_mnist', { extraLevels: 2 }).levels, 17);
  assert.equal(presetPruningPlan('lenet_mnist', { extraLevels: 2, maxLevels: 2 }).levels, 2);
  assert.equal(presetPruningPlan('resnet20_standard').levels, 8, '16.8% is 0.8^8');
});

test('presetPruningPlan: one-shot rows prune once, removing 1 − density of the weights', () => {
  const plan = presetPruningPlan('resnet50_imagenet', { maxLevels: 5, extraLevels: 2 });
  assert.equal(plan.mode, 'one-shot');
  assert.equal(plan.levels, 1);
  assert.equal(plan.pruning.fraction, 0.7);
  assert.deepEqual({ ...plan.pruning, fraction: 0.2 }, pruningFor('resnet50'), "only the fraction is not the model's");
});
