/**
 * The error a reader throws when a dataset is not on this machine at all (as opposed to present
 * but damaged): callers such as notebooks tell the two apart, showing how to obtain absent data
 * and carrying on, while a truncated or corrupt file still stops them.
 */

/** A dataset whose files are not where the reader looked. */
export class DatasetMissingError extends Error {
  readonly dataset: string;
  /** Folders the reader looked in. */
  readonly tried: readonly string[];

  constructor(dataset: string, tried: readonly string[], message: string) {
    super(message);
    this.name = 'DatasetMissingError';
    this.dataset = dataset;
    this.tried = tried;
  }
}

/** True when `e` says a dataset is absent (not damaged). */
export function isDatasetMissing(e: unknown): e is DatasetMissingError {
  return e instanceof DatasetMissingError || (e instanceof Error && e.name === 'DatasetMissingError');
}
