/** Dataset readers, batch assembly, data order and augmentation streams. */
export type { Batch, Dataset, ReadOptions, Split } from './types';
export {
  loadDataset,
  datasetNames,
  defaultDataDir,
  clearDatasetCache,
  datasetOrigin,
  type LoadOptions,
  type DatasetOrigin,
} from './registry';
export { iterationsPerEpoch, dataPosition, batchIndices, augmentationStream } from './order';
export { readIdxImages, readIdxLabels, type IdxImages } from './idx';
export { loadMnist, loadEmbeddedMnist, MNIST_NORMALIZATION, EMBEDDED_TEST_PER_CLASS } from './mnist';
export { loadFashionMnist, FASHION_MNIST_NORMALIZATION, DEBIAN_FASHION_MNIST_DIR } from './fashion-mnist';
export { loadCifar10, readCifarBatch, CIFAR10_NORMALIZATION, CIFAR10_URL } from './cifar10';
export { loadImagenet, decodeJpegFile, IMAGENET_NORMALIZATION, type ImagenetOptions } from './imagenet';
export { inMemorySplit, normalizationTable, type Normalization } from './in-memory';
export { padCropFlip, drawCropFlip, applyCropFlip, type CropFlip } from './augment';
export { resizeBilinear, type Box } from './resize';
export { randomResizedCropBox, centerCropBox, resizeShorterSide } from './crops';
export { DatasetMissingError, isDatasetMissing } from './missing';
