/**
 * ImageNet (ILSVRC 2012) in torchvision's ImageFolder layout: `<dataDir>/imagenet/train/<class>/*.JPEG`
 * and `val/<class>/*.JPEG`. Only file names live in memory; each read decodes its JPEGs (jpeg-js)
 * and applies the standard transforms:
 * - training: RandomResizedCrop(imageSize) + RandomHorizontalFlip, drawn from the read's stream;
 * - evaluation: Resize(round(imageSize * 256 / 224)) on the shorter side + CenterCrop(imageSize).
 */
import { datasetFolderPresent, DatasetMissingError } from './missing';
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import * as path from 'node:path';
import * as jpeg from 'jpeg-js';
import type { Batch, Dataset, ReadOptions, Split } from './types';
import type { Random } from '../rng';
import { checkIndices, checkReadOptions, type Normalization } from './in-memory';
import { resizeBilinear } from './resize';
import { centerCropBox, randomResizedCropBox, resizeShorterSide } from './crops';

/** Per-channel mean and std of ImageNet pixels (RGB), as in torchvision's examples. */
export const IMAGENET_NORMALIZATION: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/** Side of the square crop the models see by default. */
export const IMAGENET_DEFAULT_SIZE = 224;

const EXTENSIONS = new Set(['.jpeg', '.jpg']);

/** A decoded image: HWC RGB bytes. */
export interface DecodedImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Decodes a JPEG file to RGB (grayscale and CMYK are converted); errors name the file. */
export function decodeJpegFile(file: string): DecodedImage {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    throw new Error(
      `${file}: is a PNG with a JPEG name (one such file ships in ILSVRC 2012 train); convert it to JPEG`,
    );
  }
  try {
    // formatAsRGBA false gives 3 bytes per pixel; jpeg-js expands gray and converts CMYK itself.
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
    if (image.data.length !== image.width * image.height * 3)
      throw new Error('decoder returned the wrong number of bytes');
    return image;
  } catch (e) {
    throw new Error(`${file}: corrupt or unsupported JPEG (${(e as Error).message})`);
  }
}

function isDirectory(dir: string, entry: Dirent): boolean {
  if (entry.isDirectory()) return true;
  return entry.isSymbolicLink() && statSync(path.join(dir, entry.name)).isDirectory();
}

// Sorted like Python's sorted() on ASCII names: by code unit, not locale.
const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function listClassFolders(splitDir: string): string[] {
  const entries = readdirSync(splitDir, { withFileTypes: true });
  return entries
    .filter((e) => !e.name.startsWith('.') && isDirectory(splitDir, e))
    .map((e) => e.name)
    .sort(byCodeUnit);
}

function listImages(classDir: string): string[] {
  return readdirSync(classDir)
    .filter((n) => !n.startsWith('.') && EXTENSIONS.has(path.extname(n).toLowerCase()))
    .sort(byCodeUnit);
}

/** The image-folder split: per class a folder, per example its file name in that folder. */
interface FolderIndex {
  classDirs: string[];
  names: string[];
  labels: Int32Array;
}

function indexSplit(splitDir: string, classes: string[]): FolderIndex {
  const names: string[] = [];
  const labelList: number[] = [];
  const classDirs = classes.map((c) => path.join(splitDir, c));
  classDirs.forEach((dir, label) => {
    for (const name of listImages(dir)) {
      names.push(name);
      labelList.push(label);
    }
  });
  if (names.length === 0) throw new Error(`imagenet: no .JPEG/.jpg/.jpeg files in the class folders of ${splitDir}`);
  return { classDirs, names, labels: Int32Array.from(labelList) };
}

/** Options of the ImageNet reader. */
export interface ImagenetOptions {
  /** Side of the square crops, default 224; evaluation resizes the shorter side to round(size * 256 / 224). */
  imageSize?: number;
}

function folderSplit(name: string, index: FolderIndex, imageSize: number): Split {
  const { mean, std } = IMAGENET_NORMALIZATION;
  const evalResize = Math.round((imageSize * 256) / 224);
  const stride = imageSize * imageSize * 3;
  // Writes resampled floats in [0, 255] as normalized pixels, mirrored when asked.
  const write = (pixels: Float32Array, flip: boolean, x: Float32Array, offset: number) => {
    for (let r = 0; r < imageSize; r++) {
      for (let c = 0; c < imageSize; c++) {
        const s = (r * imageSize + (flip ? imageSize - 1 - c : c)) * 3;
        const d = offset + (r * imageSize + c) * 3;
        for (let ch = 0; ch < 3; ch++) x[d + ch] = (pixels[s + ch] / 255 - mean[ch]) / std[ch];
      }
    }
  };
  return {
    size: index.names.length,
    labels: index.labels,
    read(indices: ArrayLike<number>, options: ReadOptions): Batch {
      checkReadOptions(name, options);
      checkIndices(name, index.names.length, indices);
      const n = indices.length;
      const x = new Float32Array(n * stride);
      const y = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const k = indices[i];
        y[i] = index.labels[k];
        const img = decodeJpegFile(path.join(index.classDirs[index.labels[k]], index.names[k]));
        if (options.augment) {
          const rng = options.rng as Random;
          const box = randomResizedCropBox(rng, img.width, img.height);
          const flip = rng.uniform() < 0.5;
          write(resizeBilinear(img.data, img.width, img.height, 3, box, imageSize, imageSize), flip, x, i * stride);
        } else {
          const size = resizeShorterSide(img.width, img.height, evalResize);
          const window = centerCropBox(size.width, size.height, imageSize);
          const full = { left: 0, top: 0, width: img.width, height: img.height };
          write(
            resizeBilinear(img.data, img.width, img.height, 3, full, size.width, size.height, window),
            false,
            x,
            i * stride,
          );
        }
      }
      return { x, shape: [n, imageSize, imageSize, 3], y };
    },
    digest(hash) {
      // Every file by its path under the split, size and modification time, not its bytes: about
      // 140 GB of JPEGs would be read again on every machine that sees a new copy, and rewriting
      // a file changes its size or time. The whole list is stat'ed once per process.
      hash.update(JSON.stringify({ imageSize, normalization: IMAGENET_NORMALIZATION }));
      for (let k = 0; k < index.names.length; k++) {
        const dir = index.classDirs[index.labels[k]];
        const file = path.join(dir, index.names[k]);
        let stat;
        try {
          stat = statSync(file);
        } catch (e) {
          throw new Error(
            `${name}: ${file} listed but cannot be read now (${(e as Error).message}); ` +
              `was the folder changed while loading?`,
          );
        }
        hash.update(`${path.basename(dir)}/${index.names[k]}\0${stat.size}\0${stat.mtimeMs}\n`);
      }
    },
  };
}

/** ImageNet from `<dataDir>/imagenet`; classes are the sorted folder names of train/. */
export function loadImagenet(dataDir: string, options: ImagenetOptions = {}): Dataset {
  const imageSize = options.imageSize ?? IMAGENET_DEFAULT_SIZE;
  if (!Number.isInteger(imageSize) || imageSize < 1)
    throw new Error(`imagenet: imageSize must be a positive integer, got ${imageSize}`);
  const root = path.join(dataDir, 'imagenet');
  const trainDir = path.join(root, 'train');
  const valDir = path.join(root, 'val');
  const absent = [trainDir, valDir].filter((d) => !datasetFolderPresent('imagenet', d));
  if (absent.length > 0) {
    throw new DatasetMissingError(
      'imagenet',
      [trainDir, valDir],
      `imagenet: dataset not found: ${absent.join(' and ')} missing. ` +
        `Expected ${trainDir}/<class>/*.JPEG and ${valDir}/<class>/*.JPEG ` +
        `(torchvision ImageFolder layout). ILSVRC 2012 is downloaded after registering at ` +
        `https://image-net.org/download; ` +
        `unpack the train tarballs into one folder per class, and sort val into class folders (e.g. ` +
        `with the widely used valprep.sh).`,
    );
  }
  const classes = listClassFolders(trainDir);
  if (classes.length === 0)
    throw new Error(`imagenet: ${trainDir} has no class folders; expected ${trainDir}/<class>/*.JPEG`);
  const valClasses = listClassFolders(valDir);
  if (valClasses.length === 0 && readdirSync(valDir).some((n) => EXTENSIONS.has(path.extname(n).toLowerCase()))) {
    throw new Error(
      `imagenet: ${valDir} holds images directly; sort them into one folder per class (as train/ is), e.g. ` +
        `with valprep.sh`,
    );
  }
  const trainSet = new Set(classes);
  const valSet = new Set(valClasses);
  const missing = classes.filter((c) => !valSet.has(c));
  const extra = valClasses.filter((c) => !trainSet.has(c));
  if (missing.length > 0 || extra.length > 0) {
    const few = (xs: string[]) => xs.slice(0, 5).join(', ') + (xs.length > 5 ? `, ... (${xs.length})` : '');
    throw new Error(
      `imagenet: ${valDir} must have the same class folders as ${trainDir}` +
        (missing.length ? `; missing in val: ${few(missing)}` : '') +
        (extra.length ? `; not in train: ${few(extra)}` : ''),
    );
  }
  return {
    name: 'imagenet',
    description: imageSize === IMAGENET_DEFAULT_SIZE ? 'ImageNet' : `ImageNet (${imageSize}x${imageSize})`,
    source: root,
    numClasses: classes.length,
    imageShape: [imageSize, imageSize, 3],
    train: folderSplit('imagenet train', indexSplit(trainDir, classes), imageSize),
    test: folderSplit('imagenet val', indexSplit(valDir, classes), imageSize),
  };
}
