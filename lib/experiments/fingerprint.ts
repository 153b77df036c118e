/**
 * A dataset's content fingerprint, part of every unit's identity (see datasetFingerprint).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Dataset } from '../data/types';

const fingerprints = new WeakMap<Dataset, string>();

/**
 * A content fingerprint of a dataset, part of every unit's identity: the config names a dataset
 * ('mnist'), but the same name can mean the embedded 10k digits or the full set under
 * LMC_DATA_DIR, and a result computed on one must never be returned for the other, nor for the same
 * files after one pixel changed. It hashes the description, sizes and each split's whole content
 * (Split.digest: the bytes of every image held in memory, ImageNet's file list with sizes and
 * times; else every example read). Cached per dataset object.
 */
export function datasetFingerprint(dataset: Dataset): string {
  const known = fingerprints.get(dataset);
  if (known) return known;
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify([
      dataset.name,
      dataset.description,
      dataset.numClasses,
      dataset.imageShape,
      dataset.train.size,
      dataset.test.size,
    ]),
  );
  for (const split of [dataset.train, dataset.test]) {
    hash.update(new Uint8Array(split.labels.buffer, split.labels.byteOffset, split.labels.byteLength));
    if (split.digest) split.digest(hash);
    else digestEveryExample(split, hash);
  }
  const fingerprint = `${dataset.name}:${hash.digest('hex').slice(0, 16)}`;
  fingerprints.set(dataset, fingerprint);
  return fingerprint;
}

/** Feeds every example of `split`, as read for evaluation, to `hash`. */
function digestEveryExample(split: Dataset['train'], hash: Hash): void {
  const chunk = 1024;
  for (let start = 0; start < split.size; start += chunk) {
    const indices = Array.from({ length: Math.min(chunk, split.size - start) }, (_, i) => start + i);
    const batch = split.read(indices, { augment: false });
    hash.update(new Uint8Array(batch.x.buffer, batch.x.byteOffset, batch.x.byteLength));
  }
}
