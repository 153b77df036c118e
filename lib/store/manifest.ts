/**
 * The manifest is a unit's commit record: written last, atomically, listing every file with its size
 * and SHA-256, plus the unit's summary. A unit is finished if and only if its manifest exists, parses,
 * names this unit, and every file it lists is present with the recorded size and checksum.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { sha256, type Json } from './canonical';
import { checkFile, checkSize, isFileDigest, type FileDigest } from './checksum';
import { CONFIG_FILE, MANIFEST_FILE, readJsonFile } from './layout';
import { errnoCode } from './errors';

export const MANIFEST_FORMAT = 'lmc-lab unit 1';

/** Contents of manifest.json. */
export interface Manifest {
  format: string;
  kind: string;
  hash: string;
  config: Json;
  /** What the computation returned: small JSON (final accuracy, step count...). */
  summary: Json;
  /** Every file of the unit (config.json included), '/'-separated names relative to the unit folder. */
  files: Record<string, FileDigest>;
  /** When the attempt that committed started and finished, and where it ran. */
  started: string;
  finished: string;
  seconds: number;
  host: string;
  pid: number;
  /**
   * SHA-256 of the manifest's text without this field (manifestSeal): an edited manifest, say one
   * entry removed along with its file, no longer matches and the unit counts as damaged.
   */
  seal?: string;
}

/** One file that failed verification. */
export interface FileProblem {
  file: string;
  problem: string;
  expected?: string;
  actual?: string;
}

/** What reading a unit's manifest found. */
export type ManifestRead =
  { state: 'missing' } | { state: 'invalid'; problem: FileProblem } | { state: 'ok'; manifest: Manifest };

/** Reads and structurally checks manifest.json (not the files it lists). */
export async function readManifest(dir: string, kind: string, hash: string): Promise<ManifestRead> {
  const read = await readJsonFile(path.join(dir, MANIFEST_FILE));
  if (read.state === 'missing') return read;
  const invalid = (problem: string, expected?: string, actual?: string): ManifestRead => ({
    state: 'invalid',
    problem: { file: MANIFEST_FILE, problem, expected, actual },
  });
  if (read.state === 'invalid') return invalid(read.problem);
  const m = read.value as Manifest;
  if (typeof m !== 'object' || m === null || m.format !== MANIFEST_FORMAT)
    return invalid('unknown manifest format', MANIFEST_FORMAT, String((m as Manifest | null)?.format));
  if (m.kind !== kind || m.hash !== hash)
    return invalid(
      'the manifest names another unit (was the folder copied or renamed?)',
      `${kind}/${hash}`,
      `${m.kind}/${m.hash}`,
    );
  if (typeof m.files !== 'object' || m.files === null) return invalid('the manifest has no file list');
  for (const [name, digest] of Object.entries(m.files)) {
    if (!isFileDigest(digest)) return invalid(`the entry for ${JSON.stringify(name)} has no valid size and sha256`);
    // A manifest naming ../something would make verification read outside the unit.
    if (name.split('/').some((s) => s === '' || s === '.' || s === '..') || path.isAbsolute(name))
      return invalid(`the file name ${JSON.stringify(name)} leaves the unit folder`);
  }
  if (!(CONFIG_FILE in m.files)) return invalid(`the manifest does not list ${CONFIG_FILE}`);
  if (typeof m.seal !== 'string')
    return invalid(
      'the manifest has no seal (an older lmc-lab wrote it, or it was edited): the unit is computed again',
    );
  const seal = manifestSeal(m);
  if (m.seal !== seal)
    return invalid('the manifest was changed after it was committed (its seal does not match)', m.seal, seal);
  return { state: 'ok', manifest: m };
}

/** The seal of a manifest: the SHA-256 of its text without the seal. */
export function manifestSeal(manifest: Manifest): string {
  const { seal: _ignored, ...rest } = manifest;
  return sha256(manifestText(rest));
}

/** The manifest with its seal, as committed. */
export function sealManifest(manifest: Manifest): Manifest {
  return { ...manifest, seal: manifestSeal(manifest) };
}

/** How hard to look: sizes only (listing), checksums with this process's cache, or full checksums. */
export type VerifyMode = 'sizes' | 'cached' | 'full';

/**
 * Checks every file the manifest lists (sizes, then checksums unless `mode` is 'sizes') and that
 * config.json is the text the folder name is the hash of. Returns the problems, [] for an intact unit.
 */
export async function verifyManifestFiles(dir: string, manifest: Manifest, mode: VerifyMode): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  for (const [name, digest] of Object.entries(manifest.files)) {
    const file = path.join(dir, ...name.split('/'));
    const mismatch =
      mode === 'sizes' ? await checkSize(file, digest) : await checkFile(file, digest, mode === 'cached');
    if (mismatch) problems.push({ file: name, ...mismatch });
  }
  if (problems.length === 0) {
    const text = await fsp.readFile(path.join(dir, CONFIG_FILE), 'utf8').catch((e) => `unreadable: ${errnoCode(e)}`);
    const actual = sha256(text.replace(/\n$/, ''));
    if (actual !== manifest.hash)
      problems.push({
        file: CONFIG_FILE,
        problem: 'config.json does not hash to the folder name',
        expected: manifest.hash,
        actual,
      });
  }
  return problems;
}

/** A problem in words: "<dir>/<file>: <problem> (expected X, found Y)". */
export function describeProblem(dir: string, p: FileProblem): string {
  const detail = p.expected !== undefined ? ` (expected ${p.expected}, found ${p.actual})` : '';
  return `${path.join(dir, p.file)}: ${p.problem}${detail}`;
}

/** Serializes a manifest: stable, readable, ending in a newline. */
export function manifestText(manifest: Manifest): string {
  const files: Record<string, FileDigest> = {};
  for (const name of Object.keys(manifest.files).sort()) files[name] = manifest.files[name];
  return `${JSON.stringify({ ...manifest, files }, null, 2)}\n`;
}
