/**
 * File checksums for verification on read.
 *
 * Policy: every file of a unit is checked for size on every read, and hashed in full the first time
 * this process sees it. The hash is then cached under (path, size, mtime, ctime, inode): any write,
 * truncation, rename or `touch` changes one of those (ctime cannot be set back by user code), so a
 * cached answer is only reused for a file nobody has touched since. What the cache cannot see is
 * silent media corruption after the first read in a long-lived process; `Store.verify()` and
 * `Store.show()` always hash in full, and every new process hashes again. Checkpoints of ResNet-50
 * are ~100 MB, hashed at ~1 GB/s, so a notebook re-opening a finished grid pays this once.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';

/** Size and SHA-256 of one file, as the manifest records it. */
export interface FileDigest {
  size: number;
  sha256: string;
}

const cache = new Map<string, { key: string; sha256: string }>();

/** Streams a file through SHA-256 (so a 100 MB checkpoint never sits in memory twice). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Size and SHA-256 of a file; `useCache` reuses this process's earlier hash of the untouched file. */
export async function digestFile(file: string, useCache = true): Promise<FileDigest> {
  const before = await fsp.stat(file, { bigint: true });
  const key = `${before.size}:${before.mtimeNs}:${before.ctimeNs}:${before.ino}:${before.dev}`;
  const hit = cache.get(file);
  if (useCache && hit && hit.key === key) return { size: Number(before.size), sha256: hit.sha256 };
  const digest = await sha256File(file);
  // Only cache if nothing changed while hashing, or the cache could pair an old hash with a new stat.
  const after = await fsp.stat(file, { bigint: true });
  if (`${after.size}:${after.mtimeNs}:${after.ctimeNs}:${after.ino}:${after.dev}` === key)
    cache.set(file, { key, sha256: digest });
  return { size: Number(before.size), sha256: digest };
}

/** A mismatch between a file and its recorded digest, in words, or null when they agree. */
export interface DigestMismatch {
  problem: string;
  expected: string;
  actual: string;
}

/**
 * Checks a file against its recorded size and SHA-256. Size first: a truncated file is reported as
 * truncated without hashing it. Returns null when the file is intact.
 */
export async function checkFile(file: string, expected: FileDigest, useCache = true): Promise<DigestMismatch | null> {
  const wrongSize = await checkSize(file, expected);
  if (wrongSize) return wrongSize;
  const { sha256 } = await digestFile(file, useCache);
  if (sha256 !== expected.sha256)
    return {
      problem: 'SHA-256 differs (the content changed: corruption or an edit)',
      expected: `sha256 ${expected.sha256}`,
      actual: `sha256 ${sha256}`,
    };
  return null;
}

/** Checks only that a file exists with the recorded size (what a quick listing can afford). */
export async function checkSize(file: string, expected: FileDigest): Promise<DigestMismatch | null> {
  let stat;
  try {
    stat = await fsp.stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      problem: code === 'ENOENT' ? 'the file is missing' : `cannot read the file (${(e as Error).message})`,
      expected: `${expected.size} bytes`,
      actual: code ?? 'unreadable',
    };
  }
  if (!stat.isFile())
    return { problem: 'not a regular file', expected: `${expected.size} bytes`, actual: 'not a file' };
  if (stat.size !== expected.size) {
    const how = stat.size < expected.size ? 'truncated' : 'longer than recorded';
    return { problem: `size differs (${how})`, expected: `${expected.size} bytes`, actual: `${stat.size} bytes` };
  }
  return null;
}

/** Checks bytes already in memory against a recorded digest (what a reader is about to use). */
export function checkBytes(bytes: Uint8Array, expected: FileDigest): DigestMismatch | null {
  if (bytes.length !== expected.size)
    return { problem: 'size differs', expected: `${expected.size} bytes`, actual: `${bytes.length} bytes` };
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== expected.sha256)
    return { problem: 'SHA-256 differs', expected: `sha256 ${expected.sha256}`, actual: `sha256 ${actual}` };
  return null;
}

/** True for a well-formed digest record (manifest and checkpoint sidecars are checked before use). */
export function isFileDigest(x: unknown): x is FileDigest {
  const d = x as FileDigest;
  return (
    typeof d === 'object' &&
    d !== null &&
    Number.isSafeInteger(d.size) &&
    d.size >= 0 &&
    typeof d.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(d.sha256)
  );
}
