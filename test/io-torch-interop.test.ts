/**
 * Weights travel both ways between lmc-lab and PyTorch (the project's Python environment):
 * a checkpoint lmc-lab writes loads with safetensors + torch into an equivalent torch LeNet-300-100
 * that scores lmc-lab's test accuracy on the embedded digits within 0.1 points, and a LeNet trained
 * in PyTorch, saved as its state_dict, loads into lmc-lab and scores PyTorch's accuracy.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import { initBackend } from '../lib/backend';
import { presetConfig } from '../lib/train/presets';
import { trainFrom } from '../lib/train/trainer';
import { evaluate } from '../lib/train/evaluate';
import { snapshot, disposeState } from '../lib/train/state';
import { saveCheckpoint } from '../lib/train/checkpoint';
import { createModel } from '../lib/models/registry';
import { loadPytorchStateDict, loadPytorchWeights, pytorchStateDict } from '../lib/models/pytorch-layout';
import { writeSafetensorsFile, type SafetensorsTensor } from '../lib/io/safetensors';
import type { Split } from '../lib/data/types';
import { missingPythonModules, TEST_PYTHON } from './fixtures/kernel/jupyter';
import { requireTools, skipWhenMissing } from './fixtures/tools';

const SCRIPT = path.resolve(__dirname, '..', '..', 'test', 'fixtures', 'interop', 'torch_lenet.py');
const missing = missingPythonModules(['torch', 'safetensors']);

/** A whole split as two tensors: images NHWC float32, labels int32. */
function splitTensors(split: Split, prefix: string): [string, SafetensorsTensor][] {
  const batch = split.read(
    Array.from({ length: split.size }, (_, i) => i),
    { augment: false },
  );
  return [
    [`${prefix}/x`, { dtype: 'F32', shape: batch.shape, data: batch.x }],
    [`${prefix}/y`, { dtype: 'I32', shape: [batch.y.length], data: batch.y }],
  ];
}

describe('weights between lmc-lab and PyTorch', () => {
  it('names and lays out tensors as PyTorch does; reads back bit for bit (ResNet-20: conv, BN, dense)', async () => {
    await initBackend('wasm');
    const model = createModel('resnet20', { seed: 3 });
    const other = createModel('resnet20', { seed: 4 });
    const dict = pytorchStateDict(model);
    try {
      assert.deepEqual(dict.get('conv1.weight')?.shape, [16, 3, 3, 3], 'conv [out, in, kh, kw]');
      assert.deepEqual(dict.get('fc.weight')?.shape, [10, 64], 'dense [out, in]');
      assert.ok(
        dict.has('bn1.running_var') &&
          dict.has('bn1.weight') &&
          dict.has('bn1.bias') &&
          dict.has('layer1.0.conv1.weight'),
        [...dict.keys()].slice(0, 6).join(', '),
      );
      // conv1.kernel[kh, kw, in, out] = conv1.weight[out, in, kh, kw]
      const ours = model.params.get('conv1.kernel')!.arraySync() as number[][][][];
      const theirs = dict.get('conv1.weight')!.arraySync() as number[][][][];
      assert.equal(theirs[5][2][1][0], ours[1][0][2][5]);
      const tensors = new Map(
        [...dict].map(([name, t]) => [
          name,
          { dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array } as SafetensorsTensor,
        ]),
      );
      loadPytorchStateDict(other, tensors);
      for (const [name, v] of [...model.params, ...model.buffers]) {
        const w = other.params.get(name) ?? other.buffers.get(name)!;
        assert.deepEqual(w.dataSync(), v.dataSync(), name);
      }
      const wrong = new Map(tensors);
      wrong.set('fc.weight', { dtype: 'F32', shape: [64, 10], data: new Float32Array(640) });
      assert.throws(
        () => loadPytorchStateDict(other, wrong, 'w.safetensors'),
        /w\.safetensors: fc\.weight has shape \[64, 10\]; resnet20's fc\.kernel needs \[10, 64\] in PyTorch's layout/,
      );
      wrong.delete('fc.weight');
      assert.throws(
        () => loadPytorchStateDict(other, wrong, 'w.safetensors'),
        /no tensor fc\.weight for resnet20's fc\.kernel/,
      );
    } finally {
      tf.dispose([...dict.values()]);
      model.dispose();
      other.dispose();
    }
  });

  it(
    "a LeNet checkpoint scores lmc-lab's accuracy in PyTorch, " +
      "and PyTorch's weights score PyTorch's accuracy in lmc-lab (within 0.1 points)",
    { skip: skipWhenMissing(missing), timeout: 300_000 },
    async (t) => {
      requireTools(missing);
      await initBackend('wasm');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmc-torch-interop-'));
      const config = presetConfig('lenet_mnist', 'quick', { training: '300it' });
      const run = await trainFrom(config);
      const state = snapshot(run.model, run.step, null);
      const fromTorch = createModel('lenet_300_100', { seed: 99 });
      try {
        const lmcAccuracy = evaluate(run.model, run.dataset.test).accuracy;
        await saveCheckpoint(path.join(dir, 'lenet'), { state, config });
        await writeSafetensorsFile(
          path.join(dir, 'digits.safetensors'),
          new Map([...splitTensors(run.dataset.train, 'train'), ...splitTensors(run.dataset.test, 'test')]),
        );
        const py = spawnSync(
          TEST_PYTHON,
          [
            SCRIPT,
            path.join(dir, 'lenet.safetensors'),
            path.join(dir, 'digits.safetensors'),
            path.join(dir, 'torch.safetensors'),
          ],
          { encoding: 'utf8', timeout: 240_000 },
        );
        assert.equal(py.status, 0, py.stderr);
        const out = JSON.parse(py.stdout.trim().split('\n').pop()!) as {
          torch: string;
          lmcWeightsAccuracy: number;
          torchWeightsAccuracy: number;
        };

        assert.ok(lmcAccuracy > 0.8, `lmc-lab trained to ${lmcAccuracy}`);
        assert.ok(
          Math.abs(out.lmcWeightsAccuracy - lmcAccuracy) <= 0.001,
          `lmc-lab's weights: ${(100 * lmcAccuracy).toFixed(2)}% in lmc-lab, ` +
            `${(100 * out.lmcWeightsAccuracy).toFixed(2)}% in torch ${out.torch}`,
        );

        await loadPytorchWeights(path.join(dir, 'torch.safetensors'), fromTorch);
        const torchInLmc = evaluate(fromTorch, run.dataset.test).accuracy;
        assert.ok(out.torchWeightsAccuracy > 0.8, `torch trained to ${out.torchWeightsAccuracy}`);
        assert.ok(
          Math.abs(torchInLmc - out.torchWeightsAccuracy) <= 0.001,
          `PyTorch's weights: ${(100 * out.torchWeightsAccuracy).toFixed(2)}% in torch ${out.torch}, ` +
            `${(100 * torchInLmc).toFixed(2)}% in lmc-lab`,
        );
        t.diagnostic(
          `torch ${out.torch}: lmc-lab's LeNet ${(100 * lmcAccuracy).toFixed(2)}% here, ` +
            `${(100 * out.lmcWeightsAccuracy).toFixed(2)}% in torch; ` +
            `torch's LeNet ${(100 * out.torchWeightsAccuracy).toFixed(2)}% in torch, ` +
            `${(100 * torchInLmc).toFixed(2)}% here (${run.dataset.test.size} test digits)`,
        );
      } finally {
        disposeState(state);
        run.dispose();
        fromTorch.dispose();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
