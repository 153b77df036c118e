// Notebook 08's plans: ResNet-20 (standard) on Fashion-MNIST, at least four k up to a quarter of
// training, IMP at Table 1's density, quick scale within its budget of training steps; and the
// notice, not an error, when Fashion-MNIST is not on the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REAL_IMAGES_PLANS, REAL_IMAGES_PRESET, realImagesData, type RealImagesPlan } from '../lib/notebook';
import { getPreset, parseStep, presetConfig, SCALES } from '../lib/train';

const lengthOf = (plan: RealImagesPlan, scale: (typeof SCALES)[number]) =>
  parseStep(plan.training ?? presetConfig(REAL_IMAGES_PRESET, scale).training).value;

test("each scale of notebook 08: four or more k from 0 to a quarter of training, IMP at Table 1's density", () => {
  for (const scale of SCALES) {
    const plan = REAL_IMAGES_PLANS[scale];
    const T = lengthOf(plan, scale);
    assert.ok(plan.ks.length >= 4, `${scale}: ${plan.ks.length} values of k`);
    assert.equal(plan.ks[0], 0, `${scale}: Figure 2 needs k = 0`);
    assert.deepEqual(
      [...plan.ks].sort((a, b) => a - b),
      plan.ks,
      `${scale}: k ascending`,
    );
    assert.ok(
      plan.ks[plan.ks.length - 1] <= T / 4,
      `${scale}: largest k ${plan.ks[plan.ks.length - 1]} beyond a quarter of ${T}`,
    );
    assert.equal(plan.density, getPreset(REAL_IMAGES_PRESET).targetDensity);
  }
  assert.equal(REAL_IMAGES_PLANS.paper.oneShot, false, 'paper scale prunes iteratively, as the paper');
});

test('the quick plan trains at most 4,500 steps from an empty store, wherever the stable k lands', () => {
  const plan = REAL_IMAGES_PLANS.quick;
  const T = lengthOf(plan, 'quick');
  const copies = 2 * plan.inits * plan.pairs;
  const dense = plan.inits * Math.max(...plan.ks) + copies * plan.ks.reduce((sum, k) => sum + (T - k), 0);
  // IMP at k: its own trunk, levels 0..n from k to T, a pair of copies; random pruning: a pair at the stable k.
  const levels = plan.oneShot ? 1 : 8;
  const impAt = (k: number) => plan.inits * (k + (levels + 1) * (T - k)) + copies * (T - k);
  const worst = Math.max(
    ...plan.ks.map((kStable) => dense + impAt(0) + (kStable > 0 ? impAt(kStable) : 0) + copies * (T - kStable)),
  );
  assert.ok(worst <= 4500, `${worst} steps`);
  assert.ok(plan.evalExamples > 0 && plan.alphas < 30, 'quick evaluates a subset at fewer α, as the notebook says');
});

test("realImagesData at quick scale: ResNet-20, Table 1's standard hyperparameters, Fashion-MNIST, 256 steps", () => {
  const { config, plan } = realImagesData('quick');
  assert.equal(plan, REAL_IMAGES_PLANS.quick);
  const paper = presetConfig(REAL_IMAGES_PRESET);
  assert.deepEqual(
    [
      config.model,
      config.dataset,
      config.batchSize,
      config.optimizer,
      config.lr,
      config.momentum,
      config.weightDecay,
      config.schedule,
      config.gamma,
    ],
    [
      paper.model,
      'fashion-mnist',
      paper.batchSize,
      paper.optimizer,
      paper.lr,
      paper.momentum,
      paper.weightDecay,
      paper.schedule,
      paper.gamma,
    ],
  );
  assert.deepEqual([config.training, config.milestones, config.evalExamples], ['256it', ['130it', '195it'], 1000]);
  const smoke = realImagesData('smoke').config;
  assert.deepEqual([smoke.training, smoke.batchSize, smoke.evalExamples], ['12it', 8, 256]);
  assert.deepEqual(realImagesData('paper').config, { ...paper, dataset: 'fashion-mnist' });
});

test('realImagesData says how to get Fashion-MNIST when neither $LMC_DATA_DIR nor the system copy holds it', () => {
  const saved = { dir: process.env.LMC_DATA_DIR, system: process.env.LMC_SYSTEM_DATA };
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-no-fashion-'));
  try {
    Object.assign(process.env, { LMC_DATA_DIR: empty, LMC_SYSTEM_DATA: 'off' });
    const data = realImagesData('smoke');
    assert.equal(data.ok, false);
    assert.equal(data.dataset, null);
    assert.match(data.notice!.text, /the fashion-mnist data is not on this machine/);
    assert.match(data.notice!.text, /apt-get install dataset-fashion-mnist/);
    assert.match(
      data.notice!.text,
      /LMC_SYSTEM_DATA is off, so \/usr\/share\/datasets\/fashion-mnist was not looked at/,
    );
    assert.match(
      data.notice!.text,
      new RegExp(`\\$LMC_DATA_DIR \\(set to ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`),
    );
  } finally {
    for (const [name, value] of [
      ['LMC_DATA_DIR', saved.dir],
      ['LMC_SYSTEM_DATA', saved.system],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    fs.rmSync(empty, { recursive: true, force: true });
  }
});
