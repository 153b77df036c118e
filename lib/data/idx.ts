/**
 * The IDX format of LeCun's MNIST files (and of every dataset that copies it: Fashion-MNIST,
 * KMNIST, EMNIST). A big-endian header: two zero bytes, a type byte (0x08 = unsigned byte), the
 * number of dimensions, then one uint32 per dimension, then the data. Files may be gzipped;
 * we look at the gzip magic rather than the name, because mirrors rename files both ways.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** Magic number of an IDX file of unsigned-byte labels (1 dimension). */
export const IDX_LABELS_MAGIC = 0x00000801;
/** Magic number of an IDX file of unsigned-byte images (3 dimensions). */
export const IDX_IMAGES_MAGIC = 0x00000803;

/** Images read from an IDX file: `count` row-major `rows` x `cols` bytes, one after another. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  pixels: Uint8Array;
}

const hex = (n: number) => '0x' + n.toString(16).padStart(8, '0');

/** True when `bytes` start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads a file and gunzips it when it is gzip data; errors name the file. */
export function readMaybeGzip(file: string): Uint8Array {
  return load(file).bytes;
}

function load(file: string): { bytes: Uint8Array; gzipped: boolean } {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  if (!isGzip(raw)) return { bytes: raw, gzipped: false };
  try {
    return { bytes: gunzipSync(raw), gzipped: true };
  } catch (e) {
    throw new Error(`${file}: corrupt or truncated gzip data (${(e as Error).message}); download the file again`);
  }
}

/** Parses an IDX header and checks magic and exact size; returns the dimensions and data offset. */
function parseIdx(file: string, magic: number, what: string): { bytes: Uint8Array; dims: number[]; offset: number } {
  const { bytes, gzipped } = load(file);
  const ndims = magic & 0xff;
  const headerSize = 4 + 4 * ndims;
  const suffix = gzipped ? ' after decompression' : '';
  const tooShort = () =>
    new Error(
      `${file}: ${bytes.length} bytes${suffix} is too short for an IDX ${what} header (${headerSize} bytes); ` +
        `truncated?`,
    );
  if (bytes.length < 4) throw tooShort();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0, false);
  if (found !== magic) {
    throw new Error(
      `${file}: bad IDX magic number ${hex(found)}, expected ${hex(magic)} (unsigned-byte ${what}); ` +
        (found === IDX_LABELS_MAGIC || found === IDX_IMAGES_MAGIC
          ? 'images and labels files swapped?'
          : 'not an IDX file?'),
    );
  }
  if (bytes.length < headerSize) throw tooShort();
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expected = headerSize + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const hint = bytes.length < expected ? 'truncated?' : 'trailing bytes; wrong header?';
    throw new Error(
      `${file}: expected ${expected} bytes${suffix} for ${dims.join('x')} ${what}, found ${bytes.length} (${hint})`,
    );
  }
  return { bytes, dims, offset: headerSize };
}

/** Reads an IDX image file (raw or gzipped) into bytes, validating header and size. */
export function readIdxImages(file: string): IdxImages {
  const { bytes, dims, offset } = parseIdx(file, IDX_IMAGES_MAGIC, 'images');
  const [count, rows, cols] = dims;
  if (rows === 0 || cols === 0) throw new Error(`${file}: images of size ${rows}x${cols} are empty`);
  return { count, rows, cols, pixels: bytes.subarray(offset) };
}

/** Reads an IDX label file (raw or gzipped); every label must be below `numClasses`. */
export function readIdxLabels(file: string, numClasses: number): Int32Array {
  const { bytes, dims, offset } = parseIdx(file, IDX_LABELS_MAGIC, 'labels');
  const labels = new Int32Array(dims[0]);
  for (let i = 0; i < labels.length; i++) {
    const v = bytes[offset + i];
    if (v >= numClasses) {
      throw new Error(`${file}: label ${v} at index ${i} is out of range for ${numClasses} classes`);
    }
    labels[i] = v;
  }
  return labels;
}
