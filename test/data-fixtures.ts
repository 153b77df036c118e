/**
 * Small dataset files in the real on-disk formats (IDX, CIFAR-10 binary, JPEG folders), written
 * into temporary folders by the data tests. Importing this file has no side effects.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as jpeg from 'jpeg-js';
import type { Random } from '../lib/rng';

const created: string[] = [];

/** A fresh temporary folder, removed when the test process exits. */
export function tempDir(prefix = 'lmc-data-'): string {
  if (created.length === 0)
    process.on('exit', () => created.forEach((d) => rmSync(d, { recursive: true, force: true })));
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** The bytes of an IDX file with the given magic, dimensions and data. */
export function idxBytes(magic: number, dims: number[], data: ArrayLike<number>): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(Uint8Array.from(data))]);
}

/** Deterministic pixel value of image k at byte p, so tests can predict every byte. */
export function fixturePixel(k: number, p: number): number {
  return (k * 37 + p * 11) % 256;
}

/** Writes the four MNIST-style IDX files into `dir` (gzipped when `gzip`), with `labelOf(k)` labels. */
export function writeIdxDataset(
  dir: string,
  counts: { train: number; test: number },
  options: { gzip?: boolean; side?: number; labelOf?: (k: number) => number } = {},
): void {
  const side = options.side ?? 28;
  const labelOf = options.labelOf ?? ((k: number) => k % 10);
  mkdirSync(dir, { recursive: true });
  const write = (name: string, bytes: Buffer) =>
    writeFileSync(path.join(dir, options.gzip ? name + '.gz' : name), options.gzip ? gzipSync(bytes) : bytes);
  for (const [prefix, n] of [
    ['train', counts.train],
    ['t10k', counts.test],
  ] as const) {
    const pixels = new Uint8Array(n * side * side);
    for (let k = 0; k < n; k++) for (let p = 0; p < side * side; p++) pixels[k * side * side + p] = fixturePixel(k, p);
    write(`${prefix}-images-idx3-ubyte`, idxBytes(0x803, [n, side, side], pixels));
    write(
      `${prefix}-labels-idx1-ubyte`,
      idxBytes(
        0x801,
        [n],
        Array.from({ length: n }, (_, k) => labelOf(k)),
      ),
    );
  }
}

/** One CIFAR-10 binary record: label byte then R, G, B planes; pixel (y, x, c) = cifarPixel(k, y, x, c). */
export function cifarRecord(k: number, label: number): Buffer {
  const rec = Buffer.alloc(3073);
  rec[0] = label;
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) rec[1 + c * 1024 + y * 32 + x] = cifarPixel(k, y, x, c);
  return rec;
}

/** Deterministic CIFAR fixture pixel. */
export function cifarPixel(k: number, y: number, x: number, c: number): number {
  return (k * 53 + y * 7 + x * 3 + c * 101) % 256;
}

/** Writes data_batch_1..5.bin (`perBatch` records each) and test_batch.bin into `dir`. */
export function writeCifarDataset(dir: string, perBatch: number, testCount: number): void {
  mkdirSync(dir, { recursive: true });
  let k = 0;
  for (let b = 1; b <= 5; b++) {
    const recs: Buffer[] = [];
    for (let i = 0; i < perBatch; i++, k++) recs.push(cifarRecord(k, k % 10));
    writeFileSync(path.join(dir, `data_batch_${b}.bin`), Buffer.concat(recs));
  }
  const recs: Buffer[] = [];
  for (let i = 0; i < testCount; i++) recs.push(cifarRecord(1000 + i, (i * 3) % 10));
  writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat(recs));
}

/** A JPEG (quality 100) of a width x height RGB image whose pixels come from `rgb(x, y)`. */
export function jpegOf(width: number, height: number, rgb: (x: number, y: number) => [number, number, number]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = rgb(x, y);
      data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return jpeg.encode({ width, height, data }, 100).data;
}

/** An 8x8 grayscale JPEG of uniform gray 100 (made with ImageMagick; jpeg-js only encodes color). */
export const GRAY_JPEG_BASE64 =
  '/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB' +
  'AQEBAQEBAQEBAQEBAQH/wAALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAI' +
  'AQEAAD8AD7//2Q==';

/** An 8x8 CMYK JPEG (Adobe marker) of cmyk(0, 255, 255, 0), i.e. pure red. */
export const CMYK_JPEG_BASE64 =
  '/9j/7gAOQWRvYmUAZAAAAAAC/9sAQwABAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB' +
  'AQEBAQEBAQEBAQEB/9sAQwEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB' +
  'AQEBAQEB/8AAFAgACAAIBAERAAIRAQMRAQQRAP/EABUAAQEAAAAAAAAAAAAAAAAAAAkK/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/E' +
  'ABUBAQEAAAAAAAAAAAAAAAAAAAkL/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAA4EAQACEQMRBAAAPwBmCsJ/6/h//9k=';

/** A Random that replays `values` from uniform() (int(n) = floor(u * n)), for hand-checked cases. */
export function scriptedRandom(values: number[]): Random {
  let i = 0;
  const next = () => {
    if (i >= values.length) throw new Error(`scriptedRandom: asked for draw ${i + 1} of ${values.length}`);
    return values[i++];
  };
  return {
    uniform: next,
    int: (n) => Math.floor(next() * n),
    normal: () => {
      throw new Error('scriptedRandom: normal not scripted');
    },
  };
}

/** |a - b| <= tol for every element. */
export function allClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - b[i]) <= tol)) return false;
  return true;
}
