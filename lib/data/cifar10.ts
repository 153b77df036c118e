/**
 * CIFAR-10 from the official "binary version" (cifar-10-binary.tar.gz): data_batch_1..5.bin
 * (training, 50,000) and test_batch.bin (10,000). Each record is 1 label byte followed by 3072
 * pixel bytes: the 1024 red values, then green, then blue, each plane row-major 32x32. We store
 * HWC bytes, the layout the models read.
 */
import { datasetFolderPresent, DatasetMissingError } from './missing';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Dataset } from './types';
import { inMemorySplit, type Normalization } from './in-memory';
import { padCropFlip } from './augment';

/** Per-channel mean and std of the CIFAR-10 training pixels (RGB). */
export const CIFAR10_NORMALIZATION: Normalization = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };

/** Pixels of zero padding around each side before the random 32x32 crop. */
export const CIFAR10_PAD = 4;

/** Where the binary version can be downloaded. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';

/** The official file names. */
export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
/** The official test file name. */
export const CIFAR10_TEST_FILE = 'test_batch.bin';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const RECORD = 1 + 3 * PLANE;
const CLASSES = 10;

/** Decodes one binary batch file into HWC bytes and labels, validating size and labels. */
export function readCifarBatch(file: string): { pixels: Uint8Array; labels: Int32Array } {
  const bytes = readFileSync(file);
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new Error(
      `${file}: ${bytes.length} bytes is not a whole number of ${RECORD}-byte records ` +
        `(official files hold 10000 records = 30730000 bytes); truncated or not the binary version?`,
    );
  }
  const n = bytes.length / RECORD;
  const pixels = new Uint8Array(n * 3 * PLANE);
  const labels = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * RECORD;
    const label = bytes[base];
    if (label >= CLASSES) {
      throw new Error(
        `${file}: label ${label} of record ${r} is out of range for ${CLASSES} classes; ` +
          `not CIFAR-10 (CIFAR-100 has 2 label bytes)?`,
      );
    }
    labels[r] = label;
    const out = r * 3 * PLANE;
    for (let p = 0; p < PLANE; p++) {
      pixels[out + 3 * p] = bytes[base + 1 + p];
      pixels[out + 3 * p + 1] = bytes[base + 1 + PLANE + p];
      pixels[out + 3 * p + 2] = bytes[base + 1 + 2 * PLANE + p];
    }
  }
  return { pixels, labels };
}

/** The folder holding the batch files: `<dataDir>/cifar10` or its `cifar-10-batches-bin/` (as the tarball unpacks). */
export function findCifar10Dir(dataDir: string): { dir?: string; tried: string[] } {
  const root = path.join(dataDir, 'cifar10');
  const tried = [root, path.join(root, 'cifar-10-batches-bin')];
  if (!datasetFolderPresent('cifar10', root)) return { tried };
  const dir = tried.find(
    (d) => existsSync(path.join(d, CIFAR10_TEST_FILE)) || existsSync(path.join(d, CIFAR10_TRAIN_FILES[0])),
  );
  return { dir, tried };
}

function concat(parts: { pixels: Uint8Array; labels: Int32Array }[]): { pixels: Uint8Array; labels: Int32Array } {
  const pixels = new Uint8Array(parts.reduce((s, p) => s + p.pixels.length, 0));
  const labels = new Int32Array(parts.reduce((s, p) => s + p.labels.length, 0));
  let pp = 0;
  let lp = 0;
  for (const p of parts) {
    pixels.set(p.pixels, pp);
    labels.set(p.labels, lp);
    pp += p.pixels.length;
    lp += p.labels.length;
  }
  return { pixels, labels };
}

/** CIFAR-10 from `<dataDir>/cifar10`; the training split augments with pad-4 crop and flip. */
export function loadCifar10(dataDir: string): Dataset {
  const { dir, tried } = findCifar10Dir(dataDir);
  if (!dir) {
    throw new DatasetMissingError(
      'cifar10',
      tried,
      `cifar10: dataset not found; looked for ${CIFAR10_TEST_FILE} and ${CIFAR10_TRAIN_FILES[0]} in ` +
        `${tried.join(' and ')}. ` +
        `Download the "CIFAR-10 binary version" from ${CIFAR10_URL} (https://www.cs.toronto.edu/~kriz/cifar.html) ` +
        `and unpack it into ${tried[0]} ($LMC_DATA_DIR/cifar10), e.g. ` +
        `\`mkdir -p ${tried[0]} && tar -xzf cifar-10-binary.tar.gz -C ${tried[0]}\`.`,
    );
  }
  const missing = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    throw new Error(
      `cifar10: folder ${dir} is incomplete: missing ${missing.join(', ')}; unpack ${CIFAR10_URL} there again`,
    );
  }
  const train = concat(CIFAR10_TRAIN_FILES.map((f) => readCifarBatch(path.join(dir, f))));
  const test = readCifarBatch(path.join(dir, CIFAR10_TEST_FILE));
  const layout = { height: SIDE, width: SIDE, channels: 3 };
  return {
    name: 'cifar10',
    description: 'CIFAR-10',
    source: dir,
    numClasses: CLASSES,
    imageShape: [SIDE, SIDE, 3],
    train: inMemorySplit({
      name: 'cifar10 train',
      ...train,
      ...layout,
      normalization: CIFAR10_NORMALIZATION,
      augmentation: padCropFlip(CIFAR10_PAD),
    }),
    test: inMemorySplit({ name: 'cifar10 test', ...test, ...layout, normalization: CIFAR10_NORMALIZATION }),
  };
}
