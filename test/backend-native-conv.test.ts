/**
 * The oneDNN addon's convolutions (native/dnnl, registered into the wasm backend) give the
 * wasm kernels' and the cpu backend's results to 1e-5, the same bits on every call and in
 * every worker thread, fall back where they do not apply, and leak nothing. Skipped outside CI,
 * with the reason printed, where the addon is not built (no libdnnl-dev).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { tf } from '../lib/tf';
import { nativeAddon } from '../lib/backend/native-addon';
import { useNativeConvolutions } from '../lib/backend/native-conv';
import { describeConvolutions, initBackend } from '../lib/backend';
import { CONV_CASES, filled, type ConvCase } from './fixtures/conv';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const loaded = nativeAddon();
const missing =
  'reason' in loaded
    ? `oneDNN addon unavailable: ${loaded.reason} (npm test builds it where libdnnl-dev is installed)`
    : null;
const skip = skipWhenMissing(missing);
if (skip) console.log(`# skipping the native convolution tests: ${skip}`);

test('the oneDNN addon is built and loads (npm test builds it; CI must have it)', { skip }, () =>
  requireTools(missing),
);

/** max |a - b| / max |b|, which must stay within float32 summation-order noise. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  assert.ok(scale > 0, 'expected values are all zero: the comparison is vacuous');
  return worst / scale;
}

/** The forward output and both gradients of sum(conv2d(x, w) * r). */
function convAndGradients(c: ConvCase, dilations: number = 1): Float32Array[] {
  return tf
    .tidy(() => {
      const x = filled(c.x, 1);
      const w = filled([...c.kernel, c.x[3], c.cout], 2);
      const conv = (a: tf.Tensor, b: tf.Tensor) =>
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad as 'same', 'NHWC', dilations);
      const y = conv(x, w);
      if (dilations !== 1) return [y];
      const r = filled(y.shape, 3);
      return [y, ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv(a, b), r)))([x, w])];
    })
    .map((t) => {
      const data = t.dataSync() as Float32Array;
      t.dispose();
      return data;
    });
}

/** Runs `compute` on wasm with the native kernels on or off, or on cpu. */
async function computeOn(where: 'native' | 'wasm' | 'cpu', compute: () => Float32Array[]): Promise<Float32Array[]> {
  await initBackend(where === 'cpu' ? 'cpu' : 'wasm');
  const previous = useNativeConvolutions(where === 'native');
  try {
    return compute();
  } finally {
    useNativeConvolutions(previous);
  }
}

/** The conv cases, plus ResNet-20's shapes at batch 1 and 128 and odd sizes. */
const cases: ConvCase[] = [
  ...CONV_CASES,
  { x: [1, 32, 32, 3], kernel: [3, 3], cout: 16, strides: 1, pad: 'same' },
  { x: [128, 8, 8, 16], kernel: [3, 3], cout: 32, strides: 2, pad: 'same' },
  { x: [128, 4, 4, 64], kernel: [3, 3], cout: 64, strides: 1, pad: 'same' },
  { x: [128, 8, 8, 32], kernel: [1, 1], cout: 64, strides: 2, pad: 'valid' },
  { x: [5, 13, 11, 7], kernel: [3, 3], cout: 9, strides: 2, pad: 'valid' },
  { x: [3, 15, 9, 5], kernel: [5, 3], cout: 6, strides: [2, 1], pad: 'same' },
];

const label = (c: ConvCase) =>
  `${c.kernel.join('x')} stride ${c.strides} pad ${JSON.stringify(c.pad)} x [${c.x}] -> ${c.cout}`;

before(async () => {
  await initBackend('wasm');
});

describe('oneDNN convolutions equal the wasm kernels and the cpu backend', { skip }, () => {
  for (const c of cases) {
    test(label(c), async () => {
      const native = await computeOn('native', () => convAndGradients(c));
      const wasm = await computeOn('wasm', () => convAndGradients(c));
      const cpu = await computeOn('cpu', () => convAndGradients(c));
      ['y', 'dx', 'dw'].forEach((name, i) => {
        // tfjs sizes the output of a numeric padding with the row stride on both axes
        // (computeOutputShape2D takes one stride), so with unequal strides its forward output
        // is ill-formed and differs by backend; the addon declines it and the wasm kernels run.
        if (name === 'y' && typeof c.pad === 'number' && Array.isArray(c.strides) && c.strides[0] !== c.strides[1])
          return;
        assert.ok(relativeError(native[i], wasm[i]) <= 1e-5, `${name} vs wasm: ${relativeError(native[i], wasm[i])}`);
        assert.ok(relativeError(native[i], cpu[i]) <= 1e-5, `${name} vs cpu: ${relativeError(native[i], cpu[i])}`);
      });
    });
  }

  test('dilated forward convolutions', async () => {
    for (const c of [cases[0], cases[5], cases[20]]) {
      const [native] = await computeOn('native', () => convAndGradients({ ...c, strides: 1 }, 2));
      const [cpu] = await computeOn('cpu', () => convAndGradients({ ...c, strides: 1 }, 2));
      assert.ok(relativeError(native, cpu) <= 1e-5, `${label(c)} dilation 2`);
    }
  });
});

describe('oneDNN convolutions are deterministic and fall back where they do not apply', { skip }, () => {
  const resnetLayer: ConvCase = { x: [64, 16, 16, 32], kernel: [3, 3], cout: 32, strides: 1, pad: 'same' };

  test('the same inputs give the same bits on every call', async () => {
    const first = await computeOn('native', () => convAndGradients(resnetLayer));
    for (let i = 0; i < 3; i++) {
      const again = await computeOn('native', () => convAndGradients(resnetLayer));
      again.forEach((a, j) =>
        assert.deepEqual(Buffer.from(a.buffer), Buffer.from(first[j].buffer), `call ${i} output ${j}`),
      );
    }
  });

  test("worker threads, alone or side by side, give the main thread's bits", async () => {
    const main = await computeOn('native', () => convAndGradients(resnetLayer));
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { initBackend } = require(workerData.lib + '/lib/backend');
      const { filled } = require(workerData.lib + '/test/fixtures/conv');
      const { tf } = require(workerData.lib + '/lib/tf');
      initBackend('wasm').then((info) => {
        const c = workerData.c;
        const out = tf.tidy(() => {
          const x = filled(c.x, 1), w = filled([...c.kernel, c.x[3], c.cout], 2);
          const conv = (a, b) => tf.conv2d(a, b, c.strides, c.pad);
          const r = filled(conv(x, w).shape, 3);
          return [conv(x, w), ...tf.grads((a, b) => tf.sum(tf.mul(conv(a, b), r)))([x, w])];
        }).map((t) => t.dataSync());
        parentPort.postMessage({ device: info.device, out });
      });`;
    const lib = path.resolve(__dirname, '..');
    const run = () =>
      new Promise<{ device: string; out: Float32Array[] }>((resolve, reject) => {
        const worker = new Worker(script, { eval: true, workerData: { lib, c: resnetLayer } });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    const alone = await run();
    const together = await Promise.all([run(), run()]);
    for (const result of [alone, ...together]) {
      assert.match(result.device, /convolutions: oneDNN/);
      result.out.forEach((o, j) => assert.deepEqual(Buffer.from(o.buffer), Buffer.from(main[j].buffer), `output ${j}`));
    }
  });

  // NCHW and dilated filter gradients fall back to the wasm kernels: backend-wasm-kernels.test.ts
  // checks their errors, with the addon registered wherever it is built.

  test('repeated steps leak no tensors, no wasm buffers, and cache one primitive per kind and shape', async () => {
    await initBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const addon = (loaded as { addon: { cached(): number } }).addon;
    const step = () => cases.slice(-6).forEach((c) => convAndGradients(c));
    step();
    const [tensors, buffers, cached] = [tf.memory().numTensors, backend.numDataIds(), addon.cached()];
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, tensors, 'engine tensors grew');
    assert.equal(backend.numDataIds(), buffers, 'wasm data buffers grew');
    assert.equal(addon.cached(), cached, 'the primitive cache grew on repeated shapes');
  });
});

test('the device line says which convolutions run, and LMC_NATIVE=0 turns the addon off', () => {
  assert.match(describeConvolutions(), skip ? /^wasm \(.+\)$/ : /^oneDNN \d+\.\d+\.\d+ native, \d+ threads?$/);
  const lib = path.resolve(__dirname, '..', 'lib', 'backend');
  const probe = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(lib)}).initBackend('wasm').then((i) => console.log(i.device))`],
    { encoding: 'utf8', env: { ...process.env, LMC_NATIVE: '0' } },
  );
  assert.equal(probe.status, 0, probe.stderr);
  assert.match(probe.stdout.trim(), /; convolutions: wasm \(native convolutions turned off by LMC_NATIVE=0\)\)$/);
});
