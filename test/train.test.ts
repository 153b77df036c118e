// The training primitive A^{k->T}: determinism, resumption, cancellation, leaks, masks, checkpoints.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import { type TrainConfig } from '../lib/train/config';
import { presetConfig } from '../lib/train/presets';
import { trainFrom, TrainingCancelled } from '../lib/train/trainer';
import { evaluate } from '../lib/train/evaluate';
import { copyWeights, disposeState, type TrainState } from '../lib/train/state';
import { saveCheckpoint, loadCheckpoint } from '../lib/train/checkpoint';
import { loadDataset } from '../lib/data/registry';
import { writeCifarDataset } from './data-fixtures';

const lenet = (overrides: Partial<TrainConfig> = {}) =>
  presetConfig('lenet_mnist', 'smoke', { training: '12it', ...overrides });

async function weightsOf(
  config: TrainConfig,
  options: Parameters<typeof trainFrom>[1] = {},
): Promise<Map<string, Float32Array>> {
  const result = await trainFrom(config, options);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of [...result.model.params, ...result.model.buffers])
    out.set(name, v.dataSync() as Float32Array);
  result.dispose();
  return out;
}

function assertBitIdentical(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, x] of a) {
    const y = b.get(name)!;
    assert.ok(
      Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)),
      `${name} differs`,
    );
  }
}

before(async () => {
  await initBackend('wasm');
});

test('same config, same backend: bit-identical weights twice in a row (wasm)', async () => {
  await initBackend('wasm');
  const a = await weightsOf(lenet());
  const b = await weightsOf(lenet());
  assertBitIdentical(a, b);
  const c = await weightsOf(lenet({ dataOrderSeed: 1 }));
  assert.notDeepEqual(c.get('fc1.kernel'), a.get('fc1.kernel'));
});

test('0 -> T in one call equals 0 -> k then k -> T, bit for bit, on cpu with optimizer state restored', async () => {
  await initBackend('cpu');
  const config = lenet({ optimizerStateAtK: 'restore', training: '10it' });
  let atK: TrainState | null = null;
  const full = await weightsOf(config, {
    callbacks: [
      {
        atSteps: [4],
        onStep: (ctx) => {
          atK = ctx.snapshot();
        },
      },
    ],
  });
  assert.ok(atK, 'snapshot at k = 4 was taken');
  const resumed = await weightsOf(config, { from: atK! });
  assertBitIdentical(full, resumed);
  // With the optimizer reset at k (open_lth's policy), Adam restarts its moments: a different run.
  const reset = await weightsOf({ ...config, optimizerStateAtK: 'reset' }, { from: atK! });
  assert.notDeepEqual(reset.get('fc1.kernel'), full.get('fc1.kernel'));
  disposeState(atK!);
  await initBackend('wasm');
});

test('no tensor leaks: numTensors is the same before and after a training run and an evaluation', async () => {
  const before = tf.memory().numTensors;
  const result = await trainFrom(lenet());
  evaluate(result.model, result.dataset.test, { limit: 300, batchSize: 128 });
  result.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('cancellation stops within one step, says where, and leaks nothing', async () => {
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const steps: number[] = [];
  await assert.rejects(
    trainFrom(lenet(), {
      signal: controller.signal,
      callbacks: [
        {
          everySteps: 1,
          onStep: (ctx) => {
            steps.push(ctx.step);
            if (ctx.step === 3) controller.abort();
          },
        },
      ],
    }),
    (err: unknown) =>
      err instanceof TrainingCancelled && err.step === 3 && /cancelled at step 3 of 12/.test(err.message),
  );
  assert.deepEqual(steps, [1, 2, 3]);
  assert.equal(tf.memory().numTensors, before);
});

test('callbacks fire at chosen steps and at every epoch boundary', async () => {
  const epochs: number[] = [];
  const chosen: number[] = [];
  // The embedded train split has 8,000 digits: 134 iterations per epoch at batch 60; use batch 2000 (4 per epoch).
  const result = await trainFrom(lenet({ batchSize: 2000, training: '9it' }), {
    callbacks: [
      {
        everyEpoch: true,
        onStep: (ctx) => {
          epochs.push(ctx.step);
          assert.equal(ctx.epoch, ctx.step / 4);
        },
      },
      {
        atSteps: [1, 5],
        onStep: (ctx) => {
          chosen.push(ctx.step);
        },
      },
    ],
  });
  result.dispose();
  assert.deepEqual(epochs, [4, 8]);
  assert.deepEqual(chosen, [1, 5]);
});

test('masked training: pruned weights are exactly zero after every step; others train', async () => {
  const mask = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([784, 300], 0, 1, 'float32', 7), 0.5), 'float32'));
  const maskValues = mask.dataSync();
  const zerosSeen: boolean[] = [];
  const result = await trainFrom(lenet(), {
    masks: new Map([['fc1.kernel', mask]]),
    callbacks: [
      {
        everySteps: 1,
        onStep: (ctx) => {
          const w = ctx.model.params.get('fc1.kernel')!.dataSync();
          zerosSeen.push(maskValues.every((m, i) => m === 1 || w[i] === 0));
        },
      },
    ],
  });
  assert.equal(zerosSeen.length, 12);
  assert.ok(zerosSeen.every(Boolean));
  result.dispose();
  mask.dispose();
});

test('evaluate: error and loss equal a by-hand computation over the same examples', async () => {
  const result = await trainFrom(lenet({ training: '5it' }));
  const split = result.dataset.test;
  const ev = evaluate(result.model, split, { limit: 250, batchSize: 100 });
  const batch = split.read(
    Int32Array.from({ length: 250 }, (_, i) => i),
    { augment: false },
  );
  const logits = tf
    .tidy(() => result.model.forward(tf.tensor4d(batch.x, batch.shape), { training: false }))
    .arraySync() as number[][];
  let wrong = 0;
  let loss = 0;
  logits.forEach((row, i) => {
    const best = row.indexOf(Math.max(...row));
    if (best !== batch.y[i]) wrong++;
    const max = Math.max(...row);
    const logSum = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
    loss += logSum - row[batch.y[i]];
  });
  assert.equal(ev.examples, 250);
  assert.equal(ev.error, wrong / 250);
  assert.ok(Math.abs(ev.loss - loss / 250) < 1e-4);
  result.dispose();
});

test('checkpoints: load -> save is bit-identical; resuming from a loaded checkpoint equals continuing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-ckpt-'));
  const config = lenet({ optimizerStateAtK: 'restore', training: '8it' });
  let atK: TrainState | null = null;
  const full = await weightsOf(config, {
    callbacks: [
      {
        atSteps: [3],
        onStep: (ctx) => {
          atK = ctx.snapshot();
        },
      },
    ],
  });
  await saveCheckpoint(path.join(dir, 'a'), { state: atK!, config });
  const loaded = await loadCheckpoint(path.join(dir, 'a'));
  assert.equal(loaded.state.step, 3);
  assert.equal(loaded.state.optimizer!.updates, 3);
  assert.deepEqual(loaded.config, config);
  await saveCheckpoint(path.join(dir, 'b'), loaded);
  for (const ext of ['.safetensors', '.json']) {
    assert.ok(
      fs.readFileSync(path.join(dir, 'a' + ext)).equals(fs.readFileSync(path.join(dir, 'b' + ext))),
      `${ext} differs after load -> save`,
    );
  }
  assertBitIdentical(full, await weightsOf(config, { from: loaded.state }));
  disposeState(atK!);
  disposeState(loaded.state);
  fs.rmSync(dir, { recursive: true });
});

test('ResNet-20 and VGG-16 train on wasm (loss finite, every parameter moves)', async () => {
  await initBackend('wasm');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-cifar-'));
  writeCifarDataset(path.join(dir, 'cifar10'), 48, 48);
  const cifar = loadDataset('cifar10', { dataDir: dir });
  for (const preset of ['resnet20_standard', 'vgg16_standard']) {
    const config = presetConfig(preset, 'smoke', { training: '3it', batchSize: 8 });
    const result = await trainFrom(config, {
      dataset: cifar,
      callbacks: [
        {
          onStart: (ctx) => {
            initial = copyWeights(ctx.model);
          },
        },
      ],
    });
    assert.ok(Number.isFinite(result.finalLoss), `${preset} loss ${result.finalLoss}`);
    for (const [name, v] of result.model.params) {
      const moved = tf.tidy(() => tf.any(tf.notEqual(v, initial!.get(name)!)).dataSync()[0]);
      assert.equal(moved, 1, `${preset}: ${name} did not move`);
    }
    for (const t of initial!.values()) t.dispose();
    result.dispose();
  }
  fs.rmSync(dir, { recursive: true });
});
let initial: Map<string, tf.Tensor> | undefined;
