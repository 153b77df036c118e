/**
 * The error a reader throws when a dataset is not on this machine at all (as opposed to present
 * but damaged): callers such as notebooks tell the two apart, showing how to obtain absent data
 * and carrying on, while a truncated or corrupt file still stops them.
 */
import { accessSync, constants, lstatSync, readlinkSync, statSync } from 'node:fs';

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

/**
 * Whether a dataset folder is at `dir`: false only when nothing is there at all. Anything else in
 * the way is an error that says what it is (a dangling or looping symbolic link, a file where the
 * folder should be, a folder this user cannot read), never taken for absence: a broken link to
 * the user's data must not quietly become the embedded digits.
 */
export function datasetFolderPresent(dataset: string, dir: string): boolean {
  const fail = (what: string) => new Error(`${dataset}: ${dir} ${what}`);
  try {
    lstatSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code === 'ENOTDIR')
      throw fail('cannot exist: a part of that path is a file, not a folder; point LMC_DATA_DIR at a folder');
    if (code === 'EACCES') throw fail('cannot be looked at: permission denied on a folder above it');
    throw fail(`cannot be looked at (${code})`);
  }
  let stat;
  try {
    stat = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw fail(
        `is a symbolic link to ${readlinkSync(dir)}, which does not exist (a dangling link); fix or remove the link`,
      );
    if (code === 'ELOOP') throw fail('is a symbolic link loop (it leads back to itself); fix or remove the link');
    if (code === 'EACCES') throw fail('cannot be followed: permission denied');
    throw fail(`cannot be followed (${code})`);
  }
  if (!stat.isDirectory()) throw fail('is a file, not a folder; the dataset folder should hold its files');
  try {
    accessSync(dir, constants.R_OK | constants.X_OK);
  } catch {
    throw fail('is a folder this user cannot read (permission denied); fix its permissions');
  }
  return true;
}
