/**
 * `npm run bench`: milliseconds per training step (forward, cross-entropy, backward, optimizer
 * update) of LeNet-300-100 (batch 60, Adam) and ResNet-20 (batch 128, SGD with momentum) on
 * every backend installed here, and of the same steps in PyTorch (bench/torch_step.py) when
 * Python has torch, measured in the same run on the same machine.
 *
 * Each row also runs a leak check (1,000 steps where a step takes milliseconds: the tensor count
 * after the last step must equal the count after the first) and reports tensor memory and the
 * process's peak resident set size.
 *
 *   npm run bench                       table
 *   npm run bench -- --markdown         the table only (README's performance table)
 *   npm run bench -- --json             one JSON array of {model, backend, batch, msPerStep,
 *                                       pytorchMsPerStep, ratio, steps, tensorGrowth, tensorMiB, peakRssMiB}
 *   npm run bench -- --models lenet --backends wasm --steps 30 --leak-steps 200
 *   npm run bench -- --torch-python /usr/bin/python3   another PyTorch as the reference (default: the project's .venv)
 *   LMC_NATIVE=0 npm run bench          wasm convolutions instead of the oneDNN addon (bench/README.md)
 */
import { parseArgs } from 'node:util';
import { tf } from '../lib/tf';
import { median } from './median';
import { pytorchMs } from './pytorch';
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
  {
    model: 'lenet_300_100',
    short: 'lenet',
    batch: 60,
    shape: [28, 28, 1],
    lr: 12e-4,
    optimizer: { name: 'adam', momentum: 0, weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  },
  {
    model: 'resnet20',
    short: 'resnet20',
    batch: 128,
    shape: [32, 32, 3],
    lr: 0.1,
    optimizer: { name: 'sgd', momentum: 0.9, weightDecay: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  },
];

/** One measured row of the benchmark. */
export interface BenchRow {
  model: string;
  backend: string;
  batch: number;
  msPerStep: number;
  pytorchMsPerStep: number | null;
  ratio: number | null;
  /** Steps run in all (timed, warm-up and leak check). */
  steps: number;
  /** Tensors alive after the last step minus after the first (0: nothing leaks per step). */
  tensorGrowth: number;
  /** Bytes held by tfjs tensors after the last step (weights, optimizer state, batch). */
  tensorMiB: number;
  /** Largest resident set size of this process seen during the run (all backends so far). */
  peakRssMiB: number;
}

/**
 * Median ms per update of `c` on the current backend, after `warmup`
 * untimed updates; then `leakSteps` more, counting tensors.
 */
function timeSteps(
  c: Case,
  steps: number,
  warmup: number,
  leakSteps: number,
): { ms: number; steps: number; tensorGrowth: number; tensorMiB: number; peakRssMiB: number } {
  const model = createModel(c.model, { seed: 0, numClasses: 10, inputShape: c.shape });
  const optimizer = createOptimizer(c.optimizer);
  const update = createUpdate(model, optimizer);
  const rng = stream('bench', 0);
  const x = tf.tensor4d(normals(c.batch * c.shape[0] * c.shape[1] * c.shape[2], 1, rng), [c.batch, ...c.shape]);
  const y = tf.tensor1d(
    Int32Array.from({ length: c.batch }, (_, i) => i % 10),
    'int32',
  );
  const times: number[] = [];
  let peakRss = process.memoryUsage().rss;
  let afterFirst = 0;
  const total = warmup + Math.max(steps, leakSteps);
  for (let i = 0; i < total; i++) {
    const start = performance.now();
    const loss = update(x, y, c.lr, stream('dropout', 0, i));
    loss.dataSync(); // wait for the device, as a training loop that logs the loss does
    loss.dispose();
    if (i >= warmup && times.length < steps) times.push(performance.now() - start);
    // The first step creates the optimizer's slots; from then on a step must leave the count unchanged.
    if (i === 0) afterFirst = tf.memory().numTensors;
    if (i % 10 === 0 || i === total - 1) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const tensorGrowth = tf.memory().numTensors - afterFirst;
  const tensorMiB = tf.memory().numBytes / 2 ** 20;
  x.dispose();
  y.dispose();
  optimizer.dispose();
  model.dispose();
  return { ms: median(times), steps: total, tensorGrowth, tensorMiB, peakRssMiB: peakRss / 2 ** 20 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      markdown: { type: 'boolean', default: false },
      'leak-steps': { type: 'string' },
      models: { type: 'string', default: 'lenet,resnet20' },
      backends: { type: 'string', default: BACKEND_NAMES.join(',') },
      steps: { type: 'string' },
      'torch-python': { type: 'string' },
    },
  });
  const wanted = values.models.split(',');
  const cases = CASES.filter((c) => wanted.includes(c.short) || wanted.includes(c.model));
  const log = (s: string) => {
    if (!values.json && !values.markdown) console.log(s);
  };
  const rows: BenchRow[] = [];
  const torch = new Map<string, number | null>();
  for (const c of cases) {
    const { steps, warmup } = plan(c, 'pytorch', values.steps);
    const { ms, note } = pytorchMs(c.short, steps, warmup, values['torch-python']);
    torch.set(c.model, ms);
    log(`pytorch ${c.model}: ${ms === null ? 'unavailable' : ms.toFixed(2) + ' ms/step'} (${note})`);
  }
  for (const name of values.backends.split(',') as BackendName[]) {
    try {
      const info = await initBackend(name);
      log(`${name}: ${info.device}`);
    } catch (err) {
      log(`${name}: skipped (${(err as Error).message.split(';')[0]})`);
      continue;
    }
    for (const c of cases) {
      const { steps, warmup, leakSteps } = plan(c, name, values.steps, values['leak-steps']);
      const m = timeSteps(c, steps, warmup, leakSteps);
      const py = torch.get(c.model) ?? null;
      rows.push({
        model: c.model,
        backend: name,
        batch: c.batch,
        msPerStep: m.ms,
        pytorchMsPerStep: py,
        ratio: py === null ? null : m.ms / py,
        steps: m.steps,
        tensorGrowth: m.tensorGrowth,
        tensorMiB: m.tensorMiB,
        peakRssMiB: m.peakRssMiB,
      });
      log(
        `${name} ${c.model}: ${m.ms.toFixed(2)} ms/step (median of ${steps}); ` +
          `${m.steps} steps: tensors ${m.tensorGrowth >= 0 ? '+' : ''}${m.tensorGrowth}, ` +
          `${m.tensorMiB.toFixed(1)} MiB in tensors, peak RSS ${m.peakRssMiB.toFixed(0)} MiB`,
      );
    }
  }
  if (values.json) {
    console.log(JSON.stringify(rows));
    return;
  }
  if (!values.markdown) console.log('');
  console.log(
    '| model | backend | batch | ms/step | PyTorch ms/step | ratio | steps run | tensor growth | tensor MiB | ' +
      'peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows) {
    console.log(
      `| ${r.model} | ${r.backend} | ${r.batch} | ${r.msPerStep.toFixed(1)} | ` +
        `${r.pytorchMsPerStep?.toFixed(1) ?? 'n/a'} | ${r.ratio?.toFixed(2) ?? 'n/a'} | ${r.steps} | ` +
        `${r.tensorGrowth} | ${r.tensorMiB.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} |`,
    );
  }
}

/**
 * Steps to time (enough for a stable median, few where a step takes seconds) and to run in all
 * for the leak check: 1,000 where a step takes milliseconds, the timed steps where it takes seconds.
 */
function plan(
  c: Case,
  backend: string,
  override?: string,
  leakOverride?: string,
): { steps: number; warmup: number; leakSteps: number } {
  const slow = c.model === 'resnet20' && (backend === 'cpu' || backend === 'wasm');
  const veryFast = !slow && backend !== 'cpu';
  const base = override
    ? { steps: Number(override), warmup: 2 }
    : slow
      ? { steps: 3, warmup: 1 }
      : { steps: 50, warmup: 5 };
  const leakSteps = leakOverride !== undefined ? Number(leakOverride) : veryFast ? 1000 : slow ? 0 : 100;
  for (const [flag, v] of [
    ['--steps', base.steps],
    ['--leak-steps', leakSteps],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${flag} ${v}: give a whole number of steps`);
  }
  return { ...base, leakSteps };
}

main().catch((err) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(1);
});
