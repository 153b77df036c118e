/**
 * `npm run bench`: milliseconds per training step (forward, cross-entropy, backward, optimizer
 * update) of LeNet-300-100 (batch 60, Adam) and ResNet-20 (batch 128, SGD with momentum) on
 * every backend installed here, and of the same steps in PyTorch (bench/torch_step.py) when
 * Python has torch, measured in the same run on the same machine.
 *
 *   npm run bench                       table
 *   npm run bench -- --json             one JSON array of {model, backend, batch, msPerStep, pytorchMsPerStep, ratio}
 *   npm run bench -- --models lenet --backends wasm --steps 30
 */
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { tf } from '../lib/tf';
import { initBackend, BACKEND_NAMES, type BackendName } from '../lib/backend';
import { createModel } from '../lib/models/registry';
import { createOptimizer, type OptimizerSpec } from '../lib/train/optimizers';
import { createUpdate } from '../lib/train/trainer';
import { stream, normals } from '../lib/rng';

interface Case {
  model: 'lenet_300_100' | 'resnet20';
  short: string;
  batch: number;
  shape: [number, number, number];
  optimizer: OptimizerSpec;
  lr: number;
}

const CASES: Case[] = [
  { model: 'lenet_300_100', short: 'lenet', batch: 60, shape: [28, 28, 1], lr: 12e-4,
    optimizer: { name: 'adam', momentum: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } },
  { model: 'resnet20', short: 'resnet20', batch: 128, shape: [32, 32, 3], lr: 0.1,
    optimizer: { name: 'sgd', momentum: 0.9, weightDecay: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 } },
];

/** One measured row of the benchmark. */
export interface BenchRow {
  model: string;
  backend: string;
  batch: number;
  msPerStep: number;
  pytorchMsPerStep: number | null;
  ratio: number | null;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median ms per update of `c` on the current backend, after `warmup` untimed updates. */
function timeSteps(c: Case, steps: number, warmup: number): number {
  const model = createModel(c.model, { seed: 0, numClasses: 10, inputShape: c.shape });
  const optimizer = createOptimizer(c.optimizer);
  const update = createUpdate(model, optimizer);
  const rng = stream('bench', 0);
  const x = tf.tensor4d(normals(c.batch * c.shape[0] * c.shape[1] * c.shape[2], 1, rng), [c.batch, ...c.shape]);
  const y = tf.tensor1d(Int32Array.from({ length: c.batch }, (_, i) => i % 10), 'int32');
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const start = performance.now();
    const loss = update(x, y, c.lr, stream('dropout', 0, i));
    loss.dataSync(); // wait for the device, as a training loop that logs the loss does
    loss.dispose();
    if (i >= warmup) times.push(performance.now() - start);
  }
  x.dispose();
  y.dispose();
  optimizer.dispose();
  model.dispose();
  return median(times);
}

/** Runs bench/torch_step.py with the first Python that has torch; null (and why) when none does. */
function pytorchMs(c: Case, steps: number, warmup: number): { ms: number | null; note: string } {
  const script = path.resolve(__dirname, '..', '..', 'bench', 'torch_step.py');
  const notes: string[] = [];
  for (const python of ['python3', '/usr/bin/python3']) {
    // PyTorch gets every core (its default here is one thread); our CPU backends use one.
    const threads = String(os.availableParallelism());
    const args = [script, '--model', c.short, '--steps', String(steps), '--warmup', String(warmup), '--threads', threads];
    const run = spawnSync(python, args, { encoding: 'utf8' });
    if (run.error) {
      notes.push(`${python}: ${run.error.message}`);
      continue;
    }
    const line = run.stdout.trim().split('\n').filter(Boolean).pop() ?? '';
    try {
      const parsed = JSON.parse(line);
      if (typeof parsed.msPerStep === 'number') return { ms: parsed.msPerStep, note: `${python}, torch ${parsed.torch}, ${parsed.threads} threads` };
      notes.push(`${python}: ${parsed.error ?? line}`);
    } catch {
      notes.push(`${python}: ${(run.stderr || line).trim().split('\n').pop()}`);
    }
  }
  return { ms: null, note: notes.join('; ') };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      models: { type: 'string', default: 'lenet,resnet20' },
      backends: { type: 'string', default: BACKEND_NAMES.join(',') },
      steps: { type: 'string' },
    },
  });
  const wanted = values.models.split(',');
  const cases = CASES.filter((c) => wanted.includes(c.short) || wanted.includes(c.model));
  const log = (s: string) => { if (!values.json) console.log(s); };
  const rows: BenchRow[] = [];
  const torch = new Map<string, number | null>();
  for (const c of cases) {
    const { steps, warmup } = plan(c, 'pytorch', values.steps);
    const { ms, note } = pytorchMs(c, steps, warmup);
    torch.set(c.model, ms);
    log(`pytorch ${c.model}: ${ms === null ? 'unavailable' : ms.toFixed(2) + ' ms/step'} (${note})`);
  }
  for (const name of values.backends.split(',') as BackendName[]) {
    try {
      await initBackend(name);
    } catch (err) {
      log(`${name}: skipped (${(err as Error).message.split(';')[0]})`);
      continue;
    }
    for (const c of cases) {
      const { steps, warmup } = plan(c, name, values.steps);
      const ms = timeSteps(c, steps, warmup);
      const py = torch.get(c.model) ?? null;
      rows.push({ model: c.model, backend: name, batch: c.batch, msPerStep: ms, pytorchMsPerStep: py, ratio: py === null ? null : ms / py });
      log(`${name} ${c.model}: ${ms.toFixed(2)} ms/step over ${steps} steps`);
    }
  }
  if (values.json) {
    console.log(JSON.stringify(rows));
    return;
  }
  console.log('\n| model | backend | batch | ms/step | PyTorch ms/step | ratio |\n|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.model} | ${r.backend} | ${r.batch} | ${r.msPerStep.toFixed(1)} | ${r.pytorchMsPerStep?.toFixed(1) ?? 'n/a'} | ${r.ratio?.toFixed(2) ?? 'n/a'} |`);
  }
}

/** Steps to time: enough for a stable median, few where a step takes seconds. */
function plan(c: Case, backend: string, override?: string): { steps: number; warmup: number } {
  if (override) return { steps: Number(override), warmup: 2 };
  const slow = c.model === 'resnet20' && (backend === 'cpu' || backend === 'wasm');
  return slow ? { steps: 3, warmup: 1 } : { steps: 50, warmup: 5 };
}

main().catch((err) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(1);
});
