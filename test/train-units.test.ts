// Steps, schedules, optimizers, presets and config validation, each checked by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { parseStep, toIterations, formatStep } from '../lib/train/step';
import { learningRateAt, type ScheduleSpec } from '../lib/train/schedule';
import { createOptimizer, type OptimizerSpec } from '../lib/train/optimizers';
import { PRESETS, getPreset, roundsToDensity, presetConfig, presetNames } from '../lib/train/presets';
import {
  applySettings,
  canonicalConfig,
  validateConfig,
  resolveConfig,
  shortenTraining,
  DEFAULTS,
} from '../lib/train/config';

test('steps parse "it" and "ep" and convert with ceil(train size / batch)', () => {
  assert.deepEqual(parseStep('2000it'), { value: 2000, unit: 'it' });
  assert.deepEqual(parseStep('10ep'), { value: 10, unit: 'ep' });
  assert.deepEqual(parseStep(' 7 '), { value: 7, unit: 'it' });
  assert.equal(formatStep(parseStep('90ep')), '90ep');
  // 8,000 digits at batch 60: ceil(133.3) = 134 iterations per epoch.
  assert.equal(toIterations('10ep', Math.ceil(8000 / 60)), 1340);
  assert.equal(toIterations('2000it', 134), 2000);
  assert.throws(() => parseStep('12 steps'), /"12 steps" is not a step/);
  assert.throws(() => parseStep('1.5it'), /fractional/);
  assert.throws(() => parseStep(-3), /not a step/);
});

test('schedules: step drops, warmup from the first update, linear decay to the floor', () => {
  const base: ScheduleSpec = {
    kind: 'step',
    lr: 0.1,
    milestones: [32000, 48000],
    gamma: 0.1,
    warmup: 0,
    finalLr: 0,
    total: 63000,
  };
  assert.equal(learningRateAt(base, 0), 0.1);
  assert.equal(learningRateAt(base, 31999), 0.1);
  assert.ok(Math.abs(learningRateAt(base, 32000) - 0.01) < 1e-15);
  assert.ok(Math.abs(learningRateAt(base, 48000) - 0.001) < 1e-15);
  const warm = { ...base, warmup: 30000, lr: 0.03 };
  assert.ok(Math.abs(learningRateAt(warm, 0) - 0.03 / 30000) < 1e-15);
  assert.ok(Math.abs(learningRateAt(warm, 14999) - 0.015) < 1e-12);
  assert.equal(learningRateAt(warm, 29999), 0.03);
  assert.equal(learningRateAt(warm, 30000), 0.03);
  const decay: ScheduleSpec = {
    kind: 'linear-decay',
    lr: 0.03,
    milestones: [],
    gamma: 0.1,
    warmup: 0,
    finalLr: 0.005,
    total: 101,
  };
  assert.equal(learningRateAt(decay, 0), 0.03);
  assert.ok(Math.abs(learningRateAt(decay, 50) - 0.0175) < 1e-12);
  assert.ok(Math.abs(learningRateAt(decay, 100) - 0.005) < 1e-12);
  assert.equal(learningRateAt({ ...base, kind: 'constant' }, 50000), 0.1);
});

const sgd: OptimizerSpec = { name: 'sgd', momentum: 0.9, weightDecay: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
const adam: OptimizerSpec = { name: 'adam', momentum: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

test('SGD with momentum and weight decay follows torch.optim.SGD by hand', async () => {
  await tf.setBackend('cpu');
  const w = tf.variable(tf.tensor1d([1, -2]));
  const params = new Map([['w', w]]);
  const opt = createOptimizer(sgd);
  // Update 1: d = g + 0.1 w = [0.5+0.1, 0.5-0.2] = [0.6, 0.3]; buf = d; w -= 0.5 * buf.
  opt.apply(params, new Map([['w', tf.tensor1d([0.5, 0.5])]]), 0.5);
  assertClose(w.dataSync(), [1 - 0.3, -2 - 0.15]);
  // Update 2: d = 0.5 + 0.1 * [0.7, -2.15] = [0.57, 0.285]; buf = 0.9*[0.6,0.3] + d = [1.11, 0.555].
  opt.apply(params, new Map([['w', tf.tensor1d([0.5, 0.5])]]), 0.5);
  assertClose(w.dataSync(), [0.7 - 0.555, -2.15 - 0.2775]);
  assert.equal(opt.state.updates, 2);
  opt.dispose();
  w.dispose();
});

test('Adam: the first update moves each weight by lr * sign(g) (bias correction)', async () => {
  await tf.setBackend('cpu');
  const w = tf.variable(tf.tensor1d([1, 1, 1]));
  const opt = createOptimizer(adam);
  opt.apply(new Map([['w', w]]), new Map([['w', tf.tensor1d([3, -0.01, 100])]]), 0.001);
  assertClose(w.dataSync(), [0.999, 1.001, 0.999], 1e-6);
  opt.dispose();
  w.dispose();
});

test('masked updates: pruned weights stay exactly zero and their slots never move', async () => {
  await tf.setBackend('cpu');
  const w = tf.variable(tf.tensor1d([1, 2, 3]));
  const mask = tf.tensor1d([1, 0, 1]);
  const opt = createOptimizer({ ...sgd });
  for (let i = 0; i < 3; i++)
    opt.apply(new Map([['w', w]]), new Map([['w', tf.tensor1d([1, 1, 1])]]), 0.1, new Map([['w', mask]]));
  const values = w.dataSync();
  assert.ok(values[1] === 0, 'pruned weight is zero (either sign)');
  assert.ok(values[0] !== 1 && values[2] !== 3);
  assert.ok(opt.state.slots.get('w/momentum')!.dataSync()[1] === 0);
  opt.dispose();
});

test('presets are the nine rows of Table 1, value for value', () => {
  const row = (name: string) => presetConfig(name, 'paper');
  assert.deepEqual(
    [...PRESETS.keys()],
    [
      'lenet_mnist',
      'resnet20_standard',
      'resnet20_low',
      'resnet20_warmup',
      'vgg16_standard',
      'vgg16_low',
      'vgg16_warmup',
      'resnet50_imagenet',
      'inceptionv3_imagenet',
    ],
  );
  const lenet = row('lenet_mnist');
  assert.deepEqual(
    [
      lenet.model,
      lenet.dataset,
      lenet.training,
      lenet.batchSize,
      lenet.optimizer,
      lenet.lr,
      lenet.schedule,
      lenet.warmup,
      lenet.weightDecay,
    ],
    ['lenet_300_100', 'mnist', '24000it', 60, 'adam', 12e-4, 'constant', '0it', 0],
  );
  const cifar: [string, string, number, string, number][] = [
    ['resnet20_standard', 'resnet20', 0.1, '0it', 0.168],
    ['resnet20_low', 'resnet20', 0.01, '0it', 0.086],
    ['resnet20_warmup', 'resnet20', 0.03, '30000it', 0.069],
    ['vgg16_standard', 'vgg16', 0.1, '0it', 0.015],
    ['vgg16_low', 'vgg16', 0.01, '0it', 0.055],
    ['vgg16_warmup', 'vgg16', 0.1, '30000it', 0.015],
  ];
  for (const [name, model, lr, warmup, density] of cifar) {
    const c = row(name);
    assert.deepEqual(
      [
        c.model,
        c.dataset,
        c.training,
        c.batchSize,
        c.optimizer,
        c.momentum,
        c.weightDecay,
        c.lr,
        c.schedule,
        c.milestones,
        c.gamma,
        c.warmup,
      ],
      [model, 'cifar10', '63000it', 128, 'sgd', 0.9, 1e-4, lr, 'step', ['32000it', '48000it'], 0.1, warmup],
      name,
    );
    assert.equal(getPreset(name).targetDensity, density);
    assert.equal(getPreset(name).pruning, 'iterative');
  }
  const r50 = row('resnet50_imagenet');
  assert.deepEqual(
    [r50.training, r50.batchSize, r50.lr, r50.schedule, r50.milestones, r50.warmup, r50.momentum],
    ['90ep', 1024, 0.4, 'step', ['30ep', '60ep', '80ep'], '5ep', 0.9],
  );
  const inc = row('inceptionv3_imagenet');
  assert.deepEqual(
    [inc.training, inc.batchSize, inc.lr, inc.schedule, inc.finalLr, inc.warmup],
    ['171ep', 1024, 0.03, 'linear-decay', 0.005, '0it'],
  );
  assert.equal(getPreset('resnet50_imagenet').pruning, 'one-shot');
  assert.equal(getPreset('lenet_mnist').targetDensity, 0.035);
  // Density after n rounds of 20% is 0.8^n: 3.5% after 15 rounds, 16.8% after 8.
  assert.equal(roundsToDensity(0.035), 15);
  assert.equal(roundsToDensity(0.168), 8);
});

test('shortenTraining shrinks milestones and warmup with T as the quick scale does, and keeps T in its unit', () => {
  const quick = presetConfig('resnet20_standard', 'quick');
  assert.deepEqual(shortenTraining(presetConfig('resnet20_standard'), '2000it'), quick);
  const warmup = shortenTraining(presetConfig('resnet20_warmup'), '630it');
  assert.deepEqual(
    [warmup.training, warmup.milestones, warmup.warmup, warmup.lr],
    ['630it', ['320it', '480it'], '300it', 0.03],
  );
  assert.throws(
    () => shortenTraining(presetConfig('resnet20_standard'), '2ep', 'notebook 08'),
    /notebook 08: resnet20 trains for 63000it; its shortened length 2ep must use the same unit/,
  );
});

test('scales: quick keeps hyperparameters and shrinks milestones with T; smoke is tiny', () => {
  const quick = presetConfig('lenet_mnist', 'quick');
  assert.equal(quick.training, '2000it');
  assert.equal(quick.lr, 12e-4);
  assert.equal(quick.batchSize, 60);
  const r20 = presetConfig('resnet20_warmup', 'quick');
  assert.equal(r20.training, '2000it');
  assert.deepEqual(r20.milestones, [
    `${Math.round((32000 * 2000) / 63000)}it`,
    `${Math.round((48000 * 2000) / 63000)}it`,
  ]);
  assert.equal(r20.warmup, `${Math.round((30000 * 2000) / 63000)}it`);
  assert.equal(r20.batchSize, 128);
  const smoke = presetConfig('resnet50_imagenet', 'smoke');
  assert.equal(smoke.training, '0.0001ep');
  assert.ok(smoke.batchSize <= 8 && smoke.imageSize <= 32);
  // A tiny fraction of an epoch still trains at least one iteration.
  assert.equal(resolveConfig(smoke, 20).totalIterations, 1);
  // Every Table 1 row scales, Inception-v3 included (171 epochs beside the default warmup '0it').
  for (const name of presetNames())
    for (const scale of ['quick', 'smoke'] as const)
      assert.doesNotThrow(() => presetConfig(name, scale), `${name} at ${scale}`);
  const inception = presetConfig('inceptionv3_imagenet', 'quick');
  assert.deepEqual(
    [inception.training, inception.warmup, inception.finalLr, inception.imageSize],
    ['2ep', '0it', 0.005, 299],
  );
  // Training includes the auxiliary head, which needs 299x299 inputs: no scale may shrink them.
  assert.equal(presetConfig('inceptionv3_imagenet', 'smoke').imageSize, 299);
  assert.equal(presetConfig('inceptionv3_imagenet').imageSize, 299);
});

test('invalid configs name the field, the value and the fix', () => {
  const base = presetConfig('lenet_mnist');
  assert.throws(() => applySettings(base, ['lr=-0.1']), /lr = -0\.1 is invalid/);
  assert.throws(() => applySettings(base, ['batchSize=0']), /batchSize = 0 is invalid.*>= 1/);
  assert.throws(
    () => applySettings(base, ['schedule=cosine']),
    /schedule = "cosine" is invalid.*"constant", "step" or "linear-decay"/,
  );
  assert.throws(
    () => applySettings(base, ['learningRate=0.1']),
    /--set "learningRate": unknown key; valid keys are model, dataset/,
  );
  assert.throws(() => applySettings(base, ['lr']), /write key=value/);
  assert.throws(
    () => applySettings(base, ['lr=fast']),
    /--set lr="fast": lr is a decimal number, e\.g\. --set lr=0\.0012/,
  );
  assert.throws(() => applySettings(base, ['lr=0x10']), /lr is a decimal number/);
  assert.throws(
    () => applySettings(base, ['initSeed=1e300']),
    /--set initSeed=1e300: config: initSeed = 1e\+300 is invalid; seeds are whole numbers from 0 to 9007199254740991/,
  );
  assert.throws(
    () => applySettings(base, ['dataOrderSeed=-1']),
    /dataOrderSeed = -1 is invalid; seeds are whole numbers from 0 to 9007199254740991 \(2\^53 - 1\)/,
  );
  assert.throws(() => applySettings(base, ['lr=-0.1']), /--set lr=-0\.1: config: lr = -0\.1 is invalid/);
  assert.throws(() => applySettings(base, ['training=10 epochs']), /training = "10 epochs" is invalid/);
  assert.throws(() => getPreset('lenet'), /unknown preset "lenet"; valid presets are lenet_mnist/);
  assert.throws(() => validateConfig({ ...base, momentum: 1 }), /momentum = 1 is invalid/);
  assert.equal(applySettings(base, ['lr=0.01', 'milestones=10it,20it']).lr, 0.01);
});

test('canonical config leaves defaults out, so new options never rename old runs', () => {
  const c = presetConfig('lenet_mnist');
  const text = canonicalConfig(c);
  assert.equal(
    text,
    '{"model":"lenet_300_100","dataset":"mnist","batchSize":60,"training":"24000it","optimizer":"adam","lr":0.0012}',
  );
  assert.ok(canonicalConfig({ ...c, dataOrderSeed: 3 }).includes('"dataOrderSeed":3'));
  assert.equal(canonicalConfig({ ...c, bnMomentum: DEFAULTS.bnMomentum }), text);
});

function assertClose(actual: ArrayLike<number>, expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])),
      `index ${i}: ${actual[i]} vs ${expected[i]}`,
    );
  }
}
