// Batches gathered on the device (LMC_RESIDENT_DATA, on by default for native TensorFlow) are the
// host reader's floats: training and evaluation give the same bits either way; augmented and
// oversized splits stay on the host; the policy's value is checked.
import { test, before, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import { presetConfig } from '../lib/train/presets';
import { trainFrom, datasetFor, buildModel } from '../lib/train/trainer';
import { evaluate } from '../lib/train/evaluate';
import { residentPolicy, residentSplit } from '../lib/train/resident';
import { interpolationCurve } from '../lib/stability';

before(async () => {
  await initBackend('wasm');
});
afterEach(() => {
  delete process.env.LMC_RESIDENT_DATA;
  delete process.env.LMC_RESIDENT_MAX_MB;
});

async function run(policy: string) {
  process.env.LMC_RESIDENT_DATA = policy;
  const config = presetConfig('lenet_mnist', 'smoke', { training: '20it' });
  const result = await trainFrom(config);
  const weights = [...result.model.params.values()].map((v) =>
    Buffer.from((v.dataSync() as Float32Array).buffer).toString('base64'),
  );
  const test = evaluate(result.model, result.dataset.test, { batchSize: 300 });
  const finalLoss = result.finalLoss;
  result.dispose();
  return { weights, test, finalLoss };
}

test('training and evaluation from device-resident batches equal the host batches bit for bit', async () => {
  const host = await run('0');
  const device = await run('1');
  assert.deepEqual(device, host);
  // The split is copied to the device once: a second training adds no tensors beyond its own.
  process.env.LMC_RESIDENT_DATA = '1';
  const before = tf.memory().numTensors;
  (await trainFrom(presetConfig('lenet_mnist', 'smoke', { training: '2it' }))).dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('augmented and oversized splits stay on the host; auto is off on wasm', () => {
  const mnist = datasetFor(presetConfig('lenet_mnist', 'smoke'));
  assert.equal(residentPolicy({}), false, 'auto: only the native TensorFlow backends');
  process.env.LMC_RESIDENT_DATA = '1';
  assert.equal(residentSplit(mnist.test, true), null);
  process.env.LMC_RESIDENT_MAX_MB = '1';
  assert.equal(residentSplit(mnist.train, false), null);
});

test('a malformed LMC_RESIDENT_DATA names the variable and the values it takes', () => {
  assert.throws(
    () => residentPolicy({ LMC_RESIDENT_DATA: 'yes please' }),
    /the environment variable LMC_RESIDENT_DATA="yes please": give auto, always or never/,
  );
});

test('an interpolation curve from device-resident batches equals the host one bit for bit', async () => {
  const config = presetConfig('lenet_mnist', 'smoke', { training: '6it' });
  const a = await trainFrom(config);
  const b = await trainFrom({ ...config, dataOrderSeed: 1 });
  const w1 = new Map([...a.model.params].map(([k, v]) => [k, tf.clone(v)]));
  const w2 = new Map([...b.model.params].map(([k, v]) => [k, tf.clone(v)]));
  a.dispose();
  b.dispose();
  const { model: probe, dataset } = buildModel(config);
  const curve = (policy: string) => {
    process.env.LMC_RESIDENT_DATA = policy;
    return interpolationCurve(probe, w1, w2, {
      alphas: 5,
      evalBatchSize: 300,
      splits: [{ name: 'test', split: dataset.test }],
    });
  };
  const host = curve('0');
  const device = curve('1');
  assert.deepEqual(device, host);
  probe.dispose();
  tf.dispose([...w1.values(), ...w2.values()]);
});
